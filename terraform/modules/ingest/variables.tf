variable "environment" {
  description = "Environment name (function name suffix, ENVIRONMENT of the handler)."
  type        = string
}

variable "settings" {
  description = "The environment file's `ingest` section: the consumer Lambda and its event source mapping."
  type = object({
    batch_size                      = number
    maximum_batching_window_seconds = number
    parallelization_factor          = number
    maximum_retry_attempts          = number
    bisect_batch_on_function_error  = bool
    maximum_record_age_seconds      = number
    starting_position               = string
    memory_mb                       = number
    timeout_seconds                 = number
    reserved_concurrency            = number
  })
}

variable "queues" {
  description = "The environment file's `queues` section: the dead-letter queue for bad records and the mapping's on-failure queue."
  type = object({
    dead_letter_name          = string
    on_failure_name           = string
    message_retention_seconds = number
  })
}

variable "stream_arn" {
  description = "ARN of the Kinesis stream to consume."
  type        = string
}

variable "table_name" {
  description = "Name of the events table."
  type        = string
}

variable "table_arn" {
  description = "ARN of the events table."
  type        = string
}

variable "type_index_name" {
  description = "Name of the GSI on (type, produced_at) (TYPE_INDEX_NAME of the handler)."
  type        = string
}

variable "package_path" {
  description = "Path of dist/ingest.zip."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime of the package."
  type        = string
}

variable "architecture" {
  description = "arm64 or x86_64."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for the queues, the function's environment and its logs (the stream's key too)."
  type        = string
}

variable "newrelic" {
  description = "New Relic layer settings passed to the function module."
  type = object({
    enabled                 = bool
    layer_arn               = string
    account_id              = string
    license_key_secret_name = string
    license_key_secret_arn  = string
  })
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

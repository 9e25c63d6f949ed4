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

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "common" {
  description = "What every function of the environment shares: runtime and architecture of the packages, log retention, the environment's KMS key (environment variables, logs) and the New Relic layer (when enabled the wrapper handler runs the real one and the extension reads the license key from Secrets Manager)."
  type = object({
    runtime            = string
    architecture       = string
    log_retention_days = number
    kms_key_arn        = string
    newrelic = object({
      enabled                 = bool
      layer_arn               = string
      account_id              = string
      license_key_secret_name = string
      license_key_secret_arn  = string
    })
  })
}

variable "stream_retention_hours" {
  description = "The stream's retention (hours): how long a failed batch can still be replayed."
  type        = number
}

variable "alarm_actions" {
  description = "ARNs notified when an on-failure queue alarm changes state (e.g. an SNS topic); none by default."
  type        = list(string)
  default     = []
}

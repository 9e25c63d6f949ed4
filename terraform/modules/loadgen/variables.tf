variable "environment" {
  description = "Environment name (suffix of every name here)."
  type        = string
}

variable "aws_region" {
  description = "Region of the pipeline and of the tasks."
  type        = string
}

variable "settings" {
  description = "The environment file's loadgen section (pipeline/loadgen_config.py validates it)."
  type = object({
    enabled            = bool
    workers            = number
    cpu_architecture   = string
    master_cpu         = number
    master_memory_mb   = number
    worker_cpu         = number
    worker_memory_mb   = number
    use_spot           = bool
    budget_usd         = number
    image              = string
    vpc_id             = string
    subnet_ids         = list(string)
    assign_public_ip   = bool
    results_bucket     = string
    results_prefix     = string
    log_retention_days = number
  })
}

variable "stream_arn" {
  description = "The Kinesis stream the workers put records on (the only stream they may write)."
  type        = string
}

variable "table_arn" {
  description = "The table the master's audit reads the run's items from."
  type        = string
}

variable "dead_letter_queue_arn" {
  description = "The dead-letter queue the audit counts (received, never deleted)."
  type        = string
}

variable "api_id" {
  description = "The HTTP API the readers call (execute-api:Invoke on its GET routes only)."
  type        = string
}

variable "kms_key_arn" {
  description = "The environment's key: the stream, table and queue are encrypted with it; logs too."
  type        = string
}

variable "environment" {
  description = "Environment name (function name suffix, checkpoint path, ENVIRONMENT of the handler)."
  type        = string
}

variable "schedule_expression" {
  description = "How often the forwarder runs (EventBridge rate or cron expression)."
  type        = string
  default     = "rate(1 minute)"
}

variable "memory_mb" {
  description = "Memory of the forwarder function in MB."
  type        = number
  default     = 256
}

variable "timeout_seconds" {
  description = "Maximum run time of one forwarding pass; under the schedule period so passes do not overlap."
  type        = number
  default     = 50
}

variable "environment_variables" {
  description = "What the forwarder reads: the names of the pipeline's resources and the New Relic settings (no secret values)."
  type        = map(string)
}

variable "new_relic_license_key_secret_name" {
  description = "Name of the Secrets Manager secret holding {\"LicenseKey\": \"...\"} (NEW_RELIC_LICENSE_KEY_SECRET of the forwarder)."
  type        = string
}

variable "new_relic_license_key_secret_arn" {
  description = "ARN pattern of that secret (name plus Secrets Manager's random 6-character suffix) for the read grant."
  type        = string
}

variable "package_path" {
  description = "Path of dist/forwarder.zip."
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

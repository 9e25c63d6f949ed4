variable "environment" {
  description = "Environment name (function name suffix, ENVIRONMENT of the handler)."
  type        = string
}

variable "settings" {
  description = "The environment file's `api` section: the read API Lambda, route throttling and authorization."
  type = object({
    memory_mb              = number
    timeout_seconds        = number
    reserved_concurrency   = number
    throttling_rate_limit  = number
    throttling_burst_limit = number
    auth_type              = string
    jwt_issuer             = string
    jwt_audience           = list(string)
  })

  validation {
    condition     = contains(["NONE", "AWS_IAM", "JWT"], var.settings.auth_type)
    error_message = "settings.auth_type must be NONE, AWS_IAM or JWT."
  }

  validation {
    condition     = var.settings.auth_type != "JWT" || (var.settings.jwt_issuer != "" && length(var.settings.jwt_audience) > 0)
    error_message = "settings.auth_type JWT needs settings.jwt_issuer and at least one settings.jwt_audience."
  }
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
  description = "Name of the GSI on (type, produced_at)."
  type        = string
}

variable "type_index_arn" {
  description = "ARN of the GSI on (type, produced_at)."
  type        = string
}

variable "package_path" {
  description = "Path of dist/api.zip."
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

variable "function_name" {
  description = "Name of the Lambda function (redline-<part>-<environment>)."
  type        = string
}

variable "description" {
  description = "What the function does, shown in the console."
  type        = string
}

variable "handler" {
  description = "Python handler path (module.function) of the real handler; replaced by New Relic's wrapper when instrumented."
  type        = string
}

variable "package_path" {
  description = "Path of the zip built by `make package` (dist/<part>.zip)."
  type        = string
}

variable "memory_mb" {
  description = "Memory in MB (CPU grows with it)."
  type        = number
}

variable "timeout_seconds" {
  description = "Maximum run time of one invocation in seconds."
  type        = number
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function; -1 for none, 0 disables it."
  type        = number
}

variable "environment_variables" {
  description = "Environment variables of the handler (no secrets: they are visible to anyone who can read the function)."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "IAM policy document (JSON) with what the handler itself needs; logging is added here."
  type        = string
}

variable "tags" {
  description = "Tags for the function, its role and its log group."
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

  validation {
    condition     = contains(["arm64", "x86_64"], var.common.architecture)
    error_message = "common.architecture must be arm64 or x86_64."
  }

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.common.log_retention_days)
    error_message = "monitoring.log_retention_days must be one CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

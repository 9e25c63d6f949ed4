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

variable "runtime" {
  description = "Lambda runtime; must match the Python version the package was built for."
  type        = string
}

variable "architecture" {
  description = "arm64 or x86_64; must match the wheels in the package."
  type        = string

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
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
  description = "IAM policy document (JSON) with what the handler itself needs; logging and tracing are added here."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for the environment variables and the log group."
  type        = string
}

variable "newrelic" {
  description = "New Relic Lambda layer: when enabled, the wrapper handler runs the real one and the extension reads the license key from Secrets Manager."
  type = object({
    enabled                 = bool
    layer_arn               = string
    account_id              = string
    license_key_secret_name = string
    license_key_secret_arn  = string
  })
  default = {
    enabled                 = false
    layer_arn               = ""
    account_id              = ""
    license_key_secret_name = ""
    license_key_secret_arn  = ""
  }
}

variable "tags" {
  description = "Tags for the function, its role and its log group."
  type        = map(string)
  default     = {}
}

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

variable "runtime" {
  description = "Lambda runtime of the package."
  type        = string
}

variable "architecture" {
  description = "arm64 or x86_64."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs and the API's access logs."
  type        = number
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for the function's environment and the log groups (the table's key too)."
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

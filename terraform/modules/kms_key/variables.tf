variable "description" {
  description = "What the key encrypts, shown in the console."
  type        = string
}

variable "alias_name" {
  description = "Alias of the key, without the alias/ prefix."
  type        = string
}

variable "cloudwatch_logs_region" {
  description = "Region whose CloudWatch Logs may encrypt this account's log groups with the key; empty for none."
  type        = string
  default     = ""
}

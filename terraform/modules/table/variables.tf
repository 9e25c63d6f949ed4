variable "name" {
  description = "Name of the DynamoDB table."
  type        = string
}

variable "billing_mode" {
  description = "PROVISIONED (read/write capacity units below) or PAY_PER_REQUEST (on-demand)."
  type        = string

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.billing_mode)
    error_message = "billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "read_capacity" {
  description = "Table RCU when PROVISIONED (the autoscaling minimum when autoscaling is on)."
  type        = number
}

variable "write_capacity" {
  description = "Table WCU when PROVISIONED (the autoscaling minimum when autoscaling is on)."
  type        = number
}

variable "type_index" {
  description = "The GSI on (type, produced_at) that the read API queries: its name and, when PROVISIONED, its own RCU/WCU."
  type = object({
    name           = string
    read_capacity  = number
    write_capacity = number
  })
}

variable "point_in_time_recovery" {
  description = "Keep continuous backups (restore to any second of the last 35 days)."
  type        = bool
  default     = true
}

variable "autoscaling" {
  description = "Target-tracking autoscaling of table and index capacity (PROVISIONED only); the capacities above are the minimums."
  type = object({
    enabled            = bool
    target_utilization = number
    max_read_capacity  = number
    max_write_capacity = number
  })
  default = {
    enabled            = false
    target_utilization = 70
    max_read_capacity  = 1000
    max_write_capacity = 1000
  }

  validation {
    condition = !var.autoscaling.enabled || (
      var.autoscaling.max_read_capacity >= max(var.read_capacity, var.type_index.read_capacity) &&
      var.autoscaling.max_write_capacity >= max(var.write_capacity, var.type_index.write_capacity)
    )
    error_message = "table.autoscaling.max_read_capacity and max_write_capacity must be at least the table's and the index's capacities (the autoscaling minimums)."
  }
}

variable "ttl_attribute_name" {
  description = "Epoch-seconds attribute after which DynamoDB deletes an item for free; items without it never expire."
  type        = string
  default     = "expires_at"
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the table."
  type        = string
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection: DeleteTable is refused while it is on (production)."
  type        = bool
  default     = false
}

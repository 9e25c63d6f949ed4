variable "name" {
  description = "Name of the Kinesis data stream."
  type        = string
}

variable "mode" {
  description = "PROVISIONED (pay per shard-hour, fixed capacity) or ON_DEMAND (capacity follows the traffic)."
  type        = string

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.mode)
    error_message = "mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "shard_count" {
  description = "Open shards when mode is PROVISIONED (1,000 records/s and 1 MiB/s of writes each); ignored for ON_DEMAND."
  type        = number
}

variable "retention_hours" {
  description = "How long records stay readable (24..8760 hours)."
  type        = number
  default     = 24
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the records at rest."
  type        = string
}

variable "tags" {
  description = "Tags for the stream."
  type        = map(string)
  default     = {}
}

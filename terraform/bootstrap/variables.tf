variable "aws_region" {
  description = "Region of the state bucket."
  type        = string
  default     = "us-east-1"
}

variable "state_bucket_name" {
  description = "Globally unique name of the S3 bucket that holds every environment's Terraform state, e.g. redline-tfstate-<account id>."
  type        = string
}

variable "noncurrent_version_retention_days" {
  description = "Days old state versions are kept (for recovering from a bad apply) before they expire."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags for the bucket and its key."
  type        = map(string)
  default     = { project = "redline" }
}

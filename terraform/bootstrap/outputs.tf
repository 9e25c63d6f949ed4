output "state_bucket" {
  description = "Pass as -backend-config=bucket=<this> (TF_STATE_BUCKET for make plan/deploy)."
  value       = aws_s3_bucket.this.bucket
}

output "state_kms_key_arn" {
  description = "KMS key encrypting the state objects."
  value       = module.state_key.arn
}

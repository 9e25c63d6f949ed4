output "function_name" {
  description = "Name of the ingest function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the ingest function."
  value       = module.function.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (records that broke the event contract, with their reason)."
  value       = aws_sqs_queue.dead_letter.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "on_failure_queue_url" {
  description = "URL of the event source mapping's on-failure queue (batches given up after retries or record age)."
  value       = aws_sqs_queue.on_failure.url
}

output "on_failure_queue_arn" {
  description = "ARN of the on-failure queue."
  value       = aws_sqs_queue.on_failure.arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the Kinesis event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "on_failure_age_alarm_threshold_seconds" {
  description = "Age (s) of the on-failure queue's oldest message at which its alarm fires: half the time the stream still retains a failed batch's records."
  value       = local.on_failure_age_alarm_threshold_seconds
}

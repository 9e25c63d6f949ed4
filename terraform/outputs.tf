# What `make loadtest TARGET=aws ENV=<env>` reads from `terraform output -json`.

output "environment" {
  description = "Environment these resources belong to."
  value       = var.environment
}

output "aws_region" {
  description = "Region of every resource."
  value       = var.aws_region
}

output "stream_name" {
  description = "Kinesis stream the load test puts records on."
  value       = module.stream.name
}

output "stream_arn" {
  description = "ARN of the Kinesis stream."
  value       = module.stream.arn
}

output "table_name" {
  description = "DynamoDB table the ingest function writes and the audit reads."
  value       = module.table.name
}

output "type_index_name" {
  description = "GSI on (type, produced_at)."
  value       = module.table.type_index_name
}

output "dead_letter_queue_url" {
  description = "Queue of records that broke the event contract (counted by the data-loss audit)."
  value       = module.ingest.dead_letter_queue_url
}

output "on_failure_queue_url" {
  description = "Queue of batches the event source mapping gave up on."
  value       = module.ingest.on_failure_queue_url
}

output "api_url" {
  description = "Base URL of the read API."
  value       = module.api.url
}

output "api_id" {
  description = "ID of the HTTP API (ApiId dimension of AWS/ApiGateway metrics)."
  value       = module.api.api_id
}

output "function_names" {
  description = "Function names by part (ingest, api, forwarder)."
  value = {
    ingest    = module.ingest.function_name
    api       = module.api.function_name
    forwarder = one(module.forwarder[*].function_name)
  }
}

output "forwarder_checkpoint_parameter" {
  description = "SSM parameter holding the forwarder's checkpoint (null without New Relic)."
  value       = one(module.forwarder[*].checkpoint_parameter)
}

output "kms_key_arn" {
  description = "Customer-managed key encrypting the environment's data at rest."
  value       = module.kms.arn
}

output "ingest_function_name" {
  description = "Name of the ingest function (also in function_names)."
  value       = module.ingest.function_name
}

output "api_function_name" {
  description = "Name of the api function (also in function_names)."
  value       = module.api.function_name
}

output "forwarder_function_name" {
  description = "Name of the forwarder function (also in function_names; null without New Relic)."
  value       = one(module.forwarder[*].function_name)
}

output "new_relic_dashboard_url" {
  description = "The environment's New Relic dashboard (null without New Relic)."
  value       = one(module.newrelic[*].dashboard_url)
}

output "new_relic_alert_policy_id" {
  description = "The environment's New Relic alert policy (null without New Relic)."
  value       = one(module.newrelic[*].alert_policy_id)
}

output "loadgen" {
  description = "The Fargate load generator's cluster, task definitions, security groups and master name (null when loadgen.enabled is false)."
  value       = var.loadgen.enabled ? module.loadgen[0] : null
}

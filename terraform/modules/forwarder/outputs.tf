output "function_name" {
  description = "Name of the forwarder function."
  value       = module.function.function_name
}

output "checkpoint_parameter" {
  description = "SSM parameter holding the forwarder's checkpoint."
  value       = aws_ssm_parameter.checkpoint.name
}

output "schedule_rule_name" {
  description = "EventBridge rule that runs the forwarder."
  value       = aws_cloudwatch_event_rule.this.name
}

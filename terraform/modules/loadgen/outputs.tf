# What loadtests/fargate.py reads (terraform output `loadgen`).

output "cluster_arn" {
  description = "ECS cluster the run's tasks start in."
  value       = aws_ecs_cluster.this.arn
}

output "master_task_definition_arn" {
  description = "Task definition of the Locust master."
  value       = aws_ecs_task_definition.this["master"].arn
}

output "worker_task_definition_arn" {
  description = "Task definition of a Locust worker."
  value       = aws_ecs_task_definition.this["worker"].arn
}

output "master_security_group_id" {
  description = "Security group of the master task (Locust's port from the workers only)."
  value       = aws_security_group.master.id
}

output "worker_security_group_id" {
  description = "Security group of the worker tasks (no inbound)."
  value       = aws_security_group.worker.id
}

output "master_service_id" {
  description = "Cloud Map service the runner registers the master's address in."
  value       = aws_service_discovery_service.master.id
}

output "master_host" {
  description = "DNS name the workers reach the master by."
  value       = "master.${local.namespace}"
}

output "log_group_name" {
  description = "CloudWatch log group of every task (stream prefix master/ or worker/)."
  value       = aws_cloudwatch_log_group.this.name
}

output "name" {
  description = "Name of the table."
  value       = local.table.name
}

output "arn" {
  description = "ARN of the table."
  value       = local.table.arn
}

output "type_index_name" {
  description = "Name of the GSI on (type, produced_at)."
  value       = var.type_index.name
}

output "type_index_arn" {
  description = "ARN of the GSI on (type, produced_at) (what a Query on the index is authorised against)."
  value       = "${local.table.arn}/index/${var.type_index.name}"
}

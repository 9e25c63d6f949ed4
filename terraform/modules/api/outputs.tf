output "url" {
  description = "Base URL of the API (the $default stage)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "api_id" {
  description = "ID of the HTTP API (the ApiId dimension of AWS/ApiGateway metrics)."
  value       = aws_apigatewayv2_api.this.id
}

output "function_name" {
  description = "Name of the api function."
  value       = module.function.function_name
}

output "access_log_group_name" {
  description = "Log group of the API's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "routes" {
  description = "Route keys the API serves."
  value       = local.routes
}

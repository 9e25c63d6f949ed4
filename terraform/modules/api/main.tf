# The read API: an HTTP API (payload format 2.0) in front of the api Lambda, one route per
# endpoint with the environment file's throttling on each, IAM or JWT authorization, and
# JSON access logs in a KMS-encrypted log group.

locals {
  function_name = "redline-api-${var.environment}"

  # Every route the handler serves (pipeline/api); anything else gets API Gateway's 404.
  routes = ["GET /events/{event_id}", "GET /events", "GET /health"]
}

data "aws_iam_policy_document" "handler" {
  statement {
    sid       = "ReadEvents"
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = [var.table_arn, var.type_index_arn]
  }
}

module "function" {
  source = "../function"

  function_name        = local.function_name
  description          = "Redline read API: events by id and by type over time"
  handler              = "pipeline.api.handler.lambda_handler"
  package_path         = var.package_path
  memory_mb            = var.settings.memory_mb
  timeout_seconds      = var.settings.timeout_seconds
  reserved_concurrency = var.settings.reserved_concurrency
  policy_json          = data.aws_iam_policy_document.handler.json
  common               = var.common
  tags                 = var.tags

  environment_variables = {
    ENVIRONMENT                  = var.environment
    TABLE_NAME                   = var.table_name
    TYPE_INDEX_NAME              = var.type_index_name
    POWERTOOLS_SERVICE_NAME      = "api"
    POWERTOOLS_METRICS_NAMESPACE = "Redline"
  }
}

resource "aws_apigatewayv2_api" "this" {
  name          = "redline-api-${var.environment}"
  protocol_type = "HTTP"
  description   = "Redline read API (${var.environment})"
  tags          = var.tags
}

resource "aws_apigatewayv2_integration" "lambda" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = module.function.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(var.settings.timeout_seconds * 1000 + 1000, 30000)
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.settings.auth_type == "JWT" ? 1 : 0

  api_id           = aws_apigatewayv2_api.this.id
  authorizer_type  = "JWT"
  name             = "redline-jwt-${var.environment}"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.settings.jwt_issuer
    audience = var.settings.jwt_audience
  }
}

resource "aws_apigatewayv2_route" "this" {
  for_each = toset(local.routes)

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.lambda.id}"
  authorization_type = var.settings.auth_type
  authorizer_id      = var.settings.auth_type == "JWT" ? aws_apigatewayv2_authorizer.jwt[0].id : null
}

resource "aws_cloudwatch_log_group" "access" {
  # checkov:skip=CKV_AWS_338: retention is an environment-file knob (monitoring.log_retention_days); access logs are for debugging a run, the load-test report keeps the figures
  name              = "/aws/apigateway/redline-api-${var.environment}"
  retention_in_days = var.common.log_retention_days
  kms_key_id        = var.common.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_rate_limit    = var.settings.throttling_rate_limit
    throttling_burst_limit   = var.settings.throttling_burst_limit
    detailed_metrics_enabled = true
  }

  dynamic "route_settings" {
    for_each = aws_apigatewayv2_route.this
    content {
      route_key                = route_settings.value.route_key
      throttling_rate_limit    = var.settings.throttling_rate_limit
      throttling_burst_limit   = var.settings.throttling_burst_limit
      detailed_metrics_enabled = true
    }
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationStatus  = "$context.integrationStatus"
      errorMessage       = "$context.error.message"
      sourceIp           = "$context.identity.sourceIp"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowInvokeFromHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage and any of this API's routes; nothing else can invoke through this grant.
  source_arn = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}

# The metrics forwarder: the monitors' Lambda on a one-minute schedule, its checkpoint in
# SSM Parameter Store, and read access to the CloudWatch metrics it forwards and to the
# New Relic license key secret (referenced by name, never stored here).

locals {
  function_name        = "redline-forwarder-${var.environment}"
  checkpoint_parameter = "/redline/${var.environment}/forwarder/checkpoint"
}

resource "aws_ssm_parameter" "checkpoint" {
  # checkov:skip=CKV2_AWS_34: the checkpoint is the end time of the last forwarded window, not a secret; a SecureString would only add a KMS call per run
  name        = local.checkpoint_parameter
  description = "End of the last metrics window the forwarder sent to New Relic (written by the forwarder)."
  type        = "String"
  value       = "0"
  tags        = var.tags

  lifecycle {
    # The forwarder moves the checkpoint on every run.
    ignore_changes = [value]
  }
}

data "aws_iam_policy_document" "handler" {
  statement {
    sid     = "ReadCloudWatchMetrics"
    actions = ["cloudwatch:GetMetricData"]
    # AWS requires "*": GetMetricData supports no resource-level permissions.
    resources = ["*"]
  }

  statement {
    sid       = "MoveTheCheckpoint"
    actions   = ["ssm:GetParameter", "ssm:PutParameter"]
    resources = [aws_ssm_parameter.checkpoint.arn]
  }

  statement {
    sid       = "ReadNewRelicLicenseKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.new_relic_license_key_secret_arn]
  }
}

module "function" {
  source = "../function"

  function_name        = local.function_name
  description          = "Redline forwarder: pipeline and AWS metrics to New Relic every minute"
  handler              = "monitors.forwarder.handler.lambda_handler"
  package_path         = var.package_path
  memory_mb            = var.memory_mb
  timeout_seconds      = var.timeout_seconds
  reserved_concurrency = 1 # one pass at a time: two would race on the checkpoint
  policy_json          = data.aws_iam_policy_document.handler.json
  common               = var.common
  tags                 = var.tags

  environment_variables = merge(var.environment_variables, {
    ENVIRONMENT                  = var.environment
    POWERTOOLS_SERVICE_NAME      = "forwarder"
    POWERTOOLS_METRICS_NAMESPACE = "Redline"
    CHECKPOINT_PARAMETER         = aws_ssm_parameter.checkpoint.name
    NEW_RELIC_LICENSE_KEY_SECRET = var.new_relic_license_key_secret_name
  })
}

resource "aws_cloudwatch_event_rule" "this" {
  name                = "${local.function_name}-schedule"
  description         = "Runs the Redline metrics forwarder (${var.environment})"
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "forwarder" {
  rule = aws_cloudwatch_event_rule.this.name
  arn  = module.function.arn

  retry_policy {
    # A missed minute is picked up by the next run from the checkpoint; retrying late
    # would only overlap with it.
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 60
  }
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowInvokeFromSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}

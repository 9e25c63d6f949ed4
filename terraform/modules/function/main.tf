# One Lambda function from a built package: its own least-privilege role, a KMS-encrypted
# log group with retention, reserved concurrency, X-Ray tracing off and, optionally, New Relic's
# layer wrapping the real handler.

locals {
  newrelic_environment = var.common.newrelic.enabled ? {
    NEW_RELIC_LAMBDA_HANDLER     = var.handler
    NEW_RELIC_ACCOUNT_ID         = var.common.newrelic.account_id
    NEW_RELIC_LICENSE_KEY_SECRET = var.common.newrelic.license_key_secret_name
  } : {}
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumesTheRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "runtime" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "DecryptOwnEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [var.common.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.common.newrelic.enabled ? [var.common.newrelic.license_key_secret_arn] : []
    content {
      sid       = "ReadNewRelicLicenseKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
}

data "aws_iam_policy_document" "combined" {
  source_policy_documents = [data.aws_iam_policy_document.runtime.json, var.policy_json]
}

resource "aws_iam_role" "execution" {
  name               = "${var.function_name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.function_name}-least-privilege"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.combined.json
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338: retention is an environment-file knob (monitoring.log_retention_days); a year of debug logs per function is a cost the operator chooses, not a default
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.common.log_retention_days
  kms_key_id        = var.common.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116: invoked synchronously (Kinesis event source mapping with its own on-failure queue, HTTP API) or on a schedule whose next tick retries; an async DLQ would stay empty
  # checkov:skip=CKV_AWS_50: X-Ray active tracing is off by choice: no tracer in the handlers, the figures come from the load test and EMF metrics; reasons in docs/pipeline.md (Tracing)
  # checkov:skip=CKV_AWS_117: talks only to public AWS endpoints (Kinesis, DynamoDB, SQS, CloudWatch, SSM) and New Relic; a VPC would add NAT cost and cold-start latency without isolating anything
  # checkov:skip=CKV_AWS_272: packages are built reproducibly in CI from reviewed main (same sha256 every build); code signing is a hardening step left to the operator
  function_name                  = var.function_name
  description                    = var.description
  role                           = aws_iam_role.execution.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  runtime                        = var.common.runtime
  architectures                  = [var.common.architecture]
  handler                        = var.common.newrelic.enabled ? "newrelic_lambda_wrapper.handler" : var.handler
  layers                         = var.common.newrelic.enabled ? [var.common.newrelic.layer_arn] : []
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.common.kms_key_arn

  environment {
    variables = merge(var.environment_variables, local.newrelic_environment)
  }

  # Active tracing is off on purpose (docs/pipeline.md, "Tracing"): the handlers carry no
  # tracer, so Active would record only Lambda's own invoke segments, billed per trace.
  tracing_config {
    mode = "PassThrough"
  }

  tags = var.tags

  # The log group must exist first, or Lambda creates an unencrypted one without retention.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.execution]
}

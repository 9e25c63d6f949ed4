# Redline, one environment: stream -> ingest Lambda -> table <- read API, the metrics
# forwarder, and the New Relic dashboards, alerts and service levels (modules/newrelic). Applied per environment
# with `-var-file=environments/<env>.tfvars.json`, the file the local stack also reads.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Must match the Python version `make package` builds wheels for (mk/infra.mk,
  # LAMBDA_PYTHON); tests/unit/terraform checks the two agree.
  lambda_runtime = "python3.12"
  dist           = "${path.module}/../dist"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Production's table refuses deletion (prevent_destroy cannot depend on a variable in
  # Terraform, so deletion protection is the guardrail that can).
  production = contains(["prod", "production"], var.environment)

  # Secrets Manager appends a random 6-character suffix to every secret ARN.
  license_key_secret_arn = var.monitoring.new_relic_license_key_secret_name == "" ? "" : "arn:${local.partition}:secretsmanager:${var.aws_region}:${local.account_id}:secret:${var.monitoring.new_relic_license_key_secret_name}-??????"

  # What the three functions share (modules/function's `common`).
  function_common = {
    runtime            = local.lambda_runtime
    architecture       = var.lambda_architecture
    log_retention_days = var.monitoring.log_retention_days
    kms_key_arn        = module.kms.arn
    newrelic = {
      enabled                 = var.monitoring.lambda_instrumentation
      layer_arn               = var.monitoring.new_relic_layer_arn
      account_id              = var.monitoring.new_relic_account_id
      license_key_secret_name = var.monitoring.new_relic_license_key_secret_name
      license_key_secret_arn  = local.license_key_secret_arn
    }
  }
}

# One customer-managed key for the environment's data at rest: stream, table, queues,
# Lambda environment variables and log groups.
module "kms" {
  source = "./modules/kms_key"

  description            = "Redline ${var.environment}: stream, table, queues, function environments and logs"
  alias_name             = "redline-${var.environment}"
  cloudwatch_logs_region = var.aws_region
}

module "stream" {
  source = "./modules/stream"

  name            = var.stream.name
  mode            = var.stream.mode
  shard_count     = var.stream.shard_count
  retention_hours = var.stream.retention_hours
  kms_key_arn     = module.kms.arn
}

module "table" {
  source = "./modules/table"

  name                   = var.table.name
  billing_mode           = var.table.billing_mode
  read_capacity          = var.table.read_capacity
  write_capacity         = var.table.write_capacity
  type_index             = var.table.type_index
  point_in_time_recovery = var.table.point_in_time_recovery
  autoscaling            = var.table.autoscaling
  kms_key_arn            = module.kms.arn
  deletion_protection    = local.production
}

module "ingest" {
  source = "./modules/ingest"

  environment     = var.environment
  settings        = var.ingest
  queues          = var.queues
  stream_arn      = module.stream.arn
  table_name      = module.table.name
  table_arn       = module.table.arn
  type_index_name = module.table.type_index_name
  package_path    = "${local.dist}/ingest.zip"
  common          = local.function_common

  stream_retention_hours = var.stream.retention_hours
}

module "api" {
  source = "./modules/api"

  environment     = var.environment
  settings        = var.api
  table_name      = module.table.name
  table_arn       = module.table.arn
  type_index_name = module.table.type_index_name
  type_index_arn  = module.table.type_index_arn
  package_path    = "${local.dist}/api.zip"
  common          = local.function_common
}

# The forwarder exists to send to New Relic: without it there is nothing to forward to.
module "forwarder" {
  source = "./modules/forwarder"
  count  = var.monitoring.new_relic_enabled ? 1 : 0

  environment                       = var.environment
  new_relic_license_key_secret_name = var.monitoring.new_relic_license_key_secret_name
  new_relic_license_key_secret_arn  = local.license_key_secret_arn
  package_path                      = "${local.dist}/forwarder.zip"
  common                            = local.function_common

  environment_variables = {
    STREAM_NAME          = module.stream.name
    TABLE_NAME           = module.table.name
    INGEST_FUNCTION_NAME = module.ingest.function_name
    API_FUNCTION_NAME    = module.api.function_name
    API_ID               = module.api.api_id
    DLQ_URL              = module.ingest.dead_letter_queue_url
    ON_FAILURE_QUEUE_URL = module.ingest.on_failure_queue_url
    NEW_RELIC_REGION     = var.monitoring.new_relic_region
  }
}

# Dashboards, alert conditions and service levels over what the forwarder sends.
module "newrelic" {
  source = "./modules/newrelic"
  count  = var.monitoring.new_relic_enabled ? 1 : 0

  environment = var.environment
  account_id  = var.monitoring.new_relic_account_id

  on_failure_age_threshold_seconds = module.ingest.on_failure_age_alarm_threshold_seconds
}

# Locust's distributed mode on Fargate for loads one machine cannot offer (off by default).
module "loadgen" {
  source = "./modules/loadgen"
  count  = var.loadgen.enabled ? 1 : 0

  environment           = var.environment
  aws_region            = var.aws_region
  settings              = var.loadgen
  stream_arn            = module.stream.arn
  table_arn             = module.table.arn
  dead_letter_queue_arn = module.ingest.dead_letter_queue_arn
  api_id                = module.api.api_id
  kms_key_arn           = module.kms.arn
}

# Every variable here is a top-level key of terraform/environments/<env>.tfvars.json, with
# the same shape as pipeline/config.py's EnvironmentConfig (the local stack reads the same
# file). Ranges are validated by that loader and by AWS; only enumerations and cross-field
# rules Terraform would otherwise pass to AWS blindly are validated here.

variable "environment" {
  description = "Environment name: suffix of every resource name and the `environment` metric dimension."
  type        = string
}

variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
}

variable "lambda_architecture" {
  description = "CPU architecture of every function (arm64 or x86_64); `make package` builds wheels for it."
  type        = string

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "tags" {
  description = "Tags on every AWS resource (provider default_tags)."
  type        = map(string)
}

variable "stream" {
  description = "The Kinesis data stream: name, PROVISIONED or ON_DEMAND, shard count, retention."
  type = object({
    name            = string
    mode            = string
    shard_count     = number
    retention_hours = number
  })
}

variable "table" {
  description = "The DynamoDB table and its GSI on (type, produced_at): billing mode, capacities, PITR, autoscaling."
  type = object({
    name           = string
    billing_mode   = string
    read_capacity  = number
    write_capacity = number
    type_index = object({
      name           = string
      read_capacity  = number
      write_capacity = number
    })
    point_in_time_recovery = bool
    autoscaling = object({
      enabled            = bool
      target_utilization = number
      max_read_capacity  = number
      max_write_capacity = number
    })
  })
}

variable "ingest" {
  description = "The consumer Lambda and every setting of its Kinesis event source mapping."
  type = object({
    batch_size                      = number
    maximum_batching_window_seconds = number
    parallelization_factor          = number
    maximum_retry_attempts          = number
    bisect_batch_on_function_error  = bool
    maximum_record_age_seconds      = number
    starting_position               = string
    memory_mb                       = number
    timeout_seconds                 = number
    reserved_concurrency            = number
  })

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.ingest.starting_position)
    error_message = "ingest.starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "api" {
  description = "The read API Lambda, its route throttling and its authorization (NONE, AWS_IAM or JWT)."
  type = object({
    memory_mb              = number
    timeout_seconds        = number
    reserved_concurrency   = number
    throttling_rate_limit  = number
    throttling_burst_limit = number
    auth_type              = string
    jwt_issuer             = string
    jwt_audience           = list(string)
  })

  validation {
    condition     = contains(["NONE", "AWS_IAM", "JWT"], var.api.auth_type)
    error_message = "api.auth_type must be NONE, AWS_IAM or JWT."
  }

  # An API open to anyone is for the local stack only (environments named local or local-*).
  validation {
    condition     = var.api.auth_type != "NONE" || can(regex("^local(-.*)?$", var.environment))
    error_message = "api.auth_type NONE (an open API) is allowed only in the local environment (local or local-*): use AWS_IAM or JWT."
  }

  validation {
    condition     = var.api.auth_type != "JWT" || (var.api.jwt_issuer != "" && length(var.api.jwt_audience) > 0)
    error_message = "api.auth_type JWT needs api.jwt_issuer and at least one api.jwt_audience."
  }
}

variable "queues" {
  description = "The dead-letter queue (bad records with their reason) and the mapping's on-failure queue."
  type = object({
    dead_letter_name          = string
    on_failure_name           = string
    message_retention_seconds = number
  })
}

variable "monitoring" {
  description = "New Relic objects, the forwarder's destination, Lambda instrumentation (New Relic layer) and log retention."
  type = object({
    new_relic_enabled                 = bool
    new_relic_account_id              = string
    new_relic_region                  = string
    new_relic_license_key_secret_name = string
    new_relic_layer_arn               = string
    lambda_instrumentation            = bool
    log_retention_days                = number
  })

  validation {
    condition     = contains(["US", "EU"], var.monitoring.new_relic_region)
    error_message = "monitoring.new_relic_region must be US or EU."
  }

  validation {
    condition = !var.monitoring.new_relic_enabled || (
      var.monitoring.new_relic_account_id != "" &&
      var.monitoring.new_relic_license_key_secret_name != ""
    )
    error_message = "monitoring.new_relic_enabled needs monitoring.new_relic_account_id and monitoring.new_relic_license_key_secret_name (the forwarder reads the license key from that secret)."
  }

  validation {
    condition = !var.monitoring.lambda_instrumentation || (
      var.monitoring.new_relic_layer_arn != "" &&
      var.monitoring.new_relic_account_id != "" &&
      var.monitoring.new_relic_license_key_secret_name != ""
    )
    error_message = "monitoring.lambda_instrumentation needs monitoring.new_relic_layer_arn, monitoring.new_relic_account_id and monitoring.new_relic_license_key_secret_name."
  }
}

variable "audit" {
  description = "How the load test's loss audit finds a run's records in the table: the partition key that holds each record's id and its format (\"{id}\" or e.g. \"ORDER#{id}\"), or the audit off. Read by the load tests and the local stack; Redline's own table keeps event_id."
  type = object({
    enabled       = bool
    key_attribute = string
    key_format    = string
  })

  validation {
    condition     = var.audit.key_attribute == "event_id" && var.audit.key_format == "{id}"
    error_message = "Redline's own table is keyed on event_id: audit.key_attribute must be \"event_id\" and audit.key_format \"{id}\" when Terraform deploys it (other keys describe a table you bring: make loadtest TARGET=aws OUTPUTS=<file>)."
  }
}

variable "loadgen" {
  description = "Locust master and workers as Fargate tasks (modules/loadgen), off unless enabled; pipeline/loadgen_config.py validates the sizes."
  type = object({
    enabled            = bool
    workers            = number
    cpu_architecture   = string
    master_cpu         = number
    master_memory_mb   = number
    worker_cpu         = number
    worker_memory_mb   = number
    use_spot           = bool
    budget_usd         = number
    image              = string
    vpc_id             = string
    subnet_ids         = list(string)
    assign_public_ip   = bool
    results_bucket     = string
    results_prefix     = string
    log_retention_days = number
  })

  validation {
    condition     = contains(["X86_64", "ARM64"], var.loadgen.cpu_architecture)
    error_message = "loadgen.cpu_architecture must be X86_64 or ARM64."
  }

  validation {
    condition = !var.loadgen.enabled || (
      var.loadgen.image != "" && var.loadgen.vpc_id != "" &&
      length(var.loadgen.subnet_ids) > 0 && var.loadgen.results_bucket != ""
    )
    error_message = "loadgen.enabled needs loadgen.image, loadgen.vpc_id, loadgen.subnet_ids and loadgen.results_bucket."
  }
}

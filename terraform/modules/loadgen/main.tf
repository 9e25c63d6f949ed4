# Locust's distributed mode on Fargate: one master task and N worker tasks, started per run
# by `make loadtest TARGET=aws RUNNER=fargate` (loadtests/fargate.py) and stopped when it ends.
# Only the workers reach the master (security groups); they find it by its Cloud Map name,
# which the runner registers for the run. The task role may put to this stream, read this
# table and queue for the audit, call this API's GET routes, read CloudWatch metrics and
# write under the results prefix: nothing else.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name        = "redline-loadgen-${var.environment}"
  partition   = data.aws_partition.current.partition
  account_id  = data.aws_caller_identity.current.account_id
  master_port = 5557
  namespace   = "loadgen.${var.environment}.redline.internal"
  results_arn = "arn:${local.partition}:s3:::${var.settings.results_bucket}"
  api_arn     = "arn:${local.partition}:execute-api:${var.aws_region}:${local.account_id}:${var.api_id}"
}

resource "aws_ecs_cluster" "this" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338: retention is an environment-file knob (loadgen.log_retention_days); a run's figures live in its run folder, logs are for debugging it
  name              = "/redline/${local.name}"
  retention_in_days = var.settings.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# -- network: the master accepts Locust's port from the workers only ----------------------

resource "aws_security_group" "master" {
  # checkov:skip=CKV2_AWS_5: attached per run by loadtests/fargate.py (ecs.run_task networkConfiguration), not by Terraform
  name        = "${local.name}-master"
  description = "Locust master: Locust's port from the workers only; HTTPS out to AWS APIs"
  vpc_id      = var.settings.vpc_id
}

resource "aws_security_group" "worker" {
  # checkov:skip=CKV2_AWS_5: attached per run by loadtests/fargate.py (ecs.run_task networkConfiguration), not by Terraform
  name        = "${local.name}-worker"
  description = "Locust workers: no inbound; the master's port and HTTPS out"
  vpc_id      = var.settings.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "master_from_workers" {
  security_group_id            = aws_security_group.master.id
  description                  = "Locust workers to the master"
  referenced_security_group_id = aws_security_group.worker.id
  ip_protocol                  = "tcp"
  from_port                    = local.master_port
  to_port                      = local.master_port
}

resource "aws_vpc_security_group_egress_rule" "worker_to_master" {
  security_group_id            = aws_security_group.worker.id
  description                  = "Workers to the Locust master"
  referenced_security_group_id = aws_security_group.master.id
  ip_protocol                  = "tcp"
  from_port                    = local.master_port
  to_port                      = local.master_port
}

resource "aws_vpc_security_group_egress_rule" "https_out" {
  for_each          = { master = aws_security_group.master.id, worker = aws_security_group.worker.id }
  security_group_id = each.value
  description       = "HTTPS to AWS APIs (Kinesis, DynamoDB, API Gateway, CloudWatch, S3, ECR)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = local.namespace
  description = "Redline load generator: the Locust master's name for its workers"
  vpc         = var.settings.vpc_id
}

resource "aws_service_discovery_service" "master" {
  name = "master"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      ttl  = 10
      type = "A"
    }
  }
}

# -- roles -------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    sid     = "EcsTasksAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "PutToTheStream"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]
    resources = [var.stream_arn]
  }

  statement {
    sid       = "ReadTheRunsItemsForTheAudit"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:DescribeTable"]
    resources = [var.table_arn]
  }

  statement {
    sid       = "CountTheDeadLettersForTheAudit"
    actions   = ["sqs:ReceiveMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [var.dead_letter_queue_arn]
  }

  statement {
    sid       = "UseTheEnvironmentsKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "CallTheReadApi"
    actions   = ["execute-api:Invoke"]
    resources = ["${local.api_arn}/*/GET/events", "${local.api_arn}/*/GET/events/*"]
  }

  statement {
    sid     = "ReadTheRunsMetrics"
    actions = ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]
    # Both only read and have no resource-level permissions (Service Authorization
    # Reference, Amazon CloudWatch): AWS requires "*" for them.
    resources = ["*"]
  }

  statement {
    sid       = "WriteAndReadTheRunFolder"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${local.results_arn}/${var.settings.results_prefix}*"]
  }

  statement {
    sid       = "ListTheRunFolder"
    actions   = ["s3:ListBucket"]
    resources = [local.results_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.settings.results_prefix}*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "${local.name}-task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# -- tasks -------------------------------------------------------------------------------

resource "aws_ecs_task_definition" "this" {
  for_each = {
    master = { cpu = var.settings.master_cpu, memory = var.settings.master_memory_mb }
    worker = { cpu = var.settings.worker_cpu, memory = var.settings.worker_memory_mb }
  }

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.settings.cpu_architecture
  }

  container_definitions = jsonencode([{
    name                   = each.key
    image                  = var.settings.image
    essential              = true
    readonlyRootFilesystem = false
    command                = ["python", "-m", "loadtests.fargate_task", each.key]
    portMappings           = each.key == "master" ? [{ containerPort = local.master_port, protocol = "tcp" }] : []
    environment = [
      { name = "AWS_REGION", value = var.aws_region },
      { name = "REDLINE_LOADGEN_MASTER_HOST", value = "master.${local.namespace}" },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

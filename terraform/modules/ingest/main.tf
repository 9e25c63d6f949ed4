# The Kinesis consumer: the ingest Lambda, its event source mapping (every setting of the
# environment file, partial batch responses), the dead-letter queue that receives records
# breaking the event contract (written by the handler), and the mapping's on-failure queue
# (batch descriptions Lambda gives up on after retries or record age).

locals {
  function_name = "redline-ingest-${var.environment}"
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = var.queues.dead_letter_name
  message_retention_seconds = var.queues.message_retention_seconds
  max_message_size          = 262144 # 256 KiB: SQS_MAX_MESSAGE_BYTES, what the handlers size for
  kms_master_key_id         = var.common.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue" "on_failure" {
  name                      = var.queues.on_failure_name
  message_retention_seconds = var.queues.message_retention_seconds
  max_message_size          = 262144 # 256 KiB: SQS_MAX_MESSAGE_BYTES, what the handlers size for
  kms_master_key_id         = var.common.kms_key_arn
  tags                      = var.tags
}

data "aws_iam_policy_document" "handler" {
  statement {
    sid = "ReadTheStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [var.stream_arn]
  }

  statement {
    # Events go in as PartiQL INSERTs (BatchExecuteStatement, 25 a call: authorised per
    # statement as PartiQLInsert); an INSERT refused as a duplicate is looked at again with a
    # conditional PutItem (docs/pipeline.md "Duplicates").
    sid       = "WriteEvents"
    actions   = ["dynamodb:PartiQLInsert", "dynamodb:PutItem"]
    resources = [var.table_arn]
  }

  statement {
    # The handler sends bad records to the DLQ (SendMessageBatch is authorised as
    # SendMessage); Lambda's poller sends batch descriptions to the on-failure queue with
    # the function's role.
    sid       = "SendToQueues"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn, aws_sqs_queue.on_failure.arn]
  }

  statement {
    # Reading the KMS-encrypted stream and writing the KMS-encrypted queues.
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.common.kms_key_arn]
  }
}

module "function" {
  source = "../function"

  function_name        = local.function_name
  description          = "Redline ingest: Kinesis records to DynamoDB, bad records to the DLQ"
  handler              = "pipeline.ingest.handler.lambda_handler"
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
    DLQ_URL                      = aws_sqs_queue.dead_letter.url
    POWERTOOLS_SERVICE_NAME      = "ingest"
    POWERTOOLS_METRICS_NAMESPACE = "Redline"
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = var.stream_arn
  function_name                      = module.function.arn
  starting_position                  = var.settings.starting_position
  batch_size                         = var.settings.batch_size
  maximum_batching_window_in_seconds = var.settings.maximum_batching_window_seconds
  parallelization_factor             = var.settings.parallelization_factor
  maximum_retry_attempts             = var.settings.maximum_retry_attempts
  bisect_batch_on_function_error     = var.settings.bisect_batch_on_function_error
  maximum_record_age_in_seconds      = var.settings.maximum_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.on_failure.arn
    }
  }
}

# The on-failure queue holds pointers to batches the event source mapping gave up on, not the
# records: they can be replayed (`make replay ENV=<env>`) only while the stream retains them.
# Any message there is data waiting to be replayed; an old one is about to be lost.

locals {
  # Seconds a failed batch's oldest record has left in the stream when its message arrives
  # (the mapping gives up at the latest when a record reaches maximum_record_age_seconds).
  replay_window_seconds = var.stream_retention_hours * 3600 - max(var.settings.maximum_record_age_seconds, 0)
  # Half of it: the CloudWatch alarm here and the New Relic alert (output) fire at the same age.
  on_failure_age_alarm_threshold_seconds = floor(local.replay_window_seconds / 2)
}

resource "aws_cloudwatch_metric_alarm" "on_failure_depth" {
  alarm_name          = "redline-${var.environment}-ingest-on-failure-depth"
  alarm_description   = "Batches the ingest mapping gave up on wait in ${var.queues.on_failure_name}: run `make replay ENV=${var.environment}` before the stream's retention trims their records."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.on_failure.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "on_failure_age" {
  alarm_name          = "redline-${var.environment}-ingest-on-failure-oldest-age"
  alarm_description   = "The oldest failed batch in ${var.queues.on_failure_name} has used half the time the stream still retains its records: run `make replay ENV=${var.environment}` now."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.on_failure.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = local.on_failure_age_alarm_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

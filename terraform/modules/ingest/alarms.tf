# The on-failure queue holds pointers to batches the event source mapping gave up on, not the
# records: they can be replayed (`make replay ENV=<env>`) only while the stream retains them.
# Any message there is data waiting to be replayed; an old one is about to be lost.

locals {
  # Seconds a failed batch's oldest record has left in the stream when its message arrives
  # (the mapping gives up at the latest when a record reaches maximum_record_age_seconds).
  replay_window_seconds = var.stream_retention_hours * 3600 - max(var.settings.maximum_record_age_seconds, 0)
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
  threshold           = floor(local.replay_window_seconds / 2)
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

"""AWS's capacity limits, in one place (us-east-1; docs/aws-limits.md cites the AWS page of each).

The local gateway enforces these, the environment loader validates against them and the
capacity model sizes with them. Prices live in reports/prices.json, not here.
"""

from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * 1024

# Kinesis Data Streams
KINESIS_SHARD_WRITE_RECORDS_PER_S: Final = 1000
KINESIS_SHARD_WRITE_BYTES_PER_S: Final = 1 * MIB
KINESIS_SHARD_READ_CALLS_PER_S: Final = 5
KINESIS_SHARD_READ_BYTES_PER_S: Final = 2 * MIB
KINESIS_GET_RECORDS_MAX_RECORDS: Final = 10_000
KINESIS_GET_RECORDS_MAX_BYTES: Final = 10 * MIB
KINESIS_GET_RECORDS_BIG_CALL_PENALTY_S: Final = 5
KINESIS_PUT_RECORDS_MAX_RECORDS: Final = 500
KINESIS_PUT_RECORDS_MAX_BYTES: Final = 10 * MIB
KINESIS_DEFAULT_MAX_RECORD_BYTES: Final = 1 * MIB
KINESIS_PUT_RECORD_ROUNDING_BYTES: Final = 1 * KIB
KINESIS_PARTITION_KEY_MAX_CHARS: Final = 256
KINESIS_HASH_KEY_SPACE: Final = 2**128
KINESIS_MAX_SHARDS_PER_STREAM: Final = 10_000
KINESIS_ON_DEMAND_INITIAL_WRITE_BYTES_PER_S: Final = 4 * MIB
KINESIS_ON_DEMAND_INITIAL_WRITE_RECORDS_PER_S: Final = 4000
KINESIS_ON_DEMAND_PEAK_MULTIPLIER: Final = 2
KINESIS_ON_DEMAND_PEAK_WINDOW_S: Final = 15 * 60
KINESIS_PUT_PAYLOAD_UNIT_BYTES: Final = 25 * 1000

# DynamoDB
DYNAMODB_READ_UNIT_BYTES: Final = 4 * KIB
DYNAMODB_WRITE_UNIT_BYTES: Final = 1 * KIB
DYNAMODB_MAX_ITEM_BYTES: Final = 400 * KIB
DYNAMODB_BURST_SECONDS: Final = 300
DYNAMODB_PARTITION_MAX_RCU: Final = 3000
DYNAMODB_PARTITION_MAX_WCU: Final = 1000
DYNAMODB_BATCH_WRITE_MAX_ITEMS: Final = 25
DYNAMODB_BATCH_GET_MAX_KEYS: Final = 100
DYNAMODB_QUERY_PAGE_BYTES: Final = 1 * MIB
DYNAMODB_ON_DEMAND_INITIAL_WRITES_PER_S: Final = 4000
DYNAMODB_ON_DEMAND_INITIAL_READS_PER_S: Final = 12000
DYNAMODB_ON_DEMAND_PEAK_MULTIPLIER: Final = 2
DYNAMODB_ON_DEMAND_PEAK_WINDOW_S: Final = 30 * 60
DYNAMODB_ON_DEMAND_TABLE_MAX_UNITS: Final = 40_000
DYNAMODB_MAX_TABLE_RCU: Final = 40_000
DYNAMODB_MAX_TABLE_WCU: Final = 40_000
# What makes DynamoDB refuse an item (ValidationException; in BatchWriteItem the whole call).
# Sources: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
# ("Attributes", "Nested attribute depth", "Item size") and
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
# (numbers: 38 digits of precision, magnitude 1E-130 to 9.99...9E+125).
DYNAMODB_ATTRIBUTE_NAME_MIN_BYTES: Final = 1  # map keys at any depth included
DYNAMODB_ATTRIBUTE_NAME_MAX_BYTES: Final = 64 * KIB - 1
DYNAMODB_MAX_NESTING_DEPTH: Final = 32  # a map or list counts one level
DYNAMODB_NUMBER_MAX_DIGITS: Final = 38
DYNAMODB_NUMBER_MAX_EXPONENT: Final = 125  # largest magnitude 9.99..9E+125
DYNAMODB_NUMBER_MIN_EXPONENT: Final = -130  # smallest magnitude 1E-130

# SQS (the dead-letter queue). AWS raised the message maximum to 1 MiB in 2025-08, but a queue
# keeps its MaximumMessageSize attribute (256 KiB on older queues and older Terraform defaults):
# the handlers stay under the smaller figure so that any queue takes their messages.
SQS_MAX_MESSAGE_BYTES: Final = 256 * KIB
SQS_SEND_BATCH_MAX_ENTRIES: Final = 10
SQS_SEND_BATCH_MAX_BYTES: Final = 256 * KIB

# Lambda
LAMBDA_ACCOUNT_CONCURRENCY: Final = 1000
LAMBDA_MAX_PAYLOAD_BYTES: Final = 6 * MIB
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: asynchronous
# invocation payload (InvocationType Event) is 1 MB; synchronous request and response 6 MB.
LAMBDA_MAX_ASYNC_PAYLOAD_BYTES: Final = 1 * MIB
LAMBDA_ESM_POLL_INTERVAL_S: Final = 1.0

# API Gateway HTTP API
APIGW_ACCOUNT_RATE: Final = 10_000
APIGW_ACCOUNT_BURST: Final = 5_000
APIGW_INTEGRATION_TIMEOUT_S: Final = 30
APIGW_MAX_PAYLOAD_BYTES: Final = 10 * MIB

# New Relic Metric API
NEW_RELIC_MAX_POST_BYTES: Final = 1_000_000
NEW_RELIC_MAX_ATTRIBUTES: Final = 100
NEW_RELIC_MAX_POINT_AGE_S: Final = 48 * 3600

# CloudWatch PutMetricData: a request up to 1 MB
CLOUDWATCH_MAX_PUT_METRIC_DATA_BYTES: Final = 1 * MIB

# Request bodies AWS refuses as too large (DynamoDB: 16 MB a request; Secrets Manager: a secret
# value up to 64 KB; SSM: an advanced parameter up to 8 KB)
DYNAMODB_MAX_REQUEST_BYTES: Final = 16 * MIB
SECRETS_MANAGER_MAX_SECRET_BYTES: Final = 64 * KIB

# CloudWatch GetMetricData
CLOUDWATCH_MAX_QUERIES_PER_GET_METRIC_DATA: Final = 500
CLOUDWATCH_MAX_DATAPOINTS_PER_GET_METRIC_DATA: Final = 100_800

# Scaling (Kinesis UpdateShardCount, Application Auto Scaling for DynamoDB)
KINESIS_UPDATE_SHARD_COUNT_CALLS_PER_WINDOW: Final = 10
KINESIS_UPDATE_SHARD_COUNT_WINDOW_S: Final = 24 * 3600
AUTOSCALING_MIN_TARGET_UTILIZATION: Final = 20
AUTOSCALING_MAX_TARGET_UTILIZATION: Final = 90
AUTOSCALING_SCALE_OUT_MINUTES: Final = 2
AUTOSCALING_SCALE_IN_MINUTES: Final = 15
AUTOSCALING_SCALE_IN_MARGIN: Final = 0.20  # scale in only at 20 % or more below the target
AUTOSCALING_FREE_DECREASES_PER_DAY: Final = 4
AUTOSCALING_DECREASE_QUIET_HOUR_S: Final = 3600

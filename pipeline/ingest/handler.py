"""Kinesis -> DynamoDB consumer (`pipeline.ingest.handler.lambda_handler`).

Environment (validated at cold start): TABLE_NAME, DLQ_URL, ENVIRONMENT; plus Powertools'
POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE and the standard AWS variables
(AWS_REGION, AWS_ENDPOINT_URL for the local stack).
"""

from __future__ import annotations

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import metrics as metric_names
from pipeline.clients import handler_client_config
from pipeline.handler_env import require_environment
from pipeline.ingest.processor import IngestProcessor
from pipeline.ingest.records import classify_record

ENV = require_environment("the ingest Lambda", ("TABLE_NAME", "DLQ_URL", "ENVIRONMENT"))

logger = Logger(service=metric_names.SERVICE_INGEST)
copy_config_to_registered_loggers(source_logger=logger, include={"pipeline"})
metrics = Metrics(namespace=metric_names.NAMESPACE, service=metric_names.SERVICE_INGEST)
metrics.set_default_dimensions(**{metric_names.DIMENSION_ENVIRONMENT: ENV["ENVIRONMENT"]})

processor = IngestProcessor(
    table_name=ENV["TABLE_NAME"],
    dlq_url=ENV["DLQ_URL"],
    dynamodb=boto3.client("dynamodb", config=handler_client_config(read_timeout_s=5)),
    sqs=boto3.client("sqs", config=handler_client_config(read_timeout_s=5)),
    metrics=metrics,
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event, classify_record, processor, context)

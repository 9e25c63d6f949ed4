"""Provisioning from the environment file: the stream, the table with its GSI and the queues.

Idempotent: what exists is kept (a differing shard count or capacity is reported, not changed),
so `make up` on a running endpoint and a test's fixture both call it freely.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from pipeline import aws_limits as limits
from pipeline.autoscaling import register_autoscaling
from pipeline.config import BillingMode, EnvironmentConfig, StreamMode

logger = logging.getLogger(__name__)

ACTIVE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Resources:
    stream_name: str
    stream_arn: str
    table_name: str
    type_index_name: str
    dead_letter_queue_url: str
    on_failure_queue_url: str
    on_failure_queue_arn: str


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _wait(describe, is_ready, what: str, timeout_s: float = ACTIVE_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        description = describe()
        if is_ready(description):
            return description
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not become ACTIVE within {timeout_s:.0f} s")
        time.sleep(0.2)


def ensure_stream(kinesis, config: EnvironmentConfig) -> str:
    stream = config.stream
    kwargs: dict = {"StreamName": stream.name}
    if stream.mode is StreamMode.ON_DEMAND:
        kwargs["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
    else:
        kwargs["ShardCount"] = stream.shard_count
    try:
        kinesis.create_stream(**kwargs)
        logger.info("created stream %s (%s)", stream.name, stream.mode.value)
    except ClientError as exc:
        if _error_code(exc) != "ResourceInUseException":
            raise
    summary = _wait(
        lambda: kinesis.describe_stream_summary(StreamName=stream.name)["StreamDescriptionSummary"],
        lambda s: s["StreamStatus"] == "ACTIVE",
        f"stream {stream.name}",
    )
    if stream.mode is StreamMode.PROVISIONED and summary.get("OpenShardCount") not in (
        None,
        stream.shard_count,
    ):
        logger.warning(
            "stream %s has %s open shards, the environment file says %d (kept)",
            stream.name,
            summary.get("OpenShardCount"),
            stream.shard_count,
        )
    return summary["StreamARN"]


def table_definition(config: EnvironmentConfig) -> dict:
    table = config.table
    provisioned = table.billing_mode is BillingMode.PROVISIONED
    index = {
        "IndexName": table.type_index.name,
        "KeySchema": [
            {"AttributeName": "type", "KeyType": "HASH"},
            {"AttributeName": "produced_at", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    key = config.audit.key_attribute  # event_id, or the key of a table you bring
    definition = {
        "TableName": table.name,
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": key, "AttributeType": "S"},
            *(
                {"AttributeName": name, "AttributeType": kind}
                for name, kind in (("type", "S"), ("produced_at", "N"))
                if name != key
            ),
        ],
        "GlobalSecondaryIndexes": [index],
        "BillingMode": table.billing_mode.value,
    }
    if provisioned:
        definition["ProvisionedThroughput"] = {
            "ReadCapacityUnits": table.read_capacity,
            "WriteCapacityUnits": table.write_capacity,
        }
        index["ProvisionedThroughput"] = {
            "ReadCapacityUnits": table.type_index.read_capacity,
            "WriteCapacityUnits": table.type_index.write_capacity,
        }
    return definition


def ensure_table(dynamodb, config: EnvironmentConfig) -> None:
    name = config.table.name
    try:
        dynamodb.create_table(**table_definition(config))
        logger.info("created table %s (%s)", name, config.table.billing_mode.value)
    except ClientError as exc:
        if _error_code(exc) != "ResourceInUseException":
            raise
    _wait(
        lambda: dynamodb.describe_table(TableName=name)["Table"],
        lambda t: (
            t["TableStatus"] == "ACTIVE"
            and all(
                i.get("IndexStatus", "ACTIVE") == "ACTIVE"
                for i in t.get("GlobalSecondaryIndexes", [])
            )
        ),
        f"table {name}",
    )


def ensure_queue(sqs, name: str, retention_s: int) -> tuple[str, str]:
    # The size limit Terraform gives the queues too: moto's default is 1 MiB.
    attributes = {
        "MessageRetentionPeriod": str(retention_s),
        "MaximumMessageSize": str(limits.SQS_MAX_MESSAGE_BYTES),
    }
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def provision(clients, config: EnvironmentConfig) -> Resources:
    """Create (or find) everything the environment file describes."""
    stream_arn = ensure_stream(clients.kinesis, config)
    ensure_table(clients.dynamodb, config)
    if getattr(clients, "autoscaling", None) is not None:
        register_autoscaling(clients.autoscaling, config)
    retention = config.queues.message_retention_seconds
    dlq_url, _ = ensure_queue(clients.sqs, config.queues.dead_letter_name, retention)
    failure_url, failure_arn = ensure_queue(clients.sqs, config.queues.on_failure_name, retention)
    return Resources(
        stream_name=config.stream.name,
        stream_arn=stream_arn,
        table_name=config.table.name,
        type_index_name=config.table.type_index.name,
        dead_letter_queue_url=dlq_url,
        on_failure_queue_url=failure_url,
        on_failure_queue_arn=failure_arn,
    )

"""The IAM policy a TARGET=aws load test needs, made from what this run will call.

Each statement is one thing the run does: the reachability check and the producers
(Kinesis), the loss audit (DynamoDB BatchGetItem of the run's own ids, SQS receives of the
dead-letter queue), the run window's metrics (CloudWatch), signed reads (API Gateway with
AWS_IAM auth) and the stack's customer managed KMS key (Kinesis producers need
kms:GenerateDataKey, receiving from an encrypted queue needs kms:Decrypt). AWS's pages:
https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html and
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from loadtests.runconfig import Endpoints


def _queue_arn(queue_url: str, region: str, account: str) -> str:
    parts = urlsplit(queue_url).path.strip("/").split("/")
    if len(parts) == 2:
        account, name = parts
    else:
        name = parts[-1]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def load_test_policy(
    endpoints: Endpoints,
    *,
    readers: bool,
    kms_key_arn: str | None = None,
    account_id: str | None = None,
) -> dict[str, Any]:
    """A policy document (Version 2012-10-17) with one statement per part of the run."""
    region, account = endpoints.region, account_id or "*"
    table_arn = f"arn:aws:dynamodb:{region}:{account}:table/{endpoints.table_name}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PutLoadOnTheStream",
            "Effect": "Allow",
            "Action": ["kinesis:DescribeStreamSummary", "kinesis:PutRecords"],
            "Resource": f"arn:aws:kinesis:{region}:{account}:stream/{endpoints.stream_name}",
        },
        {
            "Sid": "AuditReadsTheRunsOwnItems",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem"],
            "Resource": table_arn,
        },
        {
            # GetMetricData has no resource-level permissions: AWS requires "*".
            "Sid": "ReadTheRunWindowsMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:GetMetricData"],
            "Resource": "*",
        },
    ]
    if endpoints.dead_letter_queue_url:
        statements.append(
            {
                "Sid": "AuditCountsTheDeadLetterQueue",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage"],
                "Resource": _queue_arn(endpoints.dead_letter_queue_url, region, account),
            }
        )
    if kms_key_arn:
        actions = ["kms:GenerateDataKey"]
        if endpoints.dead_letter_queue_url:
            actions.append("kms:Decrypt")
        statements.append(
            {
                "Sid": "UseTheStacksKey",
                "Effect": "Allow",
                "Action": actions,
                "Resource": kms_key_arn,
            }
        )
    if readers and endpoints.api_url and endpoints.api_auth == "AWS_IAM":
        api = endpoints.api_id or "*"
        statements.append(
            {
                "Sid": "SignedReadsOfTheApi",
                "Effect": "Allow",
                "Action": ["execute-api:Invoke"],
                "Resource": f"arn:aws:execute-api:{region}:{account}:{api}/*/GET/*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2)


def allowed_actions(policy: dict[str, Any]) -> set[str]:
    return {action for s in policy["Statement"] for action in s["Action"]}

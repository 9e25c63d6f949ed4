"""What may reach moto through the gateway: named operations of SQS, Secrets Manager and SSM
on the SDKs' own paths, never moto's admin API."""

from __future__ import annotations

import pytest

from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.moto_allowlist import check_moto_request


@pytest.mark.parametrize(
    ("target", "operation"),
    [
        ("AmazonSQS.SendMessage", "SendMessage"),
        ("secretsmanager.GetSecretValue", "GetSecretValue"),
        ("AmazonSSM.GetParameter", "GetParameter"),
    ],
)
def test_json_protocol_operations_on_the_root_path_pass(target, operation):
    assert check_moto_request(target, "/", "", b"{}") == operation


def test_sqs_query_protocol_passes_on_the_root_or_a_queue_path():
    body = b"Action=ReceiveMessage&QueueUrl=x"
    assert check_moto_request("", "/000000000000/my-queue", "", body) == "ReceiveMessage"
    assert check_moto_request("", "/", "Action=ListQueues", b"") == "ListQueues"


@pytest.mark.parametrize(
    ("target", "path", "query", "body"),
    [
        ("AmazonSQS.ListQueues", "/moto-api/data.json", "", b""),
        ("secretsmanager.GetSecretValue", "/moto-api/reset", "", b""),
        ("AmazonSQS.NotAnOperation", "/", "", b""),
        ("AmazonSNS.Publish", "/", "", b""),
        ("", "/moto-api/recorder/replay-recording", "", b"Action=ListQueues"),
        ("", "/", "", b"Action=ListQueues&Action=DeleteQueue"),
        ("", "/", "", b""),
    ],
)
def test_everything_else_is_an_unknown_operation(target, path, query, body):
    with pytest.raises(AwsError) as error:
        check_moto_request(target, path, query, body)
    assert error.value.code == "UnknownOperationException"

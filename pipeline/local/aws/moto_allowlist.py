"""Which requests may reach moto: the SQS, Secrets Manager and SSM operations the stack serves.

moto's WSGI app also answers its own admin API under `/moto-api/` (dump every stored secret,
write recordings to disk, replay arbitrary HTTP requests, reset). None of that may be reachable
through the gateway, whatever the request's X-Amz-Target or signature says: a request reaches
moto only with an operation named here, on the path AWS's own SDKs use (`/` for the JSON
protocols; `/` or a queue URL's path for SQS's query protocol).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from pipeline.local.aws.errors import AwsError

SQS_OPERATIONS = frozenset(
    {
        "CreateQueue", "DeleteQueue", "GetQueueUrl", "GetQueueAttributes", "SetQueueAttributes",
        "ListQueues", "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage",
        "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
        "PurgeQueue", "TagQueue", "UntagQueue", "ListQueueTags", "ListDeadLetterSourceQueues",
    }
)  # fmt: skip
SECRETS_MANAGER_OPERATIONS = frozenset(
    {
        "CreateSecret", "GetSecretValue", "BatchGetSecretValue", "PutSecretValue",
        "UpdateSecret", "DescribeSecret", "ListSecrets", "ListSecretVersionIds", "DeleteSecret",
        "RestoreSecret", "TagResource", "UntagResource",
    }
)  # fmt: skip
SSM_OPERATIONS = frozenset(
    {
        "GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory",
        "PutParameter", "DeleteParameter", "DeleteParameters", "DescribeParameters",
        "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource",
    }
)  # fmt: skip
OPERATIONS_BY_TARGET_PREFIX = {
    "AmazonSQS": SQS_OPERATIONS,
    "secretsmanager": SECRETS_MANAGER_OPERATIONS,
    "AmazonSSM": SSM_OPERATIONS,
}
SQS_QUEUE_PATH = re.compile(r"^/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")


def check_moto_request(target: str, path: str, query: str, body: bytes) -> str:
    """The operation a request to moto asks for; AwsError when moto must not see it."""
    if target:
        prefix, _, operation = target.partition(".")
        allowed = OPERATIONS_BY_TARGET_PREFIX.get(prefix, frozenset())
        if path != "/" or operation not in allowed:
            raise _refused(target, path)
        return operation
    # SQS's query protocol: the operation is the Action parameter, the path "/" or a queue's.
    if path != "/" and not SQS_QUEUE_PATH.match(path):
        raise _refused("", path)
    try:
        form = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError:
        form = {}
    actions = parse_qs(query).get("Action", []) + form.get("Action", [])
    if len(actions) != 1 or actions[0] not in SQS_OPERATIONS:
        raise _refused("AmazonSQS." + (actions[0] if actions else "(no Action)"), path)
    return actions[0]


def _refused(target: str, path: str) -> AwsError:
    return AwsError(
        "UnknownOperationException",
        f"{target or 'the request'} on path {path!r} is not served by the local gateway "
        "(SQS, Secrets Manager and SSM operations only, on path /)",
    )

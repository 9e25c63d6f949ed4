"""A stack's names written by hand: TARGET=aws against any Kinesis -> Lambda -> DynamoDB stack.

`--outputs FILE` (make: OUTPUTS=FILE) names a JSON file the user writes for a stack Redline
did not deploy. The schema (docs/loadtests.md "Any AWS stack"):

    {"stream_name": "orders", "table_name": "orders-events",
     "region": "eu-west-1", "api_url": null, "dead_letter_queue_url": null,
     "kms_key_arn": null, "account_id": null}

Only `stream_name` and `table_name` are required. Without `api_url` the run has no readers
and no end-to-end probes; without `dead_letter_queue_url` the audit counts the table only.
Terraform's own `terraform output -json` shape ({"name": {"value": ...}}) is read too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loadtests.runconfig import Endpoints
from pipeline.config import EnvironmentConfig

StackName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:/-]+$")]


class OutputsError(ValueError):
    """An outputs file that cannot be used; the message names the file and the field."""


class StackOutputs(BaseModel):
    """What a load test needs to know about a stack: names, URLs and the region."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream_name: StackName
    table_name: StackName
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    api_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    dead_letter_queue_url: Annotated[str, Field(pattern=r"^https://\S+$")] | None = None
    kms_key_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:kms:\S+$")] | None = None
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    ingest_function_name: StackName | None = None
    api_function_name: StackName | None = None
    api_id: StackName | None = None
    type_index_name: StackName | None = None


# Terraform outputs of Redline's own stack that the schema does not need: ignored when a
# `terraform output -json` file is given instead of a hand-written one.
_TERRAFORM_ONLY = {
    "environment",
    "aws_region",
    "stream_arn",
    "on_failure_queue_url",
    "function_names",
    "forwarder_checkpoint_parameter",
    "forwarder_function_name",
    "new_relic_dashboard_url",
    "new_relic_alert_policy_id",
}


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(file)"
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(StackOutputs.model_fields)
        return f"{field}: unknown field (allowed: {allowed})"
    if error["type"] == "missing":
        return f"{field}: required field is missing"
    return f"{field}: {error['msg']} (got {json.dumps(error.get('input'))})"


def parse_outputs(data: Any, source: str = "<outputs>") -> StackOutputs:
    if not isinstance(data, dict):
        raise OutputsError(f"{source} must hold a JSON object")
    if any(isinstance(v, dict) and "value" in v for v in data.values()):  # terraform's shape
        values = {k: (v["value"] if isinstance(v, dict) else v) for k, v in data.items()}
        data = {k: v for k, v in values.items() if k not in _TERRAFORM_ONLY}
        if values.get("aws_region"):
            data.setdefault("region", values["aws_region"])
    try:
        return StackOutputs.model_validate(data)
    except ValidationError as exc:
        raise OutputsError(
            f"{source}: " + "; ".join(_describe(e) for e in exc.errors(include_url=False))
        ) from None


def load_outputs(path: str | Path) -> StackOutputs:
    path = Path(path)
    if not path.is_file():
        raise OutputsError(f"outputs file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OutputsError(
            f"outputs file {path} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return parse_outputs(data, str(path))


def endpoints_of(outputs: StackOutputs, environment: EnvironmentConfig) -> Endpoints:
    env = environment.environment
    return Endpoints(
        region=outputs.region or environment.aws_region,
        stream_name=outputs.stream_name,
        table_name=outputs.table_name,
        api_url=(outputs.api_url or "").rstrip("/"),
        aws_endpoint_url=None,
        ingest_function=outputs.ingest_function_name or f"redline-ingest-{env}",
        api_function=outputs.api_function_name or f"redline-api-{env}",
        dead_letter_queue_url=outputs.dead_letter_queue_url or "",
        dead_letter_queue_name=(outputs.dead_letter_queue_url or "").rsplit("/", 1)[-1],
        api_id=outputs.api_id or "",
        type_index_name=outputs.type_index_name or environment.table.type_index.name,
        environment=env,
        api_auth=environment.api.auth_type,
    )

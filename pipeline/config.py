"""The environment file: one Terraform variables file drives AWS and the local stack.

`terraform/environments/<env>.tfvars.json` holds every capacity knob. Terraform reads it
with `-var-file`; the local stack, the load tests and the reports read it through
`load_environment`, which validates it once and names the field and the allowed values
when something is wrong.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline import aws_limits as limits
from pipeline.loadgen_config import LoadgenConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS_DIR = REPO_ROOT / "terraform" / "environments"


class StreamMode(StrEnum):
    PROVISIONED = "PROVISIONED"
    ON_DEMAND = "ON_DEMAND"


class BillingMode(StrEnum):
    PROVISIONED = "PROVISIONED"
    PAY_PER_REQUEST = "PAY_PER_REQUEST"


class StartingPosition(StrEnum):
    TRIM_HORIZON = "TRIM_HORIZON"
    LATEST = "LATEST"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]
MemoryMb = Annotated[int, Field(ge=128, le=10240)]
TimeoutSeconds = Annotated[int, Field(ge=1, le=900)]
# -1 = no reserved concurrency (Terraform's aws_lambda_function convention); 0 disables.
ReservedConcurrency = Annotated[int, Field(ge=-1, le=limits.LAMBDA_ACCOUNT_CONCURRENCY)]


class StreamConfig(_Strict):
    name: Name
    mode: StreamMode
    shard_count: Annotated[int, Field(ge=1, le=limits.KINESIS_MAX_SHARDS_PER_STREAM)]
    retention_hours: Annotated[int, Field(ge=24, le=8760)] = 24


class IndexConfig(_Strict):
    name: Name
    read_capacity: Annotated[int, Field(ge=1, le=limits.DYNAMODB_MAX_TABLE_RCU)]
    write_capacity: Annotated[int, Field(ge=1, le=limits.DYNAMODB_MAX_TABLE_WCU)]


class AutoscalingConfig(_Strict):
    enabled: bool = False
    target_utilization: Annotated[int, Field(ge=20, le=90)] = 70
    max_read_capacity: Annotated[int, Field(ge=1, le=limits.DYNAMODB_MAX_TABLE_RCU)] = 1000
    max_write_capacity: Annotated[int, Field(ge=1, le=limits.DYNAMODB_MAX_TABLE_WCU)] = 1000


class TableConfig(_Strict):
    name: Name
    billing_mode: BillingMode
    read_capacity: Annotated[int, Field(ge=1, le=limits.DYNAMODB_MAX_TABLE_RCU)]
    write_capacity: Annotated[int, Field(ge=1, le=limits.DYNAMODB_MAX_TABLE_WCU)]
    type_index: IndexConfig
    point_in_time_recovery: bool = True
    autoscaling: AutoscalingConfig = AutoscalingConfig()

    @model_validator(mode="after")
    def _autoscaling_minimums_fit_under_maximums(self) -> TableConfig:
        # With autoscaling on, the table's and the index's capacities are its minimums
        # (Application Auto Scaling's MinCapacity); RegisterScalableTarget refuses min > max.
        if not self.autoscaling.enabled or self.billing_mode is not BillingMode.PROVISIONED:
            return self
        problems = []
        for kind in ("read", "write"):
            maximum = getattr(self.autoscaling, f"max_{kind}_capacity")
            table_max = (
                limits.DYNAMODB_MAX_TABLE_RCU if kind == "read" else limits.DYNAMODB_MAX_TABLE_WCU
            )
            for owner, minimum in (
                ("table", getattr(self, f"{kind}_capacity")),
                ("table.type_index", getattr(self.type_index, f"{kind}_capacity")),
            ):
                if minimum > maximum:
                    problems.append(
                        f"table.autoscaling.max_{kind}_capacity ({maximum}) is below "
                        f"{owner}.{kind}_capacity ({minimum}), the autoscaling minimum: "
                        f"allowed values are {minimum}..{table_max}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class IngestConfig(_Strict):
    """The consumer Lambda and its Kinesis event source mapping."""

    batch_size: Annotated[int, Field(ge=1, le=10000)] = 100
    maximum_batching_window_seconds: Annotated[int, Field(ge=0, le=300)] = 0
    parallelization_factor: Annotated[int, Field(ge=1, le=10)] = 1
    maximum_retry_attempts: Annotated[int, Field(ge=-1, le=10000)] = -1
    bisect_batch_on_function_error: bool = False
    maximum_record_age_seconds: Annotated[int, Field(ge=-1, le=604800)] = -1
    starting_position: StartingPosition = StartingPosition.TRIM_HORIZON
    memory_mb: MemoryMb = 512
    timeout_seconds: TimeoutSeconds = 60
    reserved_concurrency: ReservedConcurrency = -1

    @model_validator(mode="after")
    def _record_age_is_minus_one_or_at_least_60(self) -> IngestConfig:
        age = self.maximum_record_age_seconds
        if age != -1 and age < 60:
            raise ValueError(
                f"maximum_record_age_seconds must be -1 (forever) or 60..604800, got {age}"
            )
        return self


class ApiConfig(_Strict):
    """The read API Lambda and its HTTP API route throttling."""

    memory_mb: MemoryMb = 256
    timeout_seconds: Annotated[int, Field(ge=1, le=30)] = 10
    reserved_concurrency: ReservedConcurrency = -1
    throttling_rate_limit: Annotated[float, Field(gt=0, le=limits.APIGW_ACCOUNT_RATE)] = 1000
    throttling_burst_limit: Annotated[int, Field(ge=0, le=limits.APIGW_ACCOUNT_BURST)] = 500
    # NONE (an open API) only in local environments (see EnvironmentConfig), so not the default.
    auth_type: Literal["NONE", "AWS_IAM", "JWT"] = "AWS_IAM"
    jwt_issuer: str = ""
    jwt_audience: list[str] = []

    @model_validator(mode="after")
    def _jwt_needs_issuer_and_audience(self) -> ApiConfig:
        if self.auth_type == "JWT" and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(
                "api.auth_type JWT needs api.jwt_issuer (the token issuer's URL) and at least "
                "one api.jwt_audience"
            )
        return self


class QueuesConfig(_Strict):
    dead_letter_name: Name
    on_failure_name: Name
    message_retention_seconds: Annotated[int, Field(ge=60, le=1209600)] = 1209600


class MonitoringConfig(_Strict):
    new_relic_enabled: bool = False
    new_relic_account_id: Annotated[str, Field(pattern=r"^[0-9]*$")] = ""
    new_relic_region: Literal["US", "EU"] = "US"
    new_relic_license_key_secret_name: str = ""
    # New Relic's Lambda layer for the runtime and architecture (a versioned layer ARN).
    new_relic_layer_arn: Annotated[
        str, Field(pattern=r"^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+)?$")
    ] = ""
    lambda_instrumentation: bool = False
    log_retention_days: Annotated[int, Field(ge=1, le=3653)] = 14

    @model_validator(mode="after")
    def _new_relic_has_what_the_forwarder_needs(self) -> MonitoringConfig:
        # On AWS the forwarder has no payloads file to fall back on: without the secret every
        # cold start would fail, so refuse the file instead.
        if self.new_relic_enabled:
            missing = [
                name
                for name in ("new_relic_account_id", "new_relic_license_key_secret_name")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    "new_relic_enabled needs " + ", ".join(f"monitoring.{m}" for m in missing)
                )
        return self

    @model_validator(mode="after")
    def _instrumentation_has_what_the_layer_needs(self) -> MonitoringConfig:
        if self.lambda_instrumentation:
            missing = [
                name
                for name in (
                    "new_relic_layer_arn",
                    "new_relic_account_id",
                    "new_relic_license_key_secret_name",
                )
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    "lambda_instrumentation needs " + ", ".join(f"monitoring.{m}" for m in missing)
                )
        return self


class AuditConfig(_Strict):
    """How the loss audit finds a run's records in the table (bring your own table).

    The table's partition key holds each record's id as `key_format` writes it ("{id}", or
    e.g. "ORDER#{id}"); the local stack creates its table with that key. `enabled: false`
    turns the audit off and the report says "not audited".
    """

    enabled: bool = True
    key_attribute: str = "event_id"
    key_format: str = "{id}"

    @model_validator(mode="after")
    def _names_a_key(self) -> AuditConfig:
        if not self.key_attribute.strip():
            raise ValueError(
                "audit.key_attribute: name the table's partition key (the attribute that holds"
                " each record's id), or set audit.enabled to false"
            )
        if self.key_format.count("{id}") != 1 or self.key_format.replace("{id}", "").count("{"):
            raise ValueError(
                f'audit.key_format must hold {{id}} once, e.g. "{{id}}" or "ORDER#{{id}}",'
                f" got {self.key_format!r}"
            )
        return self

    def key_of(self, record_id: str) -> str:
        return self.key_format.replace("{id}", record_id)

    def id_of(self, key: str) -> str | None:
        head, _, tail = self.key_format.partition("{id}")
        if not (key.startswith(head) and key.endswith(tail)) or len(key) < len(head + tail):
            return None
        return key[len(head) : len(key) - len(tail)]


class EnvironmentConfig(_Strict):
    environment: Name
    aws_region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
    lambda_architecture: Literal["arm64", "x86_64"] = "arm64"
    tags: dict[str, str] = {}
    stream: StreamConfig
    table: TableConfig
    ingest: IngestConfig
    api: ApiConfig
    queues: QueuesConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    audit: AuditConfig = AuditConfig()
    loadgen: LoadgenConfig = LoadgenConfig()

    @model_validator(mode="after")
    def _record_age_leaves_time_to_replay(self) -> EnvironmentConfig:
        # A batch given up for age goes to the on-failure queue as pointers into the stream:
        # `make replay` can read it back only while the stream still holds its records.
        age = self.ingest.maximum_record_age_seconds
        bound = self.stream.retention_hours * 3600 // 2
        if age == -1 or age > bound:
            raise ValueError(
                f"ingest.maximum_record_age_seconds must be 60..{bound} (half of "
                f"stream.retention_hours, so that a failed batch can still be replayed from "
                f"the stream), got {age}"
            )
        return self

    @model_validator(mode="after")
    def _open_api_only_locally(self) -> EnvironmentConfig:
        if self.api.auth_type == "NONE" and not is_local_environment(self.environment):
            raise ValueError(
                f"api.auth_type NONE (an API anyone can read) is allowed only in local "
                f"environments (named local or local-*), not in {self.environment!r}: "
                "use AWS_IAM or JWT"
            )
        return self


def is_local_environment(name: str) -> bool:
    """Environments named `local` or `local-*` are for the local stack (Terraform agrees)."""
    return name == "local" or name.startswith("local-")


class EnvironmentConfigError(ValueError):
    """An environment file that cannot be used; the message names each bad field."""


def environment_path(name_or_path: str | Path) -> Path:
    """`local` -> terraform/environments/local.tfvars.json; a path is returned as is."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.exists():
        return candidate
    return ENVIRONMENTS_DIR / f"{name_or_path}.tfvars.json"


def available_environments() -> list[str]:
    return sorted(
        p.name.removesuffix(".tfvars.json") for p in ENVIRONMENTS_DIR.glob("*.tfvars.json")
    )


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(file)"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown field (check the spelling against terraform/variables.tf)"
    if error["type"] == "missing":
        return f"{field}: required field is missing"
    got = error.get("input")
    got_text = f" (got {json.dumps(got)})" if not isinstance(got, dict) else ""
    message = error["msg"].removeprefix("Value error, ")
    return f"{field}: {message}{got_text}"


def parse_environment(data: Any, source: str = "<environment>") -> EnvironmentConfig:
    try:
        return EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
        raise EnvironmentConfigError(
            f"{source} is not a valid environment file:\n{lines}"
        ) from None


def load_environment(name_or_path: str | Path) -> EnvironmentConfig:
    """Read and validate one environment file; raise EnvironmentConfigError naming the field."""
    path = environment_path(name_or_path)
    if not path.exists():
        known = ", ".join(available_environments()) or "none"
        raise EnvironmentConfigError(
            f"environment file {path} does not exist (known environments: {known})"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EnvironmentConfigError(
            f"{path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return parse_environment(data, source=str(path))


def to_tfvars(config: EnvironmentConfig) -> dict[str, Any]:
    """The config as the JSON a `-var-file` takes (enums as strings, every field present)."""
    return config.model_dump(mode="json")

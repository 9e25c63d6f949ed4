"""Where the load goes: the local stack (started and stopped here) or a deployed stack.

TARGET=local starts the local stack on free ports with its own state directory, so a stack
someone already runs is left alone, and stops exactly what it started. TARGET=aws reads
names and the API URL from `terraform -chdir=terraform output -json`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from loadtests.runconfig import Endpoints
from pipeline.config import EnvironmentConfig, load_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
TERRAFORM_DIR = REPO_ROOT / "terraform"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# JWT-protected APIs: the bearer token the load tests send is read from this variable.
API_TOKEN_ENV = "REDLINE_API_TOKEN"  # noqa: S105 - a variable name, not a secret
LOCAL_JWT_TTL_S = 6 * 3600

# terraform output name -> Endpoints field (the first name present wins).
TERRAFORM_OUTPUTS: dict[str, tuple[str, ...]] = {
    "stream_name": ("stream_name", "kinesis_stream_name"),
    "table_name": ("table_name", "dynamodb_table_name"),
    "api_url": ("api_url", "api_endpoint", "http_api_url"),
    "dead_letter_queue_url": ("dead_letter_queue_url", "dlq_url"),
    "ingest_function": ("ingest_function_name",),
    "api_function": ("api_function_name",),
    "api_id": ("api_id",),
}
REQUIRED_OUTPUTS = ("stream_name", "table_name", "api_url")


class TargetError(RuntimeError):
    """The target cannot be used; the message is the one line users see (exit 2)."""


@dataclass
class Target:
    name: str  # local | aws
    endpoints: Endpoints
    environment: EnvironmentConfig
    limits_emulated: bool
    stop: Callable[[], None] = lambda: None
    state_dir: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_endpoints(environment: EnvironmentConfig, stack: dict[str, Any]) -> Endpoints:
    env = environment.environment
    aws_url = stack["aws_endpoint_url"]
    queue_name = environment.queues.dead_letter_name
    return Endpoints(
        region=environment.aws_region,
        stream_name=environment.stream.name,
        table_name=environment.table.name,
        api_url=stack["api_url"].rstrip("/"),
        aws_endpoint_url=aws_url,
        ingest_function=f"redline-ingest-{env}",
        api_function=f"redline-api-{env}",
        dead_letter_queue_url=f"{aws_url.rstrip('/')}/000000000000/{queue_name}",
        dead_letter_queue_name=queue_name,
        api_id=str(stack.get("api_id", "")),
        type_index_name=environment.table.type_index.name,
        environment=env,
        api_auth=environment.api.auth_type,
    )


def start_local(
    environment_name: str,
    state_dir: Path,
    gateway_args: list[str] | None = None,
    handlers: dict[str, str] | None = None,
) -> Target:
    """Start the local stack on free ports in `state_dir`; the Target's stop() stops it."""
    environment = load_environment(environment_name)
    try:
        from pipeline.local.aws.auth import local_credentials
        from pipeline.local.guard import TOKEN_ENV
        from pipeline.local.stack import StackError, start_stack, stop_stack
    except ImportError as exc:
        raise TargetError(
            f"the local stack is not available in this checkout ({exc}); use TARGET=aws"
        ) from None
    # The stack's own credentials, never real ones: the gateway checks SigV4 signatures.
    os.environ.update(local_credentials())
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        handle = start_stack(
            env=environment_name,
            aws_port=0,
            api_port=0,
            lambda_port=0,
            state_dir=state_dir,
            gateway_args=gateway_args,
            handlers=handlers or None,
        )
    except StackError as exc:
        raise TargetError(f"the local stack did not start: {exc}") from None
    info = dict(vars(handle))
    # The Locust processes' health checks call the stack's control routes (never logged).
    os.environ[TOKEN_ENV] = handle.token
    if environment.api.auth_type == "JWT" and not os.environ.get(API_TOKEN_ENV):
        from pipeline.local.api_auth import mint_local_token

        try:  # the Locust processes inherit it; a run is bounded well under its lifetime
            os.environ[API_TOKEN_ENV] = mint_local_token(
                handle.lambda_endpoint_url, handle.token, ttl_seconds=LOCAL_JWT_TTL_S
            )
        except (OSError, RuntimeError) as exc:
            stop_stack(handle)
            raise TargetError(f"the local JWT issuer gave no token: {exc}") from None

    def stop() -> None:
        if not info.get("already_running"):
            stop_stack(handle)

    try:
        endpoints = local_endpoints(environment, info)
        endpoints = replace(endpoints, dead_letter_queue_url=_queue_url(endpoints))
    except Exception:
        stop()
        raise
    return Target("local", endpoints, environment, True, stop, state_dir, info)


def _queue_url(endpoints: Endpoints) -> str:
    sqs = boto3.client("sqs", region_name=endpoints.region, endpoint_url=endpoints.aws_endpoint_url)
    return sqs.get_queue_url(QueueName=endpoints.dead_letter_queue_name)["QueueUrl"]


def terraform_outputs(environment: str, terraform_dir: Path | None = None) -> dict[str, Any]:
    """`terraform/<env>.outputs.json` (written by `make deploy` / `make outputs`), else
    `terraform -chdir=terraform output -json` of the current workspace."""
    terraform_dir = terraform_dir or TERRAFORM_DIR
    saved = terraform_dir / f"{environment}.outputs.json"
    if saved.is_file():
        try:
            return json.loads(saved.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError:
            raise TargetError(
                f"{saved} is not JSON: run `make outputs ENV={environment}`"
            ) from None
    if shutil.which("terraform") is None:
        raise TargetError("TARGET=aws needs terraform on PATH to read the deployed names")
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv
            ["terraform", f"-chdir={terraform_dir}", "output", "-json"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TargetError("`terraform output -json` did not answer within 120 s") from None
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise TargetError(
            f"cannot read terraform outputs (run `make outputs ENV={environment}` first): "
            + (detail[-1] if detail else f"exit {completed.returncode}")
        )
    try:
        return json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        raise TargetError("`terraform output -json` did not print JSON") from None


def aws_endpoints(outputs: dict[str, Any], environment: EnvironmentConfig) -> Endpoints:
    values: dict[str, str] = {}
    for field_name, names in TERRAFORM_OUTPUTS.items():
        for name in names:
            if name in outputs:
                entry = outputs[name]
                values[field_name] = str(entry["value"] if isinstance(entry, dict) else entry)
                break
    missing = [f for f in REQUIRED_OUTPUTS if not values.get(f)]
    if missing:
        wanted = ", ".join(TERRAFORM_OUTPUTS[f][0] for f in missing)
        raise TargetError(
            f"terraform outputs are missing {wanted} (run `make deploy ENV="
            f"{environment.environment}` or `make outputs ENV={environment.environment}` first)"
        )
    env = environment.environment
    return Endpoints(
        region=environment.aws_region,
        stream_name=values["stream_name"],
        table_name=values["table_name"],
        api_url=values["api_url"].rstrip("/"),
        aws_endpoint_url=None,
        ingest_function=values.get("ingest_function", f"redline-ingest-{env}"),
        api_function=values.get("api_function", f"redline-api-{env}"),
        dead_letter_queue_url=values.get("dead_letter_queue_url", ""),
        dead_letter_queue_name=environment.queues.dead_letter_name,
        api_id=values.get("api_id", ""),
        type_index_name=environment.table.type_index.name,
        environment=env,
        api_auth=environment.api.auth_type,
    )


def check_reachable(endpoints: Endpoints, local: bool) -> int:
    """Both the stream and the API answer, and local traffic only goes to local addresses.

    The API probe carries no credentials: an API with AWS_IAM or JWT auth must refuse it (the
    run then measures the authorized path only). Returns the probe's HTTP status."""
    if local:
        for url in (endpoints.aws_endpoint_url or "", endpoints.api_url):
            host = urllib.parse.urlsplit(url).hostname
            if host not in LOCAL_HOSTS:
                raise TargetError(f"TARGET=local must point at 127.0.0.1, got {url}")
    kinesis = boto3.client(
        "kinesis",
        region_name=endpoints.region,
        endpoint_url=endpoints.aws_endpoint_url,
        config=Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 2}),
    )
    try:
        kinesis.describe_stream_summary(StreamName=endpoints.stream_name)
    except Exception as exc:
        where = endpoints.aws_endpoint_url or f"AWS {endpoints.region}"
        raise TargetError(
            f"target unreachable: stream {endpoints.stream_name} at {where}: {_short(exc)}"
        ) from None
    if not endpoints.api_url:  # a stack without a read API: ingest only
        return
    url = f"{endpoints.api_url}/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http(s) only  # nosec B310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise TargetError(f"target unreachable: {url} answered HTTP {exc.code}") from None
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise TargetError(f"target unreachable: {url}: {_short(exc)}") from None
    if endpoints.api_auth != "NONE" and status < 400:
        raise TargetError(
            f"the API's auth_type is {endpoints.api_auth} but {url} answered a request without "
            f"credentials with HTTP {status}: its authorization is not enforced"
        )
    return status


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

"""Fixtures for the local AWS gateway: one limited gateway per session (burst 1 s so DynamoDB
buckets drain fast), a factory for gateways with other settings, boto3 clients with retries off."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from pipeline.local.aws import GatewayHandle, start_gateway

# Retries off: botocore retries throttles silently, which would hide exactly what we test.
NO_RETRIES = Config(retries={"total_max_attempts": 1}, max_pool_connections=32)
TEST_BURST_SECONDS = 1.0


def client_for(gateway: GatewayHandle, service: str):
    return boto3.client(
        service,
        endpoint_url=gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=NO_RETRIES,
    )


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayHandle]:
    handle = start_gateway(
        port=0,
        limits=True,
        burst_seconds=TEST_BURST_SECONDS,
        state_dir=tmp_path_factory.mktemp("gateway"),
    )
    yield handle
    handle.stop()


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[Callable[..., GatewayHandle]]:
    started: list[GatewayHandle] = []

    def start(**kwargs) -> GatewayHandle:
        kwargs.setdefault("state_dir", tmp_path / f"gw{len(started)}")
        kwargs.setdefault("port", 0)
        handle = start_gateway(**kwargs)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def aws(gateway: GatewayHandle) -> Callable[[str], object]:
    return lambda service: client_for(gateway, service)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for_next_second(margin: float = 0.02) -> None:
    now = time.time()
    time.sleep(1 - (now % 1) + margin)


def per_second(cloudwatch, namespace: str, name: str, dimensions: dict[str, str], since: float):
    """{second: Sum} of a metric at 1-second resolution since `since` (epoch seconds)."""
    reply = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    },
                    "Period": 1,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=datetime.fromtimestamp(since - 1, UTC),
        EndTime=datetime.now(UTC) + timedelta(seconds=2),
        ScanBy="TimestampAscending",
    )
    result = reply["MetricDataResults"][0]
    return {
        int(ts.timestamp()): value
        for ts, value in zip(result["Timestamps"], result["Values"], strict=True)
    }

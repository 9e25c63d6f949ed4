"""The AWS SDK for JavaScript v3 with default settings against the local gateway: Kinesis
over HTTP/2 (its default handler), DynamoDB over HTTP/1.1, each through put, throttle and
read-back. The script is tests/sdk-js/run.mjs; `make sdk-js` installs its pinned packages."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from pipeline.local.aws.engines import find_node

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk-js"
pytestmark = pytest.mark.integration


def test_js_sdk_with_default_settings_puts_is_throttled_and_reads_back(gateway):
    assert (SDK_DIR / "node_modules" / "@aws-sdk" / "client-kinesis").is_dir(), (
        "the JavaScript SDK is not installed: run `make sdk-js`"
    )
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": gateway.endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
    }
    process = subprocess.run(
        [find_node(), "run.mjs", uuid.uuid4().hex[:10]],
        cwd=SDK_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert process.stdout.strip(), process.stderr
    seen = json.loads(process.stdout.strip().splitlines()[-1])
    assert process.returncode == 0, seen

    kinesis = seen["kinesis"]
    assert kinesis["handler"] == "NodeHttp2Handler"  # the SDK's default, unchanged
    # 3,000 records at once on one shard: the shard's 1,000 records/s, per-record throttles
    assert kinesis["accepted"] + kinesis["throttled"] == kinesis["sent"] == 3000
    assert 0 < kinesis["accepted"] <= 2000 and kinesis["throttled"] >= 1000
    assert kinesis["error_codes"] == ["ProvisionedThroughputExceededException"]
    assert kinesis["read_back_matches"] and kinesis["read_back"] == kinesis["accepted"]

    dynamodb = seen["dynamodb"]
    assert dynamodb["handler"] == "NodeHttpHandler"
    assert dynamodb["written"] + dynamodb["unprocessed"] == dynamodb["sent"] == 100
    assert dynamodb["written"] > 0 and dynamodb["unprocessed"] > 0  # 5 WCU: UnprocessedItems
    assert dynamodb["read_back_of_first_5"] == 5

"""Redline's ingest handler behind a fixed sleep per batch: the `concurrency` case of
bench/bench_loadtests.py (`--handler ingest=bench.slow_ingest.lambda_handler`).

At a reserved concurrency of 1 on one shard, one batch runs at a time, so the consumer can
store at most BATCH_SIZE / SLEEP_S records/s (less by the handler's own work).
"""

from __future__ import annotations

import time
from typing import Any

from pipeline.ingest.handler import lambda_handler as ingest

SLEEP_S = 0.5  # per batch, before the real handler runs


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(SLEEP_S)
    return ingest(event, context)

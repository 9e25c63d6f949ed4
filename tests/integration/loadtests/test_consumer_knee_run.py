"""A consumer-bound capacity search through the real local stack: the knee is what the consumer
stores, seen in the end-to-end probes' trend, not the rate at which its backlog reaches 8 s.

The ingest Lambda at a reserved concurrency of 1, batches of 100, behind a handler that sleeps
0.5 s a batch (bench/slow_ingest.py): it stores at most 200 records/s, one shard takes 1,000.
A probe 45% over that for 7 s leaves a backlog about 3 s old, under the 8 s produced->readable
limit, so only the latency's climb shows the consumer falling behind.
"""

from __future__ import annotations

import pytest

from reports import runfolder as rf
from tests.integration.loadtests.capacity_runs import environment_file, run_capacity

CONSUMER_MAX_RPS = 100 / 0.5  # a batch of 100 per 0.5 s sleep, before the handler's own work
pytestmark = [pytest.mark.integration, pytest.mark.long]  # make test-long, make bench


@pytest.mark.timeout(600)
def test_a_consumer_bound_search_finds_what_the_consumer_stores(tmp_path):
    slow_consumer = environment_file(
        tmp_path,
        "slow-consumer",
        stream={"shard_count": 1},
        ingest={"reserved_concurrency": 1, "batch_size": 100},
    )
    output, run_dir, summary = run_capacity(
        tmp_path,
        slow_consumer,
        *("--handler", "ingest=bench.slow_ingest.lambda_handler"),
        *("--start-rate", "100", "--duration", "60"),
        timeout_s=540,
    )
    knee = summary["knee_rps"]
    # never above what the consumer can store (a busy machine's consumer stores less)
    assert knee is not None and knee <= CONSUMER_MAX_RPS * 1.05, output
    steps = summary["steps"]
    grew = [s for s in steps if "produced->readable grew" in (s["reasons"] or "")]
    assert grew, output  # the trend, not only the 8 s limit, failed the probes above it
    assert all(s["target_rate"] > knee for s in grew)
    assert summary["bottleneck"]["resource"].lower() == "ingest consumer throughput", output
    assert summary["lost"] == 0
    with (run_dir / rf.STEPS_CSV).open(encoding="utf-8") as handle:
        assert "e2e_growth_ms_per_s" in handle.readline()

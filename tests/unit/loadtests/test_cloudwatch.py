from loadtests.cloudwatch import CONSUMER, bottleneck_of_steps, first_throttled, queries
from loadtests.runconfig import Endpoints


def row(ts, namespace, metric, value, dims="X=y"):
    return {
        "timestamp": ts,
        "period_s": 1,
        "namespace": namespace,
        "metric": metric,
        "dimensions": dims,
        "stat": "Sum",
        "value": value,
    }


def step(n, rate, sustained, reasons="", started=1000.0, **extra):
    return {
        "step": n,
        "target_rate": rate,
        "sustained": sustained,
        "reasons": reasons,
        "started_at": started,
        "duration_s": 5.0,
        **extra,
    }


def test_the_table_is_named_when_it_throttled_in_the_first_failed_probe():
    steps = [
        step(1, 100, True, started=990),
        step(2, 150, False, "produced->readable p95 9000 ms > 8000 ms", started=1000),
    ]
    rows = [
        row(992, "AWS/Kinesis", "WriteProvisionedThroughputExceeded", 0),
        row(1002, "AWS/DynamoDB", "WriteThrottleEvents", 7, "TableName=t"),
        row(1003, "AWS/DynamoDB", "WriteThrottleEvents", 5, "TableName=t"),
    ]
    found = bottleneck_of_steps(steps, rows)
    assert found["resource"] == "dynamodb table writes"
    assert found["value"] == 12 and found["rate"] == 150
    assert found["evidence"].startswith("WriteThrottleEvents 12 in the run window, first at")


def test_a_consumer_falling_behind_without_throttles_is_named_as_such():
    steps = [step(1, 900, False, "produced->readable p95 9339 ms > 8000 ms", e2e_p95_ms=9339)]
    found = bottleneck_of_steps(steps, [row(1001, "AWS/Kinesis", "IncomingRecords", 900)])
    assert found["resource"] == CONSUMER
    assert "nothing throttled" in found["evidence"]


def test_a_consumer_whose_backlog_grew_is_named_with_the_growth_as_its_figure():
    reasons = (
        "produced->readable grew 188 ms a second (+-26, 8 probes): the pipeline stored about"
        " 19% less than it was given"
    )
    steps = [step(1, 244, False, reasons, e2e_p95_ms=3887, e2e_growth_ms_per_s=188.0)]
    found = bottleneck_of_steps(steps, [])
    assert found["resource"] == CONSUMER
    assert found["metric"] == "e2e.probe produced->readable growth (ms a second)"
    assert found["value"] == 188.0
    assert "stored about 19% less" in found["evidence"]


def test_shard_throttles_seen_by_the_producer_name_the_shards():
    steps = [step(1, 1100, False, "throttled 98 records/s", throttled_rate=98)]
    assert bottleneck_of_steps(steps, [])["resource"] == "kinesis shard writes"


def test_every_sustained_probe_means_no_bottleneck():
    assert bottleneck_of_steps([step(1, 100, True)], []) is None


def test_first_throttled_takes_the_earliest_signal():
    rows = [
        row(1005, "AWS/Kinesis", "WriteProvisionedThroughputExceeded", 3),
        row(1002, "AWS/Lambda", "Throttles", 1),
    ]
    assert first_throttled(rows, {}, {})["resource"] == "lambda concurrency"
    assert first_throttled([], {}, {1001: 4})["resource"] == "api throttle"
    assert first_throttled([], {}, {}) is None


def test_queries_use_the_metric_list_and_the_run_dimensions():
    endpoints = Endpoints(
        region="us-east-1",
        stream_name="s",
        table_name="t",
        api_url="http://127.0.0.1:1",
        ingest_function="redline-ingest-local",
        api_function="redline-api-local",
    )
    wanted = {(q.metric.namespace, q.metric.name, q.dimensions, q.stat) for q in queries(endpoints)}
    assert ("AWS/Kinesis", "IncomingRecords", (("StreamName", "s"),), "Sum") in wanted
    assert ("AWS/DynamoDB", "WriteThrottleEvents", (("TableName", "t"),), "Sum") in wanted
    assert (
        "AWS/Lambda",
        "IteratorAge",
        (("FunctionName", "redline-ingest-local"),),
        "Maximum",
    ) in wanted
    assert (
        "Redline",
        "RecordsStored",
        (("service", "ingest"), ("environment", "local")),
        "Sum",
    ) in wanted


def test_a_table_spending_more_than_provisioned_is_not_sustained_before_it_throttles():
    from loadtests.cloudwatch import TABLE_OVERSPEND, summarize_window

    def cap(ts, metric, stat, value):
        return {**row(ts, "AWS/DynamoDB", metric, value, "TableName=t"), "stat": stat}

    def stored(ts, value):
        return {**row(ts, "Redline", "RecordsStored", value, "service=ingest"), "stat": "Sum"}

    # 1.1 WCU a record: 234 records/s need 257 WCU/s, even in a window where the consumer
    # stored fewer records than the rate (batching) and nothing was throttled yet (burst).
    window = [cap(t, "ConsumedWriteCapacityUnits", "Sum", 110) for t in range(1000, 1005)]
    window += [stored(t, 100) for t in range(1000, 1005)]
    window += [cap(t, "ProvisionedWriteCapacityUnits", "Average", 200) for t in range(1000, 1005)]
    throttles, _ = summarize_window(window, 234)
    assert throttles == {f"{TABLE_OVERSPEND} (provisioned 200)": 257.4}
    assert summarize_window(window, 180) == ({}, None)
    steps = [step(1, 234, False, f"{TABLE_OVERSPEND} (provisioned 200) 234")]
    assert bottleneck_of_steps(steps, [])["resource"] == "dynamodb table writes"


def test_the_api_polled_only_by_probes_is_not_the_bottleneck_of_an_ingest_run():
    steps = [step(1, 1400, False, "produced->readable p95 9000 ms > 8000 ms")]
    rows = [row(1001, "AWS/Lambda", "Throttles", 40, "FunctionName=redline-api-local")]
    found = bottleneck_of_steps(steps, rows, frozenset({"FunctionName=redline-api-local"}))
    assert found["resource"] == CONSUMER
    assert bottleneck_of_steps(steps, rows)["resource"] == "lambda concurrency"


def test_a_table_bottleneck_nothing_throttled_is_labelled_a_prediction():
    from loadtests.cli import labelled
    from loadtests.cloudwatch import TABLE_OVERSPEND

    steps = [step(1, 234, False, f"{TABLE_OVERSPEND} (provisioned 200) 234")]
    predicted = labelled(bottleneck_of_steps(steps, []))
    assert predicted["observed"] is False
    assert predicted["basis"].startswith("prediction from configuration")
    rows = [row(1001, "AWS/DynamoDB", "WriteThrottleEvents", 12, "TableName=t")]
    observed = labelled(bottleneck_of_steps(steps, rows))
    assert observed["observed"] is True and "basis" not in observed

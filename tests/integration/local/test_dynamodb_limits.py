"""DynamoDB through the gateway: token buckets per table and GSI (burst 1 s in these tests),
capacity units as AWS computes them, BatchWriteItem item by item, per-partition caps,
on-demand rules."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline import aws_limits as L
from tests.integration.local.conftest import TEST_BURST_SECONDS, per_second, unique

pytestmark = pytest.mark.integration

DEADLINE_S = 30
THROTTLE = "ProvisionedThroughputExceededException"


def create_table(dynamodb, rcu: int = 5, wcu: int = 5, gsi_wcu: int | None = None, on_demand=False):
    name = unique("table")
    attributes = [{"AttributeName": "event_id", "AttributeType": "S"}]
    kwargs = {}
    if gsi_wcu is not None:
        attributes += [
            {"AttributeName": "type", "AttributeType": "S"},
            {"AttributeName": "produced_at", "AttributeType": "N"},
        ]
        index = {
            "IndexName": "by_type",
            "KeySchema": [
                {"AttributeName": "type", "KeyType": "HASH"},
                {"AttributeName": "produced_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        if not on_demand:
            index["ProvisionedThroughput"] = {
                "ReadCapacityUnits": rcu,
                "WriteCapacityUnits": gsi_wcu,
            }
        kwargs["GlobalSecondaryIndexes"] = [index]
    if on_demand:
        kwargs["BillingMode"] = "PAY_PER_REQUEST"
    else:
        kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        AttributeDefinitions=attributes,
        **kwargs,
    )
    deadline = time.monotonic() + DEADLINE_S
    while dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return name


def item(event_id: str, payload_bytes: int = 100, with_type: bool = False) -> dict:
    attributes = {"event_id": {"S": event_id}, "payload": {"S": "p" * payload_bytes}}
    if with_type:
        attributes |= {"type": {"S": "click"}, "produced_at": {"N": "1700000000.5"}}
    return attributes


def hammer(call, seconds: float, threads: int = 3) -> tuple[int, int, float]:
    """Call from several threads for `seconds`; returns (accepted, throttled, elapsed)."""
    accepted = throttled = 0
    lock = threading.Lock()
    started = time.monotonic()
    stop = started + seconds

    def loop(worker: int) -> None:
        nonlocal accepted, throttled
        n = 0
        while time.monotonic() < stop:
            n += 1
            try:
                call(f"{worker}-{n}")
                with lock:
                    accepted += 1
            except Exception as exc:  # only throttles are expected
                assert THROTTLE in str(exc), exc
                with lock:
                    throttled += 1

    workers = [threading.Thread(target=loop, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + DEADLINE_S)
    return accepted, throttled, time.monotonic() - started


def test_writes_are_capped_by_the_table_wcu_token_bucket(aws):
    dynamodb = aws("dynamodb")
    wcu = 50
    name = create_table(dynamodb, wcu=wcu)
    accepted, throttled, elapsed = hammer(
        lambda k: dynamodb.put_item(TableName=name, Item=item(k)), seconds=4
    )
    expected = wcu * TEST_BURST_SECONDS + wcu * elapsed  # a full bucket, then the refill
    assert throttled > accepted  # the offered load was well over the limit
    assert abs(accepted - expected) <= 0.05 * expected + 3, (accepted, expected)


def test_eventually_consistent_reads_cost_half_a_unit(aws):
    dynamodb = aws("dynamodb")
    rcu = 10
    name = create_table(dynamodb, rcu=rcu)
    dynamodb.put_item(TableName=name, Item=item("r"))
    time.sleep(TEST_BURST_SECONDS + 0.1)  # the put spent nothing from reads; let it be full
    accepted, throttled, elapsed = hammer(
        lambda _k: dynamodb.get_item(TableName=name, Key={"event_id": {"S": "r"}}), seconds=4
    )
    expected = 2 * (rcu * TEST_BURST_SECONDS + rcu * elapsed)
    assert throttled > accepted
    assert abs(accepted - expected) <= 0.05 * expected + 3, (accepted, expected)


def test_consumed_capacity_is_computed_as_aws_does(aws):
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, rcu=1000, wcu=1000, gsi_wcu=1000)
    # 2.5 KB item carrying the GSI keys: 3 WCU on the table and 3 on the GSI.
    put = dynamodb.put_item(
        TableName=name, Item=item("w", 2500, with_type=True), ReturnConsumedCapacity="INDEXES"
    )
    assert put["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 6.0,
        "Table": {"CapacityUnits": 3.0},
        "GlobalSecondaryIndexes": {"by_type": {"CapacityUnits": 3.0}},
    }
    assert "Attributes" not in put  # the gateway asked for ALL_OLD for itself, not for you
    plain = dynamodb.put_item(TableName=name, Item=item("plain"))
    assert "ConsumedCapacity" not in plain and "Attributes" not in plain
    dynamodb.put_item(TableName=name, Item=item("big", 9000))
    strong = dynamodb.get_item(
        TableName=name,
        Key={"event_id": {"S": "big"}},
        ConsistentRead=True,
        ReturnConsumedCapacity="TOTAL",
    )
    eventual = dynamodb.get_item(
        TableName=name, Key={"event_id": {"S": "big"}}, ReturnConsumedCapacity="TOTAL"
    )
    missing = dynamodb.get_item(
        TableName=name, Key={"event_id": {"S": "none"}}, ReturnConsumedCapacity="TOTAL"
    )
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 3.0  # 9 KB -> 3 x 4 KB
    assert eventual["ConsumedCapacity"]["CapacityUnits"] == 1.5
    assert missing["ConsumedCapacity"]["CapacityUnits"] == 0.5
    # Query rounds the sum of the items once: 3 x 1.5 KB = 4.5 KB -> 2 units strongly consistent.
    for n in range(3):
        dynamodb.put_item(
            TableName=name,
            Item=item(f"q{n}", 1500, with_type=True)
            | {"event_id": {"S": f"q{n}"}, "produced_at": {"N": str(n)}, "type": {"S": "query"}},
        )
    query = dynamodb.query(
        TableName=name,
        IndexName="by_type",
        KeyConditionExpression="#t = :t",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":t": {"S": "query"}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert query["Count"] == 3
    assert query["ConsumedCapacity"]["CapacityUnits"] == 1.0  # GSI reads are eventually consistent


def test_a_gsi_short_of_capacity_throttles_the_base_table_write(aws):
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=1000, gsi_wcu=2)
    outcomes = []
    for n in range(10):
        try:
            dynamodb.put_item(TableName=name, Item=item(f"g{n}", with_type=True))
            outcomes.append("ok")
        except dynamodb.exceptions.ProvisionedThroughputExceededException as exc:
            outcomes.append(exc.response["Error"]["Message"])
    assert outcomes.count("ok") <= 4
    assert (
        "The level of configured provisioned throughput for one or more global secondary indexes "
        "of the table was exceeded. Consider increasing your provisioning level for the "
        "under-provisioned global secondary indexes with the UpdateTable API"
    ) in outcomes
    # Items that do not carry the index keys do not touch the GSI: the table takes them.
    for n in range(10):
        dynamodb.put_item(TableName=name, Item=item(f"plain{n}"))
    stored = {
        i["event_id"]["S"] for i in dynamodb.scan(TableName=name, ConsistentRead=True)["Items"]
    }
    assert {f"g{n}" for n, o in enumerate(outcomes) if o != "ok"}.isdisjoint(stored)


def test_batch_write_returns_unprocessed_items_in_order_and_raises_only_when_nothing_fits(aws):
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=10)
    requests = [{"PutRequest": {"Item": item(f"b{n}", 4000)}} for n in range(25)]  # 4 WCU each
    first = dynamodb.batch_write_item(RequestItems={name: requests})
    unprocessed = first["UnprocessedItems"][name]
    processed = 25 - len(unprocessed)
    assert 1 <= processed <= 4  # 10 tokens: items are admitted while the balance is positive
    assert unprocessed == requests[processed:]
    with pytest.raises(dynamodb.exceptions.ProvisionedThroughputExceededException) as caught:
        for _ in range(10):
            dynamodb.batch_write_item(RequestItems={name: unprocessed})
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Message"].startswith(
        "The level of configured provisioned throughput for the table was exceeded."
    )


def test_one_partition_key_is_capped_at_1000_wcu_per_second(aws):
    dynamodb, cloudwatch = aws("dynamodb"), aws("cloudwatch")
    name = create_table(dynamodb, wcu=5000)
    since = time.time()
    hot = item("hot", 100 * 1024)  # 101 WCU a put
    _accepted, throttled, _ = hammer(
        lambda _k: dynamodb.put_item(TableName=name, Item=hot), seconds=3.5, threads=2
    )
    consumed = per_second(
        cloudwatch, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": name}, since
    )
    assert throttled > 0
    assert max(consumed.values()) <= L.DYNAMODB_PARTITION_MAX_WCU
    assert max(consumed.values()) == 9 * 101  # nine fit in 1,000, the tenth does not


def test_on_demand_table_serves_4000_writes_then_up_to_twice_the_previous_peak(aws):
    dynamodb, cloudwatch = aws("dynamodb"), aws("cloudwatch")
    name = create_table(dynamodb, on_demand=True)
    since = time.time()
    batch_no = iter(range(10**6))

    def write(_k: str) -> None:
        n = next(batch_no)
        reply = dynamodb.batch_write_item(
            RequestItems={
                name: [{"PutRequest": {"Item": item(f"{n}-{i}", 100_000)}} for i in range(25)]
            }
        )
        if reply["UnprocessedItems"]:
            raise RuntimeError(THROTTLE)

    _accepted, throttled, _ = hammer(write, seconds=3, threads=3)
    consumed = per_second(
        cloudwatch, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": name}, since
    )
    assert throttled > 0
    peak = 0.0
    for second in sorted(consumed):
        allowed = max(L.DYNAMODB_ON_DEMAND_INITIAL_WRITES_PER_S, 2 * peak)
        # + one 98-WRU item: admitted while the second's total is still under the limit
        assert consumed[second] <= allowed + 98, (second, consumed)
        peak = max(peak, consumed[second])
    assert peak >= L.DYNAMODB_ON_DEMAND_INITIAL_WRITES_PER_S * 0.9


def test_throttles_and_consumption_are_published_as_aws_dynamodb_metrics(aws):
    dynamodb, cloudwatch = aws("dynamodb"), aws("cloudwatch")
    name = create_table(dynamodb, wcu=2, gsi_wcu=1000)
    since = time.time()
    hammer(
        lambda k: dynamodb.put_item(TableName=name, Item=item(k, with_type=True)),
        seconds=1.5,
        threads=1,
    )
    table = {"TableName": name}
    index = {"TableName": name, "GlobalSecondaryIndexName": "by_type"}
    assert (
        sum(per_second(cloudwatch, "AWS/DynamoDB", "WriteThrottleEvents", table, since).values())
        > 0
    )
    assert (
        sum(per_second(cloudwatch, "AWS/DynamoDB", "ThrottledRequests", table, since).values()) > 0
    )
    table_units = sum(
        per_second(cloudwatch, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", table, since).values()
    )
    index_units = sum(
        per_second(cloudwatch, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", index, since).values()
    )
    assert table_units == index_units > 0
    provisioned = per_second(
        cloudwatch, "AWS/DynamoDB", "ProvisionedWriteCapacityUnits", table, since
    )
    assert set(provisioned.values()) <= {2.0 * n for n in range(1, 100)}

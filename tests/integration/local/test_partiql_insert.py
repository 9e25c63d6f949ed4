"""BatchExecuteStatement INSERTs through the gateway (dynalite has no PartiQL): each statement
answered on its own as DynamoDB does: stored, DuplicateItem (the first item left as it was),
throttled by the table's bucket, refused for its item, or refused for a form the local stack
does not run."""

from __future__ import annotations

import threading

import pytest

from pipeline.partiql_insert import DUPLICATE_ITEM, DUPLICATE_ITEM_MESSAGE, insert_statement
from tests.integration.local.test_dynamodb_limits import create_table, item

pytestmark = pytest.mark.integration


def test_each_insert_is_stored_once_and_a_taken_key_is_a_duplicate(aws):
    # GIVEN a table holding one item
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=1000)
    first = item("taken", 100)
    dynamodb.put_item(TableName=name, Item=first)

    # WHEN a batch inserts that key with other content and two new keys
    response = dynamodb.batch_execute_statement(
        Statements=[
            insert_statement(name, item("new-1", 100)),
            insert_statement(name, item("taken", 300)),
            insert_statement(name, item("new-2", 100)),
        ],
        ReturnConsumedCapacity="TOTAL",
    )

    # THEN the new ones are stored, the taken one answered DuplicateItem and left as it was
    assert response["Responses"] == [
        {"TableName": name},
        {"TableName": name, "Error": {"Code": DUPLICATE_ITEM, "Message": DUPLICATE_ITEM_MESSAGE}},
        {"TableName": name},
    ]
    stored = dynamodb.get_item(TableName=name, Key={"event_id": {"S": "taken"}})["Item"]
    assert stored == first
    for key in ("new-1", "new-2"):
        assert dynamodb.get_item(TableName=name, Key={"event_id": {"S": key}})["Item"]
    # Two 1-unit items written; the refused INSERT is not in the statements' own units.
    assert response["ConsumedCapacity"] == [{"TableName": name, "CapacityUnits": 2.0}]


def test_concurrent_inserts_of_one_key_store_exactly_one(aws):
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=1000)
    answers: list[dict] = []
    lock = threading.Lock()

    def insert(writer: int) -> None:
        statement = insert_statement(name, item("contested", 10 + writer))
        response = dynamodb.batch_execute_statement(Statements=[statement])
        with lock:
            answers.extend(response["Responses"])

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum("Error" not in answer for answer in answers) == 1
    assert [a["Error"]["Code"] for a in answers if "Error" in a] == [DUPLICATE_ITEM] * 7


def test_statements_over_the_table_capacity_are_throttled_one_by_one(aws):
    # GIVEN a 10 WCU table (a 1 s burst in these tests) and 25 items of 4 units each
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=10)
    statements = [insert_statement(name, item(f"t{n}", 4000)) for n in range(25)]

    # WHEN they go in one call
    answers = dynamodb.batch_execute_statement(Statements=statements)["Responses"]

    # THEN the first few are stored and the rest answered ProvisionedThroughputExceeded, each
    # with the table's message; the call itself succeeds
    stored = [n for n, answer in enumerate(answers) if "Error" not in answer]
    throttled = [n for n, answer in enumerate(answers) if "Error" in answer]
    assert 1 <= len(stored) <= 4
    assert stored == list(range(len(stored)))
    assert throttled == list(range(len(stored), 25))
    for n in throttled:
        assert answers[n]["Error"]["Code"] == "ProvisionedThroughputExceeded"
        assert answers[n]["Error"]["Message"].startswith(
            "The level of configured provisioned throughput for the table was exceeded."
        )
    scanned = dynamodb.scan(TableName=name)["Items"]
    assert sorted(i["event_id"]["S"] for i in scanned) == sorted(f"t{n}" for n in stored)


def test_a_refused_item_or_statement_fails_alone(aws):
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=1000)
    too_large = item("big", 400 * 1024)
    statements = [
        insert_statement(name, item("ok-1")),
        insert_statement(name, too_large),
        {"Statement": f'SELECT * FROM "{name}"'},
        insert_statement("no-such-table", item("lost")),
        insert_statement(name, item("ok-2")),
    ]

    answers = dynamodb.batch_execute_statement(Statements=statements)["Responses"]

    assert answers[0] == {"TableName": name}
    assert answers[4] == {"TableName": name}
    assert answers[1]["Error"]["Code"] == "ValidationError"
    assert "maximum allowed size" in answers[1]["Error"]["Message"]
    assert answers[2]["Error"] == {
        "Code": "ValidationError",
        "Message": "local stack: only INSERT INTO \"<table>\" VALUE {'<name>' : ?, ...} "
        "with parameters is supported",
    }
    assert answers[3]["Error"]["Code"] == "ResourceNotFound"
    scanned = dynamodb.scan(TableName=name)["Items"]
    assert sorted(i["event_id"]["S"] for i in scanned) == ["ok-1", "ok-2"]


def test_more_than_25_statements_is_a_validation_error(aws):
    dynamodb = aws("dynamodb")
    name = create_table(dynamodb, wcu=1000)
    statements = [insert_statement(name, item(f"n{n}")) for n in range(26)]

    with pytest.raises(dynamodb.exceptions.ClientError) as caught:
        dynamodb.batch_execute_statement(Statements=statements)

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "length between 1 and 25" in caught.value.response["Error"]["Message"]
    assert dynamodb.scan(TableName=name)["Items"] == []

"""Every route and every error path of the read API, through the deployed handler."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from pipeline import metrics
from pipeline.contracts import Event
from pipeline.ingest.records import ITEM_TTL_DAYS_DEFAULT, content_hash, event_item
from tests.conftest import load_event
from tests.events.builders import PRODUCED_AT, event_body, http_event, sequence_number
from tests.unit.pipeline.aws import ENVIRONMENT, TABLE_NAME, cold_start_error, fresh_import

REQUEST_ID = "CgN7bgKvIAMEJYw="


@pytest.fixture
def api(aws):
    return fresh_import("pipeline.api.handler")


def seed(aws, indexes, **overrides) -> None:
    for index in indexes:
        event = Event.model_validate(event_body(index, **overrides))
        item = event_item(event, PRODUCED_AT + index / 1000 + 0.05, sequence_number(index))
        item["stored_at"] = {"N": repr(PRODUCED_AT + index / 1000 + 0.1)}
        aws.dynamodb.put_item(TableName=TABLE_NAME, Item=item)


def call(api, lambda_context, method: str, path: str, query: dict | None = None) -> tuple:
    response = api.lambda_handler(http_event(method, path, query), lambda_context)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def list_events(api, lambda_context, **query) -> tuple:
    return call(api, lambda_context, "GET", "/events", {k: str(v) for k, v in query.items()})


def assert_invalid(
    status: int, body: dict, parameter: str, *fragments: str, problem: str = ""
) -> None:
    assert status == 400
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter
    lead = f"{problem}; " if problem else ""
    assert body["message"].startswith(f"{parameter}: {lead}expected {body['expected']}")
    for fragment in fragments:
        assert fragment in body["message"]
    assert body["request_id"] == REQUEST_ID


# ------------------------------------------------------------------ routes


def test_health(api, lambda_context):
    response = api.lambda_handler(load_event("http-health.json"), lambda_context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "status": "ok",
        "service": "api",
        "environment": ENVIRONMENT,
    }


def test_get_event_returns_the_stored_item_with_numbers_as_numbers(aws, api, lambda_context):
    seed(aws, [1])

    response = api.lambda_handler(load_event("http-get-event.json"), lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body == {
        "event_id": "evt-000001",
        "type": "view",
        "source": "loadgen-1",
        "produced_at": PRODUCED_AT + 0.001,
        "payload": {"user": "u-1", "amount": 1.5, "tags": ["a", "b"]},
        "arrived_at": pytest.approx(PRODUCED_AT + 0.051),
        "stored_at": pytest.approx(PRODUCED_AT + 0.101),
        "sequence_number": sequence_number(1),
        # the table's TTL attribute: arrival + 30 days (ITEM_TTL_DAYS' default)
        "expires_at": int(PRODUCED_AT + 0.051) + ITEM_TTL_DAYS_DEFAULT * 86400,
        # what the ingest handler's conditional write compares (docs/pipeline.md "Duplicates")
        "content_hash": content_hash(Event.model_validate(event_body(1))),
    }
    assert '"produced_at":1764393600.251' in response["body"]


def test_get_event_accepts_a_percent_encoded_id(aws, api, lambda_context):
    seed(aws, [5], event_id="order:5")

    status, body, _ = call(api, lambda_context, "GET", "/events/order%3A5")

    assert status == 200
    assert body["event_id"] == "order:5"


def test_get_unknown_event_is_404_naming_the_id(aws, api, lambda_context):
    status, body, _ = call(api, lambda_context, "GET", "/events/evt-404")

    assert status == 404
    assert body == {
        "error": "not_found",
        "message": "no event with event_id 'evt-404'",
        "request_id": REQUEST_ID,
    }


@pytest.mark.parametrize("bad_id", ["has%20space", "semi;colon", "x" * 129, "%C3%A9t%C3%A9"])
def test_get_with_a_malformed_id_is_400_naming_event_id(api, lambda_context, bad_id):
    status, body, _ = call(api, lambda_context, "GET", f"/events/{bad_id}")

    assert_invalid(status, body, "event_id", "1 to 128 characters from A-Z a-z 0-9 _ . : -")


def test_list_returns_one_type_in_time_order(aws, api, lambda_context):
    seed(aws, range(30))

    status, body, _ = list_events(api, lambda_context, type="purchase")

    assert status == 200
    ids = [item["event_id"] for item in body["items"]]
    assert ids == [f"evt-{i:06d}" for i in range(2, 30, 3)]
    assert body["count"] == 10
    assert body["next_cursor"] is None
    times = [item["produced_at"] for item in body["items"]]
    assert times == sorted(times)


def test_list_defaults_to_50_and_cursors_walk_every_item_once(aws, api, lambda_context):
    seed(aws, range(120), type="click")

    status, first, _ = list_events(api, lambda_context, type="click")
    assert status == 200
    assert first["count"] == 50
    seen = [item["event_id"] for item in first["items"]]
    cursor = first["next_cursor"]
    pages = 1
    while cursor and pages < 10:
        status, page, _ = list_events(api, lambda_context, type="click", limit=40, cursor=cursor)
        assert status == 200
        seen += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        pages += 1

    assert seen == [f"evt-{i:06d}" for i in range(120)]
    assert pages == 3  # 50 + 40 + 30, and no empty page at the end


def test_a_page_that_ends_exactly_at_the_last_item_has_no_cursor(aws, api, lambda_context):
    seed(aws, range(10), type="view")

    _, body, _ = list_events(api, lambda_context, type="view", limit=10)

    assert body["count"] == 10
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (PRODUCED_AT + 0.005, PRODUCED_AT + 0.008),
        ("2025-11-29T05:20:00.255Z", "2025-11-29T05:20:00.258+00:00"),
        ("2025-11-29T06:20:00.255+01:00", "2025-11-29T05:20:00.258"),
    ],
)
def test_list_since_and_until_are_inclusive_in_either_format(
    aws, api, lambda_context, since, until
):
    seed(aws, range(12), type="click")

    status, body, _ = list_events(api, lambda_context, type="click", since=since, until=until)

    assert status == 200
    assert [item["event_id"] for item in body["items"]] == [f"evt-{i:06d}" for i in range(5, 9)]


def test_list_with_only_since_or_only_until(aws, api, lambda_context):
    seed(aws, range(12), type="click")

    _, after, _ = list_events(api, lambda_context, type="click", since=PRODUCED_AT + 0.010)
    _, before, _ = list_events(api, lambda_context, type="click", until=PRODUCED_AT + 0.001)

    assert [item["event_id"] for item in after["items"]] == ["evt-000010", "evt-000011"]
    assert [item["event_id"] for item in before["items"]] == ["evt-000000", "evt-000001"]


def test_cursor_keeps_working_with_a_time_window(aws, api, lambda_context):
    seed(aws, range(20), type="click")
    window = {"type": "click", "since": PRODUCED_AT + 0.003, "until": PRODUCED_AT + 0.014}

    _, first, _ = list_events(api, lambda_context, limit=5, **window)
    _, second, _ = list_events(api, lambda_context, limit=5, cursor=first["next_cursor"], **window)
    _, third, _ = list_events(api, lambda_context, limit=5, cursor=second["next_cursor"], **window)

    ids = [item["event_id"] for page in (first, second, third) for item in page["items"]]
    assert ids == [f"evt-{i:06d}" for i in range(3, 15)]
    assert third["next_cursor"] is None


# ------------------------------------------------------------------ 400s


def test_type_is_required(api, lambda_context):
    status, body, _ = list_events(api, lambda_context)

    assert_invalid(status, body, "type", "an event type: 1 to 64", problem="required")


@pytest.mark.parametrize("bad_type", ["", "a b", "x" * 65, "click,view"])
def test_type_must_be_an_event_type(api, lambda_context, bad_type):
    status, body, _ = list_events(api, lambda_context, type=bad_type)

    assert_invalid(status, body, "type", "1 to 64 characters from A-Z a-z 0-9 _ . : -")


@pytest.mark.parametrize("bad_limit", ["0", "501", "abc", "-1", "1.5", "", "99999999999"])
def test_limit_must_be_1_to_500(api, lambda_context, bad_limit):
    status, body, _ = list_events(api, lambda_context, type="click", limit=bad_limit)

    assert_invalid(status, body, "limit", "an integer from 1 to 500", f"got {bad_limit!r}")


@pytest.mark.parametrize("parameter", ["since", "until"])
@pytest.mark.parametrize("bad_time", ["yesterday", "2025-13-01", "1e9", "-5", "NaN", ""])
def test_times_must_be_iso_8601_or_epoch_seconds(api, lambda_context, parameter, bad_time):
    status, body, _ = list_events(api, lambda_context, type="click", **{parameter: bad_time})

    assert_invalid(status, body, parameter, "ISO-8601", "epoch seconds")


def test_a_plus_sign_turned_into_a_space_gets_a_hint(api, lambda_context):
    status, body, _ = list_events(
        api, lambda_context, type="click", since="2025-11-29T05:00:00 01:00"
    )

    assert_invalid(status, body, "since", "send a UTC offset as %2B")


def test_epoch_milliseconds_get_a_hint(api, lambda_context):
    status, body, _ = list_events(api, lambda_context, type="click", until="1764392400000")

    assert_invalid(status, body, "until", "looks like epoch milliseconds", "send seconds")


def test_until_before_since_is_refused(api, lambda_context):
    status, body, _ = list_events(
        api, lambda_context, type="click", since="2025-11-29T06:00:00Z", until="1764392400"
    )

    assert_invalid(status, body, "until", "a time at or after since")


def test_unknown_query_parameter_is_refused_by_name(api, lambda_context):
    status, body, _ = list_events(api, lambda_context, type="click", limt="5")

    assert_invalid(
        status,
        body,
        "limt",
        "one of type, since, until, limit, cursor",
        problem="unknown query parameter",
    )


@pytest.mark.parametrize(
    "bad_cursor",
    ["", "garbage", "a.b.c", "!!!.0123456789abcdef", "e30.0123456789abcdef", "x" * 3000],
)
def test_a_cursor_not_issued_by_the_api_is_refused(api, lambda_context, bad_cursor):
    status, body, _ = list_events(api, lambda_context, type="click", cursor=bad_cursor)

    assert_invalid(status, body, "cursor", "next_cursor of a previous page")


def test_a_tampered_cursor_is_refused(aws, api, lambda_context):
    seed(aws, range(10), type="click")
    _, page, _ = list_events(api, lambda_context, type="click", limit=3)
    text, checksum = page["next_cursor"].split(".")
    tampered = text[:-2] + ("AA" if text[-2:] != "AA" else "BB") + "." + checksum

    status, body, _ = list_events(api, lambda_context, type="click", cursor=tampered)

    assert_invalid(status, body, "cursor", "altered or cut short")


def test_a_cursor_from_another_query_is_refused(aws, api, lambda_context):
    seed(aws, range(10), type="click")
    _, page, _ = list_events(api, lambda_context, type="click", limit=3)

    status, body, _ = list_events(api, lambda_context, type="view", cursor=page["next_cursor"])
    assert_invalid(status, body, "cursor", "issued for other type/since/until values")

    status, body, _ = list_events(
        api, lambda_context, type="click", since="1", cursor=page["next_cursor"]
    )
    assert_invalid(status, body, "cursor", "issued for other type/since/until values")


# ------------------------------------------------------------------ 404, 405, 5xx


@pytest.mark.parametrize("path", ["/", "/event", "/events/a/b", "/healthz", "/events/"])
def test_unknown_routes_are_404_listing_the_routes(api, lambda_context, path):
    status, body, _ = call(api, lambda_context, "GET", path)

    assert status == 404
    assert body["error"] == "not_found"
    assert body["message"] == (
        f"no route GET {path}; routes: GET /health, GET /events, GET /events/{{event_id}}"
    )


@pytest.mark.parametrize(("method", "path"), [("POST", "/events"), ("DELETE", "/events/e1")])
def test_other_methods_on_known_paths_are_405(api, lambda_context, method, path):
    status, body, headers = call(api, lambda_context, method, path)

    assert status == 405
    assert headers["Allow"] == "GET"
    assert body["error"] == "method_not_allowed"
    assert body["message"] == f"{method} is not allowed on {path}; this API is read-only (GET)"


def test_an_unexpected_error_is_a_500_with_the_request_id_and_no_trace(
    api, lambda_context, monkeypatch, caplog
):
    def broken_get_item(**_):
        raise RuntimeError("disk on fire at /var/task/pipeline/api/events.py line 12")

    monkeypatch.setattr(api.dynamodb, "get_item", broken_get_item)

    status, body, _ = call(api, lambda_context, "GET", "/events/evt-1")

    assert status == 500
    assert body == {
        "error": "internal_error",
        "message": "internal error; quote the request_id when reporting it",
        "request_id": REQUEST_ID,
    }
    (logged,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged.request_id == REQUEST_ID
    assert "disk on fire" in str(logged.exc_info[1])


def test_an_aws_error_that_is_not_throttling_is_a_500(api, lambda_context, monkeypatch):
    def denied(**_):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Query"
        )

    monkeypatch.setattr(api.dynamodb, "query", denied)

    status, body, _ = list_events(api, lambda_context, type="click")

    assert status == 500
    assert "not authorized" not in json.dumps(body)


def test_read_throttling_is_a_503_with_retry_after(api, lambda_context, monkeypatch):
    def throttled(**_):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "Query",
        )

    monkeypatch.setattr(api.dynamodb, "query", throttled)

    status, body, headers = list_events(api, lambda_context, type="click")

    assert status == 503
    assert headers["Retry-After"] == "1"
    assert body["error"] == "throttled"
    assert body["request_id"] == REQUEST_ID


# ------------------------------------------------------------------ metrics, cold start


def emf(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]


def test_every_request_emits_count_status_class_and_latency(
    aws, api, lambda_context, monkeypatch, capsys
):
    capsys.readouterr()
    outcomes = {}
    for name, path, query in [
        ("ok", "/health", None),
        ("client_error", "/events", {"type": "click", "limit": "0"}),
    ]:
        api.lambda_handler(http_event("GET", path, query), lambda_context)
        (document,) = emf(capsys.readouterr().out)
        outcomes[name] = document
    monkeypatch.setattr(api.dynamodb, "get_item", lambda **_: 1 / 0)
    api.lambda_handler(http_event("GET", "/events/e1"), lambda_context)
    (outcomes["server_error"],) = emf(capsys.readouterr().out)

    for document in outcomes.values():
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Redline"
        assert sorted(directive["Dimensions"][0]) == ["environment", "service"]
        assert document["service"] == "api" and document["environment"] == ENVIRONMENT
        declared = {(m["Name"], m["Unit"]) for m in directive["Metrics"]}
        for metric in (
            metrics.API_REQUESTS,
            metrics.API_CLIENT_ERRORS,
            metrics.API_SERVER_ERRORS,
            metrics.API_LATENCY,
        ):
            assert (metric.name, metric.unit) in declared
        assert document[metrics.API_REQUESTS.name] == [1]
        (latency,) = document[metrics.API_LATENCY.name]
        assert latency >= 0
    assert [outcomes[k][metrics.API_CLIENT_ERRORS.name] for k in outcomes] == [[0], [1], [0]]
    assert [outcomes[k][metrics.API_SERVER_ERRORS.name] for k in outcomes] == [[0], [0], [1]]


@pytest.mark.parametrize("missing", ["TABLE_NAME", "TYPE_INDEX_NAME", "ENVIRONMENT"])
def test_cold_start_names_the_missing_environment_variable(aws, monkeypatch, missing):
    message = cold_start_error("pipeline.api.handler", monkeypatch, missing)

    assert message.startswith(f"the read API Lambda cannot start: environment variable {missing}")

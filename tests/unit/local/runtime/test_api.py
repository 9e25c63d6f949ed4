"""The HTTP API adapter's event building, response mapping, routing and throttling."""

from __future__ import annotations

import json

from pipeline.local.runtime.api import (
    ROUTE_KEYS,
    HttpApi,
    Route,
    build_event,
    map_response,
    match_route,
)
from pipeline.local.runtime.functions import InvokeResult, Throttled

ROUTES = [Route.parse(key) for key in ROUTE_KEYS]


def test_the_adapter_routes_are_the_ones_the_api_handler_serves():
    from pipeline.api.responses import ROUTES as HANDLER_ROUTES

    assert sorted(ROUTE_KEYS) == sorted(HANDLER_ROUTES)


def test_routes_match_like_api_gateway():
    route, params = match_route(ROUTES, "GET", "/events/abc-1")
    assert (route.key, params) == ("GET /events/{event_id}", {"event_id": "abc-1"})
    assert match_route(ROUTES, "GET", "/events")[0].key == "GET /events"
    assert match_route(ROUTES, "GET", "/health")[0].key == "GET /health"
    assert match_route(ROUTES, "POST", "/events") is None
    assert match_route(ROUTES, "GET", "/events/a/b") is None
    assert match_route(ROUTES, "GET", "/nope") is None


def test_payload_2_0_event_joins_repeats_and_splits_cookies():
    route, params = match_route(ROUTES, "GET", "/events/e1")
    event = build_event(
        route,
        params,
        "GET",
        "/events/e1?x=1&x=2&y=",
        [
            ("Host", "127.0.0.1:8080"),
            ("X-Multi", "a"),
            ("x-multi", "b"),
            ("Cookie", "c1=v1; c2=v2"),
            ("User-Agent", "ua"),
        ],
        b"",
        "127.0.0.1",
        "abcdefghij",
        "req-1",
        1_700_000_000.5,
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /events/{event_id}"
    assert event["rawPath"] == "/events/e1"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["headers"] == {"host": "127.0.0.1:8080", "x-multi": "a,b", "user-agent": "ua"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"event_id": "e1"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/events/e1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ua",
    }
    assert (context["apiId"], context["requestId"], context["stage"]) == (
        "abcdefghij",
        "req-1",
        "$default",
    )
    assert context["timeEpoch"] == 1_700_000_000_500
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"


def test_binary_bodies_are_base64_encoded():
    route, params = match_route(ROUTES, "GET", "/events")
    event = build_event(
        route,
        params,
        "GET",
        "/events",
        [("Content-Type", "image/png")],
        b"\x89PNG",
        "127.0.0.1",
        "a",
        "r",
        0.0,
    )
    assert event["isBase64Encoded"] is True and event["body"] == "iVBORw=="


def test_response_without_status_code_is_a_200_json_body():
    assert map_response('{"a": 1}') == (200, [("Content-Type", "application/json")], b'{"a": 1}')
    assert map_response("[1, 2]")[2] == b"[1, 2]"


def test_response_with_status_code_maps_headers_cookies_and_base64():
    status, headers, body = map_response(
        json.dumps(
            {
                "statusCode": 404,
                "headers": {"content-type": "text/plain"},
                "cookies": ["a=b"],
                "body": "aGk=",
                "isBase64Encoded": True,
            }
        )
    )
    assert status == 404 and body == b"hi"
    assert ("content-type", "text/plain") in headers and ("Set-Cookie", "a=b") in headers


def test_an_invalid_status_code_is_rejected():
    for bad in ("abc", 1000, None):
        try:
            map_response(json.dumps({"statusCode": bad}))
        except ValueError as exc:
            assert "statusCode" in str(exc)
        else:
            raise AssertionError(f"statusCode {bad!r} accepted")


class FakeFunction:
    def __init__(self, result=None, throttled=False):
        self.result = result or InvokeResult("r", '{"ok": true}')
        self.throttled = throttled
        self.events = []

    def invoke(self, event):
        self.events.append(event)
        if self.throttled:
            raise Throttled("f", "ReservedFunctionConcurrentInvocationLimitExceeded")
        return self.result


def test_unknown_route_gets_api_gateways_own_404():
    api = HttpApi(FakeFunction(), "a", 100, 100)
    status, _, body, _ = api.handle("GET", "/unknown", [], b"", "127.0.0.1")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_route_throttling_answers_429_once_the_burst_is_spent():
    function = FakeFunction()
    api = HttpApi(function, "a", rate_limit=0.001, burst_limit=3)
    statuses = [api.handle("GET", "/health", [], b"", "127.0.0.1")[0] for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    _, _, body, _ = api.handle("GET", "/health", [], b"", "127.0.0.1")
    assert json.loads(body) == {"message": "Too Many Requests"}
    assert len(function.events) == 3  # throttled requests never reach the function
    # Each route has its own bucket (the stage's default route settings apply per route).
    assert api.handle("GET", "/events", [], b"", "127.0.0.1")[0] == 200


def test_lambda_throttle_and_function_error_become_500_internal_server_error():
    for function in (
        FakeFunction(throttled=True),
        FakeFunction(InvokeResult("r", None, {"errorMessage": "x", "errorType": "E"})),
        FakeFunction(InvokeResult("r", '{"statusCode": "nope"}')),
    ):
        status, _, body, _ = HttpApi(function, "a", 100, 100).handle(
            "GET", "/health", [], b"", "127.0.0.1"
        )
        assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})

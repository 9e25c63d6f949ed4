"""The API's JSON bodies and the per-request metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response, content_types

from pipeline import metrics as names

ROUTES = ("GET /health", "GET /events", "GET /events/{event_id}")


class _JsonEncoder(json.JSONEncoder):
    """Numbers from DynamoDB stay numbers (Powertools' default turns Decimal into a string)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def serialize(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), cls=_JsonEncoder, allow_nan=False)


def error(
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Response:
    body = {"error": code, "message": message, **fields, "request_id": request_id}
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


def resolve_measured(
    resolve: Callable[[dict, Any], dict],
    event: dict,
    context: Any,
    metrics: Metrics,
    clock: Callable[[], float] = time.perf_counter,
) -> dict:
    """Run the resolver and record request count, status class and latency."""
    started = clock()
    status = 500
    try:
        response = resolve(event, context)
        status = int(response.get("statusCode", 200))
        return response
    finally:
        elapsed_ms = (clock() - started) * 1000
        add = metrics.add_metric
        add(names.API_REQUESTS.name, names.API_REQUESTS.unit, 1)
        add(names.API_CLIENT_ERRORS.name, names.API_CLIENT_ERRORS.unit, int(400 <= status < 500))
        add(names.API_SERVER_ERRORS.name, names.API_SERVER_ERRORS.unit, int(status >= 500))
        add(names.API_LATENCY.name, names.API_LATENCY.unit, elapsed_ms)

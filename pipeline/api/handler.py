"""Read API over HTTP API payload format 2.0 (`pipeline.api.handler.lambda_handler`).

Routes: GET /health, GET /events/{event_id}, GET /events?type=&since=&until=&limit=&cursor=
(docs/pipeline.md has the reference). Environment (validated at cold start): TABLE_NAME,
TYPE_INDEX_NAME, ENVIRONMENT; plus Powertools' and the standard AWS variables.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from pipeline import metrics as metric_names
from pipeline.api.events import Page, get_event, list_events
from pipeline.api.params import InvalidParameterError, parse_event_id, parse_list_query
from pipeline.api.responses import ROUTES, error, resolve_measured, serialize
from pipeline.clients import handler_client_config
from pipeline.handler_env import require_environment

ENV = require_environment("the read API Lambda", ("TABLE_NAME", "TYPE_INDEX_NAME", "ENVIRONMENT"))
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# Paths of the routes, any method: a known path with another method is a 405, not a 404.
_KNOWN_PATHS = tuple(re.compile(p) for p in (r"^/health/?$", r"^/events/?$", r"^/events/[^/]+$"))

logger = Logger(service=metric_names.SERVICE_API)
copy_config_to_registered_loggers(source_logger=logger, include={"pipeline"})
metrics = Metrics(namespace=metric_names.NAMESPACE, service=metric_names.SERVICE_API)
metrics.set_default_dimensions(**{metric_names.DIMENSION_ENVIRONMENT: ENV["ENVIRONMENT"]})
dynamodb = boto3.client("dynamodb", config=handler_client_config(read_timeout_s=3))
app = APIGatewayHttpResolver(serializer=serialize)


def _request_id() -> str:
    return app.current_event.request_context.request_id or app.lambda_context.aws_request_id


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "service": metric_names.SERVICE_API, "environment": ENV["ENVIRONMENT"]}


@app.get("/events/<event_id>")
def get_one(event_id: str) -> dict | Response:
    event_id = parse_event_id(unquote(event_id))
    item = get_event(dynamodb, ENV["TABLE_NAME"], event_id)
    if item is None:
        return error(404, "not_found", f"no event with event_id {event_id!r}", _request_id())
    return item


@app.get("/events")
def list_by_type() -> dict:
    query = parse_list_query(app.current_event.query_string_parameters)
    page: Page = list_events(dynamodb, ENV["TABLE_NAME"], ENV["TYPE_INDEX_NAME"], query)
    return {"items": page.items, "count": len(page.items), "next_cursor": page.next_cursor}


@app.exception_handler(InvalidParameterError)
def invalid_parameter(exc: InvalidParameterError) -> Response:
    return error(
        400,
        "invalid_parameter",
        str(exc),
        _request_id(),
        parameter=exc.parameter,
        expected=exc.expected,
    )


@app.not_found
def unknown_route(_: NotFoundError) -> Response:
    method = app.current_event.http_method.upper()
    path = app.current_event.path
    if method != "GET" and any(pattern.match(path) for pattern in _KNOWN_PATHS):
        return error(
            405,
            "method_not_allowed",
            f"{method} is not allowed on {path}; this API is read-only (GET)",
            _request_id(),
            headers={"Allow": "GET"},
        )
    return error(
        404,
        "not_found",
        f"no route {method} {path}; routes: {', '.join(ROUTES)}",
        _request_id(),
    )


@app.exception_handler(ClientError)
def aws_error(exc: ClientError) -> Response:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in THROTTLING_CODES:
        logger.warning("table throttled a read", extra={"error_code": code})
        return error(
            503,
            "throttled",
            "the table is out of read capacity; retry after a moment",
            _request_id(),
            headers={"Retry-After": "1"},
        )
    return unexpected(exc)


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    request_id = _request_id()
    logger.exception("unhandled error", extra={"request_id": request_id})
    return error(
        500,
        "internal_error",
        "internal error; quote the request_id when reporting it",
        request_id,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return resolve_measured(app.resolve, event, context, metrics)

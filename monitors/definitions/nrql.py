"""The NRQL check: every query reads only metric names and attributes the forwarder sends
(pipeline.metrics), from `Metric`, with functions that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Final

from pipeline import metrics as m

from . import catalog, render
from .model import ACCOUNT_PLACEHOLDER, ENVIRONMENT_PLACEHOLDER

# Attributes New Relic itself puts on every Metric data point.
NEW_RELIC_ATTRIBUTES: Final = frozenset({"metricName", "timestamp", "newrelic.source"})
FUNCTIONS: Final = frozenset(
    {"average", "sum", "max", "min", "count", "latest", "rate", "filter", "percentage"}
)
_KEYWORDS_TEXT: Final = (
    "select from where facet timeseries since until ago limit as and or not in is null "
    "like compare with auto max minute minutes hour hours day days week weeks second seconds"
)
KEYWORDS: Final = frozenset(_KEYWORDS_TEXT.split(" "))
_TOKEN: Final = re.compile(
    r"""(?P<string>'(?:[^'\\]|\\.)*')
      |(?P<quoted>`[^`]*`)
      |(?P<number>\d+(?:\.\d+)?)
      |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      |(?P<symbol><=|>=|!=|[-+*/(),=<>])
      |(?P<space>\s+)""",
    re.VERBOSE,
)


def _tokens(nrql: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(nrql):
        match = _TOKEN.match(nrql, position)
        if not match:
            raise ValueError(f"cannot read NRQL at {nrql[position : position + 20]!r}")
        position = match.end()
        if match.lastgroup != "space":
            yield match.lastgroup or "", match.group()


def check_query(nrql: str, where: str = "") -> list[str]:
    """Problems of one query (empty when it is right); `where` names it in the messages."""
    text = nrql.replace(ENVIRONMENT_PLACEHOLDER, "env").replace(ACCOUNT_PLACEHOLDER, "0")
    label = f"{where}: " if where else ""
    try:
        tokens = list(_tokens(text))
    except ValueError as exc:
        return [f"{label}{exc}"]
    metric_names = m.newrelic_metric_names()
    attributes = m.FORWARDER_ATTRIBUTES | NEW_RELIC_ATTRIBUTES
    problems = []
    previous = ""
    for index, (kind, value) in enumerate(tokens):
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if kind == "quoted":
            name = value.strip("`")
            if name not in metric_names and name not in attributes:
                problems.append(f"{label}unknown metric {name!r} in {nrql!r}")
        elif kind == "word":
            lowered = value.lower()
            if previous.lower() == "from":
                if value != "Metric":
                    problems.append(f"{label}reads {value!r}; the forwarder sends Metric only")
            elif lowered in KEYWORDS:
                pass
            elif following == "(":
                if lowered not in FUNCTIONS:
                    problems.append(f"{label}unknown function {value!r} in {nrql!r}")
            elif value not in attributes:
                problems.append(f"{label}unknown attribute {value!r} in {nrql!r}")
        elif (
            kind == "string"
            and previous == "="
            and tokens[index - 2][1] == "metricName"
            and value.strip("'") not in metric_names
        ):
            problems.append(f"{label}unknown metric {value!r} in {nrql!r}")
        previous = value
    if not any(v.lower() == "from" for _, v in tokens):
        problems.append(f"{label}no FROM clause in {nrql!r}")
    return problems


def _dashboard_queries(document: dict) -> Iterator[tuple[str, str]]:
    for page in document["pages"]:
        for widget in page["widgets"]:
            for query in widget["rawConfiguration"]["nrqlQueries"]:
                yield f"dashboard {page['name']} / {widget['title']}", query["query"]


def _definitions_queries(document: dict) -> Iterator[tuple[str, str]]:
    for key, condition in document["conditions"].items():
        yield f"condition {key}", condition["nrql"]
    for key, level in document["service_levels"].items():
        for side in ("valid", "good"):
            events = level[side]
            # NRQL to check, never run anywhere
            query = f"SELECT sum(`{events['metric']}`) FROM {events['from_type']}"  # noqa: S608  # nosec B608
            yield f"service level {key} {side}", f"{query} WHERE {events['where']}"


def all_queries() -> Iterator[tuple[str, str]]:
    """Every query of the definitions and of the files rendered from them (as committed)."""
    yield from _dashboard_queries(render.dashboard_document(catalog.DASHBOARD, 0))
    yield from _definitions_queries(render.definitions_document())
    for path in (render.DASHBOARD_TEMPLATE, render.UI_DASHBOARD):
        if path.exists():
            text = path.read_text(encoding="utf-8").replace(ACCOUNT_PLACEHOLDER, "0")
            for where, nrql in _dashboard_queries(json.loads(text)):
                yield f"{path.name}: {where}", nrql
    if render.DEFINITIONS_TEMPLATE.exists():
        document = json.loads(render.DEFINITIONS_TEMPLATE.read_text(encoding="utf-8"))
        for where, nrql in _definitions_queries(document):
            yield f"{render.DEFINITIONS_TEMPLATE.name}: {where}", nrql


def check_all() -> list[str]:
    return [problem for where, nrql in all_queries() for problem in check_query(nrql, where)]

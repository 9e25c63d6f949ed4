"""Write the committed event files: `python -m tests.events.generate`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.events.builders import event_body, http_event, kinesis_event, kinesis_record

HERE = Path(__file__).parent
POISON_INDEX = 42


def kinesis_batch_100_one_poison() -> dict:
    records = []
    for index in range(100):
        data = b"{not json" if index == POISON_INDEX else event_body(index)
        records.append(kinesis_record(index, data))
    return kinesis_event(records)


FILES = {
    "kinesis-batch-100-one-poison.json": kinesis_batch_100_one_poison(),
    "http-get-event.json": http_event(
        "GET",
        "/events/evt-000001",
        route_key="GET /events/{event_id}",
        path_parameters={"event_id": "evt-000001"},
    ),
    "http-list-events.json": http_event(
        "GET",
        "/events",
        {"type": "click", "since": "2025-11-29T05:00:00Z", "limit": "10"},
        route_key="GET /events",
    ),
    "http-health.json": http_event("GET", "/health", route_key="GET /health"),
}


def main() -> None:
    for name, event in FILES.items():
        (HERE / name).write_text(json.dumps(event, indent=1) + "\n", encoding="utf-8")
        print(f"wrote tests/events/{name}")


if __name__ == "__main__":
    main()

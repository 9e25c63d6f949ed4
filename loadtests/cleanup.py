"""`make clean-run RUN=<id>`: delete one TARGET=aws run's items from the table.

A TARGET=aws run keeps the ids Kinesis acknowledged in its run folder (`acked-ids.txt.gz`);
this deletes exactly those items (BatchWriteItem DeleteRequests, by key through the
environment file's `audit` description), never scanning the table. Items stored but never
acknowledged, and dead-letter messages, are left to the table's TTL (`expires_at`) and the
queue's retention. A local run needs nothing: the private stack wiped its data when it stopped.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from pipeline.config import AuditConfig

ACKED_IDS = "acked-ids.txt.gz"
MAX_ROUNDS = 50


class CleanupError(ValueError):
    """A run that cannot be cleaned; the message is one line."""


def save_acked_ids(run_dir: Path, ids: Iterable[str]) -> None:
    with gzip.open(run_dir / ACKED_IDS, "wt", encoding="utf-8") as handle:
        for record_id in sorted(ids):
            handle.write(record_id + "\n")


def run_folder(results: Path, run: str) -> Path:
    candidate = Path(run)
    folder = candidate if (candidate / "run.json").is_file() else results / run
    if not (folder / "run.json").is_file():
        raise CleanupError(f"RUN={run}: no run folder with a run.json (looked in {folder})")
    return folder


def delete_items(dynamodb: Any, table: str, keys: list[str], schema: AuditConfig) -> int:
    """Delete these ids' items, 25 a call, retrying what DynamoDB leaves unprocessed."""
    deleted = 0
    for offset in range(0, len(keys), 25):
        chunk = keys[offset : offset + 25]
        pending: dict[str, Any] = {
            table: [
                {"DeleteRequest": {"Key": {schema.key_attribute: {"S": schema.key_of(i)}}}}
                for i in chunk
            ]
        }
        for attempt in range(MAX_ROUNDS):
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
            if not pending:
                break
            time.sleep(min(5.0, 0.05 * 2**attempt))
        else:
            raise CleanupError(
                f"DynamoDB kept refusing deletes of {table} after {MAX_ROUNDS} rounds"
            )
        deleted += len(chunk)
    return deleted


def clean_run(folder: Path, dynamodb: Any | None = None) -> str:
    """Delete the run's items; return the line to print."""
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    if run.get("target") != "aws":
        return (
            f"run {run.get('run_id')} ran on the local stack, which wiped its data when it"
            " stopped: nothing to delete"
        )
    ids_file = folder / ACKED_IDS
    if not ids_file.is_file():
        raise CleanupError(
            f"{folder} has no {ACKED_IDS} (runs before this version did not keep their ids);"
            " its items expire with the table's TTL"
        )
    schema = AuditConfig.model_validate((run.get("environment") or {}).get("audit") or {})
    endpoints = run.get("endpoints") or {}
    table = endpoints.get("table_name")
    if not table:
        raise CleanupError(f"{folder}/run.json names no table (endpoints.table_name)")
    with gzip.open(ids_file, "rt", encoding="utf-8") as handle:
        ids = [line.strip() for line in handle if line.strip()]
    dynamodb = dynamodb or boto3.client(
        "dynamodb",
        region_name=endpoints.get("region"),
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )
    deleted = delete_items(dynamodb, table, ids, schema)
    return (
        f"run {run.get('run_id')}: deleted the {deleted} acknowledged items from {table}"
        " (items never acknowledged and dead-letter messages expire by TTL and retention)"
    )

"""Help text of every scenario option of `python -m loadtests run`: unit, range and default.

The defaults are read from `loadtests/scenarios.py` (the one place they live), per scenario
when the scenarios differ, so the help can never quote a stale number.
"""

from __future__ import annotations

from dataclasses import fields

from loadtests.scenarios import MAX_DURATION_S, MAX_RATE, SCENARIOS, Gates, Scenario, Search
from pipeline import aws_limits as limits

# dest -> (flag, type, what it is with its unit and range)
SCENARIO_OPTIONS: dict[str, tuple[str, type, str]] = {
    "rate": (
        "--rate",
        float,
        f"records/s offered (capacity: the search's ceiling), > 0 and <= {MAX_RATE:g}",
    ),
    "read_rate": ("--read-rate", float, f"API requests/s (read, mixed), 0..{MAX_RATE:g}"),
    "probe_rate": ("--probe-rate", float, "end-to-end probes/s (one put, then poll the API), >= 0"),
    "duration_s": (
        "--duration",
        float,
        f"seconds of load (capacity: the search's time budget), > 0 and <= {MAX_DURATION_S}",
    ),
    "batch_size": (
        "--batch-size",
        int,
        f"records per PutRecords call, 1..{limits.KINESIS_PUT_RECORDS_MAX_RECORDS}",
    ),
    "record_bytes": (
        "--record-bytes",
        int,
        f"bytes of each event's JSON, 128..{limits.KINESIS_DEFAULT_MAX_RECORD_BYTES // 2}",
    ),
    "key_strategy": ("--key-strategy", str, "partition keys: uniform, hot or zipf"),
    "hot_key_share": ("--hot-key-share", float, "share of records on the hot key, 0 < x < 1"),
    "zipf_s": ("--zipf-s", float, "Zipf exponent of the key ranks (zipf), > 0"),
    "key_count": ("--key-count", int, "distinct keys (zipf), >= 1"),
    "event_types": ("--event-types", int, "distinct event types (what readers query), >= 1"),
    "steps": ("--steps", int, "steps of the step shape, >= 1"),
    "spike_multiplier": (
        "--spike-multiplier",
        float,
        "spike shape: the spike's rate as a multiple of the base rate, >= 1",
    ),
    "mix": ("--mix", str, "who runs: ingest (producers), read (API readers) or mixed"),
    "start_rate": (
        "--start-rate",
        float,
        "capacity: records/s of the first probe, > 0 (default: 60%% of what the environment"
        " file should carry)",
    ),
    "drain_timeout_s": (
        "--drain-timeout",
        float,
        "seconds the audit waits for the consumer to store more records before it gives up"
        " (it waits on while the consumer makes progress, up to a limit: docs/loadtests.md), >= 0",
    ),
    "p95_ms": ("--gate-p95-ms", float, "gate: producer p95 latency in ms at most"),
    "p99_ms": ("--gate-p99-ms", float, "gate: producer p99 latency in ms at most"),
    "error_rate": (
        "--gate-error-rate",
        float,
        "gate: share of calls failed other than throttles at most, >= 0 (0.01 = 1%%)",
    ),
    "max_lost": ("--gate-max-lost", int, "gate: acknowledged records lost at most, >= 0"),
    "min_achieved_ratio": (
        "--gate-min-achieved",
        float,
        "gate: accepted rate / target rate at least, > 0 (0.95 = 95%%)",
    ),
}


def _default(dest: str, scenario: Scenario) -> object:
    if dest in {f.name for f in fields(Gates)}:
        return getattr(scenario.gates, dest)
    if dest in {f.name for f in fields(Search)}:
        return getattr(scenario.search, dest)
    return getattr(scenario, dest)


def _text(value: object) -> str:
    if value is None:
        return "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def defaults_text(dest: str) -> str:
    """'default: 100' when every scenario agrees, else 'default: smoke 50, capacity 20000, ...'."""
    values = {name: _text(_default(dest, s)) for name, s in SCENARIOS.items()}
    if dest == "start_rate":
        return "default: from the environment file"
    if len(set(values.values())) == 1:
        return f"default: {next(iter(values.values()))}"
    return "default: " + ", ".join(f"{name} {value}" for name, value in values.items())


def help_for(dest: str) -> str:
    text = SCENARIO_OPTIONS[dest][2]
    if dest == "start_rate":
        return text
    return f"{text}; {defaults_text(dest)}"

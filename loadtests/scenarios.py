"""The named scenarios and their defaults, in one place.

A scenario is an arrival rate (records/s for the producers, requests/s for the readers) and
a shape over time, not a user count. `resolve(name, overrides)` returns the scenario with the
command line's overrides applied and validated; every error names the option and what is
allowed, and is raised as ScenarioError (the CLI prints it on one line and exits 2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from pipeline import aws_limits as limits

Mix = Literal["ingest", "read", "mixed"]
Shape = Literal["constant", "capacity", "step", "spike"]
KeyStrategy = Literal["uniform", "hot", "zipf"]

MIXES: tuple[str, ...] = ("ingest", "read", "mixed")
KEY_STRATEGIES: tuple[str, ...] = ("uniform", "hot", "zipf")
MAX_DURATION_S = 6 * 3600  # every run is bounded
MAX_RATE = 100_000.0  # records/s or requests/s; far above one machine's generator


class ScenarioError(ValueError):
    """A scenario name or option that cannot be used; the message is the one line users see."""


@dataclass(frozen=True)
class Gates:
    """SLOs a run must meet; None = gate off."""

    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = 0.01  # share of calls failed other than throttles
    max_lost: int | None = 0
    min_achieved_ratio: float | None = 0.95  # accepted rate / target rate (knee > 0 for capacity)


@dataclass(frozen=True)
class Search:
    """Capacity search knobs: probe rates until the pipeline stops keeping up, then bisect."""

    start_rate: float | None = None  # None: half of what the environment file should carry
    growth: float = 1.25
    resolution: float = 0.02  # stop bisecting when (hi - lo) / lo is below this
    settle_s: float = 2.0  # seconds of each probe not judged (rate change transient)
    hold_s: float = 5.0  # seconds of each probe that are judged
    accepted_tolerance: float = 0.02  # accepted may fall short of offered by this share
    throttle_tolerance: float = 0.01  # share of offered records throttled still "sustained"
    latency_limit_ms: float = 2000.0  # producer p99 from the intended start
    e2e_limit_ms: float = 8000.0  # produced -> readable p95
    # produced -> readable may grow this many seconds a second (the share of the offered rate
    # the pipeline does not store) before a probe fails; loadtests.search.Growth
    backlog_growth: float = 0.03


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    mix: Mix = "ingest"
    shape: Shape = "constant"
    rate: float = 100.0  # records/s (ingest); for capacity: the upper bound of the search
    read_rate: float = 0.0  # API requests/s (read and mixed mixes)
    probe_rate: float = 1.0  # end-to-end probes/s
    duration_s: float = 60.0  # load time (capacity: the time budget of the search)
    batch_size: int = 100  # PutRecords records per call, at most
    record_bytes: int = 256  # size of each event's JSON
    key_strategy: KeyStrategy = "uniform"
    hot_key_share: float = 0.5  # share of records on the hot key (key_strategy=hot)
    zipf_s: float = 1.1  # exponent (key_strategy=zipf)
    key_count: int = 1000  # distinct keys for zipf
    event_types: int = 5
    steps: int = 5  # step shape: rate/steps, 2*rate/steps, ... rate
    spike_multiplier: float = 4.0  # spike shape: base rate, then multiplier x base, then base
    drain_timeout_s: float = 120.0  # audit: how long to wait for the consumer to catch up
    # UpdateShardCount during the run: (fraction of the duration, factor on the open shards)
    reshard_plan: tuple[tuple[float, float], ...] = ()
    gates: Gates = field(default_factory=Gates)
    search: Search = field(default_factory=Search)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            name="smoke",
            description="short, low rate, every user type: proves the pipeline end to end (CI)",
            mix="mixed",
            shape="constant",
            rate=50.0,
            read_rate=10.0,
            probe_rate=1.0,
            duration_s=20.0,
            batch_size=25,
            drain_timeout_s=60.0,
            # CI machines are small and busy: a cold start of a second API environment can
            # take seconds there; the smoke run proves correctness, `step`/`soak` latency.
            gates=Gates(p99_ms=10_000.0, error_rate=0.01, max_lost=0, min_achieved_ratio=0.9),
        ),
        Scenario(
            name="capacity",
            description="raise the records/s until the pipeline stops keeping up, then bisect",
            mix="ingest",
            shape="capacity",
            rate=20_000.0,
            duration_s=120.0,
            # Small batches: a shard's limit is per clock second, and one late batch of 100
            # crossing the second boundary would look like a 10% overshoot.
            batch_size=25,
            gates=Gates(p99_ms=None, error_rate=0.01, max_lost=0, min_achieved_ratio=None),
        ),
        Scenario(
            name="step",
            description="fixed steps up to the rate, each held for duration/steps",
            mix="mixed",
            shape="step",
            rate=800.0,
            read_rate=50.0,
            duration_s=100.0,
            gates=Gates(p99_ms=3000.0),
        ),
        Scenario(
            name="spike",
            description="a base rate, a short spike at spike_multiplier x base, back to base",
            mix="ingest",
            shape="spike",
            rate=200.0,
            duration_s=60.0,
            gates=Gates(p99_ms=None, min_achieved_ratio=0.9),
        ),
        Scenario(
            name="soak",
            description="a steady mixed load held long enough to see drift and leaks",
            mix="mixed",
            shape="constant",
            rate=300.0,
            read_rate=50.0,
            duration_s=900.0,
            gates=Gates(p95_ms=1000.0, p99_ms=3000.0),
        ),
        Scenario(
            name="scaling",
            description="a ramp from half to three times the table's capacity in 6 steps, for "
            "an environment with table.autoscaling on: what throttles while auto scaling "
            "catches up (set RATE to 3x the records/s the table's write capacity carries)",
            mix="ingest",
            shape="step",
            rate=600.0,
            steps=6,
            duration_s=720.0,
            gates=Gates(p99_ms=None, max_lost=0, min_achieved_ratio=None),
        ),
        Scenario(
            name="reshard",
            description="steady load while the shard count doubles, then halves "
            "(UpdateShardCount); audits loss and per-partition-key order of what was stored "
            "(on AWS set RATE to about 80% of the starting shards' limit)",
            mix="ingest",
            shape="constant",
            # 40% of one shard: what the local stack's consumer stores on a 2-core machine
            # with room to spare (it stored about 640 records/s on one shard there), so the
            # run tests resharding, not the laptop.
            rate=400.0,
            duration_s=180.0,
            key_strategy="zipf",
            key_count=100,
            reshard_plan=((0.25, 2.0), (0.6, 0.5)),
            gates=Gates(p99_ms=None, max_lost=0, min_achieved_ratio=0.9),
        ),
    )
}
DEFAULT_SCENARIO = "capacity"

# Options the command line may override (name -> where it lives).
GATE_OPTIONS = {
    "p95_ms": "gates",
    "p99_ms": "gates",
    "error_rate": "gates",
    "max_lost": "gates",
    "min_achieved_ratio": "gates",
}


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ScenarioError(f"{name} must be a number {allowed}, got {value:g}")


def validate(scenario: Scenario) -> Scenario:
    s = scenario
    if s.mix not in MIXES:
        raise ScenarioError(f"mix must be one of {', '.join(MIXES)}, got {s.mix!r}")
    if s.key_strategy not in KEY_STRATEGIES:
        raise ScenarioError(
            f"key_strategy must be one of {', '.join(KEY_STRATEGIES)}, got {s.key_strategy!r}"
        )
    # capacity with mix=read searches API requests/s up to READ_RATE (or RATE when unset)
    read_search = s.shape == "capacity" and s.mix == "read"
    _positive("RATE", s.rate, allow_zero=s.mix == "read" and not read_search)
    if s.rate > MAX_RATE:
        raise ScenarioError(f"RATE must be at most {MAX_RATE:g} records/s, got {s.rate:g}")
    _positive("READ_RATE", s.read_rate, allow_zero=s.mix == "ingest" or read_search)
    if s.read_rate > MAX_RATE:
        raise ScenarioError(f"READ_RATE must be at most {MAX_RATE:g} requests/s")
    _positive("PROBE_RATE", s.probe_rate, allow_zero=True)
    _positive("DURATION", s.duration_s)
    if s.duration_s > MAX_DURATION_S:
        raise ScenarioError(f"DURATION must be at most {MAX_DURATION_S} s, got {s.duration_s:g}")
    if not 1 <= s.batch_size <= limits.KINESIS_PUT_RECORDS_MAX_RECORDS:
        raise ScenarioError(
            f"BATCH_SIZE must be 1..{limits.KINESIS_PUT_RECORDS_MAX_RECORDS}, got {s.batch_size}"
        )
    if not 128 <= s.record_bytes <= limits.KINESIS_DEFAULT_MAX_RECORD_BYTES // 2:
        raise ScenarioError(
            f"RECORD_BYTES must be 128..{limits.KINESIS_DEFAULT_MAX_RECORD_BYTES // 2},"
            f" got {s.record_bytes}"
        )
    if not 0 < s.hot_key_share < 1:
        raise ScenarioError(f"HOT_KEY_SHARE must be between 0 and 1, got {s.hot_key_share:g}")
    if s.zipf_s <= 0 or s.key_count < 1:
        raise ScenarioError("ZIPF_S must be > 0 and KEY_COUNT >= 1")
    if s.steps < 1:
        raise ScenarioError(f"STEPS must be >= 1, got {s.steps}")
    if s.spike_multiplier < 1:
        raise ScenarioError(f"SPIKE_MULTIPLIER must be >= 1, got {s.spike_multiplier:g}")
    g = s.gates
    for name in ("p95_ms", "p99_ms", "error_rate", "min_achieved_ratio"):
        value = getattr(g, name)
        if value is not None:
            _positive(f"GATE_{name.upper()}", value, allow_zero=name == "error_rate")
    if g.max_lost is not None and g.max_lost < 0:
        raise ScenarioError(f"GATE_MAX_LOST must be >= 0, got {g.max_lost}")
    return s


def resolve(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """The named scenario with overrides (field names of Scenario, Gates or Search) applied."""
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}")
    scenario = SCENARIOS[name]
    top, gates, search = {}, {}, {}
    gate_names = {f.name for f in fields(Gates)}
    search_names = {f.name for f in fields(Search)}
    top_names = {f.name for f in fields(Scenario)} - {"name", "description", "gates", "search"}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in gate_names:
            gates[key] = value
        elif key in search_names:
            search[key] = value
        elif key in top_names:
            top[key] = value
        else:
            raise ScenarioError(f"unknown option {key!r}")
    scenario = replace(
        scenario,
        **top,
        gates=replace(scenario.gates, **gates),
        search=replace(scenario.search, **search),
    )
    return validate(scenario)


@dataclass(frozen=True)
class Phase:
    """A stretch of constant target rates (the fixed shapes; capacity probes are made live)."""

    name: str
    start_s: float
    duration_s: float
    rate: float
    read_rate: float
    probe_rate: float


def plan(scenario: Scenario) -> list[Phase]:
    """The phases of a non-adaptive shape, back to back, summing to the duration."""
    s = scenario
    ingest = s.rate if s.mix != "read" else 0.0
    reads = s.read_rate if s.mix != "ingest" else 0.0
    probes = s.probe_rate if s.mix != "read" else 0.0
    if s.shape == "constant":
        return [Phase("steady", 0.0, s.duration_s, ingest, reads, probes)]
    if s.shape == "step":
        each = s.duration_s / s.steps
        return [
            Phase(
                f"step-{i + 1}",
                i * each,
                each,
                ingest * (i + 1) / s.steps,
                reads * (i + 1) / s.steps,
                probes,
            )
            for i in range(s.steps)
        ]
    if s.shape == "spike":
        base, spike = 0.4 * s.duration_s, 0.2 * s.duration_s
        return [
            Phase("base", 0.0, base, ingest, reads, probes),
            Phase(
                "spike",
                base,
                spike,
                ingest * s.spike_multiplier,
                reads * s.spike_multiplier,
                probes,
            ),
            Phase("recovery", base + spike, s.duration_s - base - spike, ingest, reads, probes),
        ]
    raise ScenarioError(f"shape {s.shape!r} has no fixed plan (capacity is searched live)")

"""What the orchestrator tells the Locust processes: one JSON file named by an env variable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadtests.scenarios import Gates, Scenario, Search

CONFIG_ENV = "REDLINE_LOADTEST_CONFIG"


@dataclass(frozen=True)
class Endpoints:
    region: str
    stream_name: str
    table_name: str
    api_url: str
    aws_endpoint_url: str | None = None  # None: AWS itself (credentials from the standard chain)
    ingest_function: str = ""
    api_function: str = ""
    dead_letter_queue_url: str = ""
    dead_letter_queue_name: str = ""
    environment: str = "local"
    api_id: str = ""
    type_index_name: str = "by_type"
    api_auth: str = "NONE"  # NONE | AWS_IAM (SigV4 for execute-api) | JWT (REDLINE_API_TOKEN)


@dataclass(frozen=True)
class RunConfig:
    run_id: str
    run_dir: str
    work_dir: str  # scratch: acked ids, controller state (not part of the run folder)
    scenario: Scenario
    endpoints: Endpoints
    target: str = "local"
    workers: int = 1
    users: dict[str, int] = field(default_factory=dict)  # user class -> users per process
    start_rate: float = 100.0  # capacity: first probe
    cloudwatch_in_loop: bool = True  # per-second metrics exist (local stack)
    records: str = ""  # --records module:function ("" = Redline's events)
    on_worker_loss: str = "fail"  # loadtests.workers.ON_WORKER_LOSS
    health_checks: list[dict[str, str]] = field(default_factory=list)  # loadtests.health
    stack_logs: str = ""  # the local stack's log folder (copied to the run folder's logs/)
    audit: dict[str, Any] = field(default_factory=dict)  # pipeline.config.AuditConfig's fields
    table_plan: dict[str, Any] | None = None  # loadtests.table_knee.TablePlan: table can bind

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        scenario = dict(data["scenario"])
        scenario["gates"] = Gates(**scenario["gates"])
        scenario["search"] = Search(**scenario["search"])
        return cls(
            **{
                **data,
                "scenario": Scenario(**scenario),
                "endpoints": Endpoints(**data["endpoints"]),
            }
        )

    @classmethod
    def from_env(cls) -> RunConfig:
        path = os.environ.get(CONFIG_ENV)
        if not path:
            raise RuntimeError(f"{CONFIG_ENV} is not set: run the load tests with `make loadtest`")
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


CONTROLLER_RESULT = "controller.json"  # in work_dir
RUN_BOUND_MARGIN_S = 60.0  # a run (a start, in the web UI) ends by its duration plus this
ACKED_PREFIX = "acked-"  # work_dir/acked-<pid>.txt: one "event_id" per line

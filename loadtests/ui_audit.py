"""The loss audit inside Locust's web UI (`make loadtest UI=1`), once per start.

Headless, `make loadtest` audits after Locust has quit. In the web UI the user stays: Stop
(or the end of a bounded plan) leaves the UI open for the figures and for another start. So
the master audits each start itself when its load ends, before Locust's test stops (the UI
refreshes the tab only while a test runs: the users idle at rate 0 until the audit is done),
in a greenlet (Locust has patched sockets and sleep, so boto3's calls and the drain's waits
yield to the UI and the workers' reports), with the same drain and read-back as headless
(loadtests.audit.run_audit):

- a start's ids are the lines its processes appended to the work folder's acked-*.txt files
  after it began (their sizes are noted at each start); ids of earlier starts stored or
  dead-lettered now are not counted as unexpected;
- progress ("draining: n of m sampled acknowledged ids stored") and then the result are what
  `/redline/audit` answers and the Redline tab shows;
- the result goes to the run folder: audit.json (the last start's, the same keys as headless,
  which `make loadtest` then uses for the summary and report) and audit-start-<n>.json for
  each start, with its verdict and the ids acknowledged more than once.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import gevent

from loadtests import audit as audits
from loadtests import folder
from loadtests.runconfig import ACKED_PREFIX, RunConfig
from pipeline.config import AuditConfig
from reports import runfolder as rf

WAITING: Final = "waiting"  # the load runs; nothing to audit yet
COLLECTING: Final = "collecting"  # stopped: the workers' last acknowledged ids arrive
DRAINING: Final = "draining"
READING: Final = "reading back"
DONE: Final = "done"
FAILED: Final = "failed"
NOT_AUDITED: Final = "not audited"
START_AUDIT_FILE: Final = "audit-start-{start}.json"
START_DIR: Final = "ui-start-{start}"  # in the work folder: one start's acknowledged ids


@dataclass
class StartAudit:
    """One start's audit as the UI shows it."""

    start: int
    state: str = WAITING
    stored_of_tail: int = 0
    tail: int = 0
    result: dict[str, Any] | None = None
    duplicates_acknowledged: int = 0
    verdict: str = ""
    error: str = ""
    started_at: float | None = None
    offsets: dict[str, int] = field(default_factory=dict)
    ends: dict[str, int] | None = None  # the sizes when its last ids had arrived

    def to_dict(self, run_dir: str) -> dict[str, Any]:
        return {
            "start": self.start,
            "state": self.state,
            "draining": {"stored": self.stored_of_tail, "of": self.tail},
            "result": self.result,
            "duplicates_acknowledged": self.duplicates_acknowledged,
            "verdict": self.verdict,
            "error": self.error,
            "run_folder": run_dir,
            "audit_file": str(Path(run_dir) / START_AUDIT_FILE.format(start=self.start)),
        }


def verdict_of(result: audits.AuditResult) -> str:
    if result.lost == 0:
        return "nothing lost: every acknowledged record is stored or dead-lettered"
    if not result.drained:
        return (
            f"{result.lost} not stored after {result.drain_wait_s:.0f} s of waiting: the consumer"
            " had not caught up, or they are lost (raise --drain-timeout, read logs/)"
        )
    return f"LOST {result.lost} acknowledged records: neither stored nor dead-lettered"


def acked_sizes(work_dir: str | Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in Path(work_dir).glob(f"{ACKED_PREFIX}*.txt")}


def split_acked(
    work_dir: str | Path, offsets: dict[str, int], ends: dict[str, int]
) -> tuple[list[str], set[str]]:
    """The id lines written between `offsets` and `ends` (one start), and every other id."""
    within: list[str] = []
    others: set[str] = set()
    for path in sorted(Path(work_dir).glob(f"{ACKED_PREFIX}*.txt")):
        data = path.read_bytes()
        begin, end = offsets.get(path.name, 0), ends.get(path.name, 0)
        within.extend(_lines(data[begin:end]))
        others.update(_lines(data[:begin]), _lines(data[end:]))
    return within, others


def _lines(data: bytes) -> list[str]:
    return [line for line in data.decode("utf-8").splitlines() if line]


class UiAudits:
    """Audits each start of the web UI session in a greenlet; `status()` is the tab's view."""

    def __init__(
        self,
        config: RunConfig,
        flush_acked: Callable[[], None],
        settle_s: float,
        audit: Callable[..., audits.AuditResult] = audits.run_audit,
    ):
        self.config = config
        self.flush_acked = flush_acked
        self.settle_s = settle_s  # the last worker reports arrive within this after a stop
        self.run_audit = audit
        self.schema = AuditConfig(**config.audit)
        self.starts: list[StartAudit] = []
        self._greenlets: list[gevent.Greenlet] = []
        self._closed = False

    def begin_start(self) -> None:
        """A start (autostart or Start in the UI): its ids are the lines written from now on.
        An earlier start's audit still running goes on; its ids end here at the latest."""
        self.flush_acked()
        sizes = acked_sizes(self.config.work_dir)
        if self.starts and self.starts[-1].ends is None:
            self.starts[-1].ends = sizes
        self.starts.append(StartAudit(len(self.starts) + 1, offsets=sizes))
        # audit.json is always the last start's: never leave an earlier start's there
        (Path(self.config.run_dir) / rf.AUDIT_JSON).unlink(missing_ok=True)

    def on_plan_end(self) -> None:
        """The start's load has ended (its plan, its bound, or Stop): audit it, once."""
        if self._closed or not self.starts or self.starts[-1].state != WAITING:
            return
        start = self.starts[-1]
        if not self.schema.enabled:
            start.state, start.verdict = NOT_AUDITED, "audit.enabled is false in the environment"
            return
        start.state, start.started_at = COLLECTING, time.time()
        self._greenlets.append(gevent.spawn(self._audit, start))

    def auditing(self) -> bool:
        return bool(self.starts) and self.starts[-1].state in (COLLECTING, DRAINING, READING)

    def close(self) -> None:
        """Locust quits: an unfinished audit is left to `make loadtest`, as headless."""
        self._closed = True
        gevent.killall(self._greenlets, block=True)

    def status(self) -> dict[str, Any]:
        run_dir = self.config.run_dir
        return {
            "starts": [s.to_dict(run_dir) for s in self.starts],
            "current": self.starts[-1].to_dict(run_dir) if self.starts else None,
        }

    def _audit(self, start: StartAudit) -> None:
        try:
            gevent.sleep(self.settle_s)
            self.flush_acked()
            if start.ends is None:
                start.ends = acked_sizes(self.config.work_dir)
            ids, others = split_acked(self.config.work_dir, start.offsets, start.ends)
            start_dir = Path(self.config.work_dir) / START_DIR.format(start=start.start)
            start_dir.mkdir(exist_ok=True)
            (start_dir / f"{ACKED_PREFIX}start.txt").write_text(
                "".join(f"{i}\n" for i in ids), encoding="utf-8"
            )
            start.duplicates_acknowledged = sum(1 for n in Counter(ids).values() if n > 1)
            start.state = DRAINING

            def progress(stored: int, of: int) -> None:
                start.stored_of_tail, start.tail = stored, of
                if stored == of:
                    start.state = READING

            result = self.run_audit(
                self.config.endpoints,
                start_dir,
                prefix=f"{self.config.run_id}.",
                drain_timeout_s=self.config.scenario.drain_timeout_s,
                by_key=self.config.target == "aws",
                schema=self.schema,
                progress=progress,
                other_starts=frozenset(others - set(ids)),
            )
            run_dir = Path(self.config.run_dir)
            start.result = result.to_dict()
            start.verdict = verdict_of(result)
            folder.write_json(
                run_dir / START_AUDIT_FILE.format(start=start.start),
                {
                    "start": start.start,
                    **start.result,
                    "duplicates_acknowledged": start.duplicates_acknowledged,
                    "verdict": start.verdict,
                },
            )
            if start is self.starts[-1]:
                folder.write_json(run_dir / rf.AUDIT_JSON, start.result)
            start.state = DONE
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # shown in the tab; `make loadtest` audits again after quit
            start.state, start.error = FAILED, f"{type(exc).__name__}: {exc}"
            traceback.print_exc()

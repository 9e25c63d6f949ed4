"""The web UI's audit of each start: which ids a start owns, its progress, its files."""

from __future__ import annotations

import json
from pathlib import Path

import gevent

from loadtests import audit
from loadtests.runconfig import Endpoints, RunConfig
from loadtests.scenarios import SCENARIOS
from loadtests.ui_audit import DONE, NOT_AUDITED, WAITING, UiAudits, split_acked, verdict_of
from loadtests.webui import audit_rows
from reports import runfolder as rf


def config(tmp_path: Path, **audit_config) -> RunConfig:
    for name in ("run", "work"):
        (tmp_path / name).mkdir(exist_ok=True)
    return RunConfig(
        run_id="r1",
        run_dir=str(tmp_path / "run"),
        work_dir=str(tmp_path / "work"),
        scenario=SCENARIOS["smoke"],
        endpoints=Endpoints(region="us-east-1", stream_name="s", table_name="t", api_url="u"),
        audit=audit_config,
    )


class FakeTable:
    """Stands for the table and queue: what is stored; records what each audit was asked."""

    def __init__(self, stored: set[str]):
        self.stored = stored
        self.calls: list[dict] = []

    def run_audit(self, endpoints, work_dir, **kwargs) -> audit.AuditResult:
        produced, tails = audit.read_acked(work_dir)
        self.calls.append({"produced": produced, **kwargs})
        kwargs["progress"](len(set(tails) & self.stored), len(set(tails)))
        return audit.compare(produced, self.stored, set(), kwargs["other_starts"])


def append(work_dir: str, name: str, *ids: str) -> None:
    with (Path(work_dir) / f"acked-{name}.txt").open("a") as handle:
        handle.write("".join(f"{i}\n" for i in ids))


def run_start(audits: UiAudits, work_dir: str, *ids: str) -> None:
    audits.begin_start()
    append(work_dir, "master", *ids)
    audits.on_plan_end()
    gevent.wait(audits._greenlets)


def test_split_acked_takes_one_starts_lines_from_every_file(tmp_path):
    (tmp_path / "acked-1.txt").write_text("a\nb\nc\n")
    (tmp_path / "acked-2.txt").write_text("x\ny\n")
    within, others = split_acked(tmp_path, {"acked-1.txt": 2}, {"acked-1.txt": 6, "acked-2.txt": 4})
    assert within == ["b", "c", "x", "y"]
    assert others == {"a"}


def test_each_start_is_audited_alone_and_writes_its_files(tmp_path):
    cfg = config(tmp_path)
    table = FakeTable(stored={"r1.a", "r1.b", "r1.c"})
    audits = UiAudits(cfg, flush_acked=lambda: None, settle_s=0, audit=table.run_audit)
    assert audits.status()["current"] is None

    run_start(audits, cfg.work_dir, "r1.a", "r1.b", "r1.b")
    first = audits.status()["current"]
    assert first["state"] == DONE and first["start"] == 1
    assert first["result"]["produced"] == 2 and first["result"]["lost"] == 0
    assert first["duplicates_acknowledged"] == 1
    assert first["result"]["unexpected"] == 1  # r1.c: stored, nobody acknowledged it
    assert first["verdict"].startswith("nothing lost")
    run_dir = Path(cfg.run_dir)
    assert json.loads((run_dir / rf.AUDIT_JSON).read_text()) == first["result"]

    audits.begin_start()  # Start pressed again: the old audit.json is not this start's
    assert audits.status()["current"]["state"] == WAITING
    assert not (run_dir / rf.AUDIT_JSON).exists()
    append(cfg.work_dir, "master", "r1.c", "r1.d")
    audits.on_plan_end()
    gevent.wait(audits._greenlets)

    second = audits.status()["current"]
    assert table.calls[1]["produced"] == {"r1.c", "r1.d"}
    assert table.calls[1]["other_starts"] == {"r1.a", "r1.b"}
    assert second["result"]["lost"] == 1 and second["result"]["lost_sample"] == ["r1.d"]
    assert second["result"]["unexpected"] == 0  # start 1's ids are not this start's surprise
    assert second["verdict"] == "LOST 1 acknowledged records: neither stored nor dead-lettered"
    assert json.loads((run_dir / rf.AUDIT_JSON).read_text()) == second["result"]
    kept = json.loads((run_dir / "audit-start-1.json").read_text())
    assert kept["start"] == 1 and kept["produced"] == 2 and kept["duplicates_acknowledged"] == 1
    assert [s["start"] for s in audits.status()["starts"]] == [1, 2]


def test_an_audit_switched_off_says_so_in_the_tab(tmp_path):
    cfg = config(tmp_path, enabled=False)
    audits = UiAudits(cfg, flush_acked=lambda: None, settle_s=0, audit=FakeTable(set()).run_audit)
    audits.begin_start()
    audits.on_plan_end()
    current = audits.status()["current"]
    assert current["state"] == NOT_AUDITED
    assert audit_rows(current) == [
        ("audit (start 1)", "not audited: audit.enabled is false in the environment")
    ]


def test_the_tab_shows_progress_then_the_figures():
    draining = {"start": 2, "state": "draining", "draining": {"stored": 40, "of": 100}}
    assert audit_rows(draining) == [
        ("audit (start 2)", "draining: 40 of 100 sampled acknowledged records stored")
    ]
    result = audit.compare({"a", "b"}, {"a"}, {"b"}).to_dict()
    done = {
        "start": 1,
        "state": DONE,
        "result": result,
        "verdict": "nothing lost: every acknowledged record is stored or dead-lettered",
        "duplicates_acknowledged": 0,
        "run_folder": "results/r1",
    }
    rows = dict(audit_rows(done))
    assert rows["audit (start 1)"].startswith("nothing lost")
    assert (rows["produced (acknowledged)"], rows["stored"], rows["dead-lettered"]) == (
        "2",
        "1",
        "1",
    )
    assert rows["lost"] == "0" and rows["run folder"] == "results/r1"


def test_a_verdict_says_when_the_consumer_had_not_caught_up():
    result = audit.compare({"a", "b"}, {"a"}, set())
    result.drained, result.drain_wait_s = False, 30.0
    assert verdict_of(result).startswith("1 not stored after 30 s of waiting")

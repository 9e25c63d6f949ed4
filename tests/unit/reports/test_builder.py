"""The report builder on synthetic run folders: verdict, sizing, files, recommended file."""

import csv
import json
import re

import pytest

from pipeline.config import parse_environment
from reports import runfolder as rf
from reports.cli import main
from tests.unit.reports import runs

REPORT_FILES = (
    rf.REPORT_HTML,
    rf.REPORT_MD,
    rf.SUMMARY_JSON,
    rf.RECOMMENDED_TFVARS,
    rf.RECOMMENDED_DIFF,
)


def _build(run, *args):
    return main(["build", str(run), *args])


def _sizing(summary, label):
    return next(s for s in summary["sizing"] if s["label"] == label)


def test_capacity_run_knee_bottleneck_and_files(capacity_run, capsys):
    assert _build(capacity_run) == 0
    out = capsys.readouterr().out
    assert "knee: 996 records/s; first bottleneck: Kinesis shard writes" in out
    for name in REPORT_FILES:
        assert (capacity_run / name).is_file(), name
    for chart in ("throughput", "latency", "utilization", "iterator-age"):
        png = (capacity_run / rf.CHARTS_DIR / f"{chart}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
    summary = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    assert summary["knee"]["target_rate"] == pytest.approx(996.1)
    with (capacity_run / rf.STEPS_CSV).open() as handle:
        knee_step = next(
            r
            for r in csv.DictReader(handle)
            if r["sustained"] == "true" and float(r["target_rate"]) == pytest.approx(996.1, abs=0.1)
        )
    # the knee is what was accepted at the highest sustained step, the offered rate beside it
    assert summary["knee_rps"] == pytest.approx(float(knee_step["accepted_rate"]))
    assert summary["knee"]["offered_rate"] == pytest.approx(float(knee_step["offered_rate"]))
    assert summary["knee"]["reached"] is True
    assert summary["knee"]["first_failed_rate"] == pytest.approx(1010.7)
    bottleneck = summary["bottleneck"]
    assert bottleneck["resource"] == "Kinesis shard writes"
    assert bottleneck["metric"] == "AWS/Kinesis WriteProvisionedThroughputExceeded"
    assert bottleneck["first_elapsed_s"] == 21  # probe-4 (1,172/s) starts at 21 s
    assert "offered 1,172 records/s then" in bottleneck["evidence"]
    assert "at 100% of its limit" in bottleneck["evidence"]


def test_one_shard_at_1000_records_of_1_kb_recommends_at_least_5_shards_for_5x(capacity_run):
    assert _build(capacity_run) == 0
    summary = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    five = _sizing(summary, "5x")
    assert five["records_per_s"] == pytest.approx(5 * summary["knee_rps"])  # sized on accepted
    assert five["shards"] >= 5
    assert five["shards_at_limit"] == 5
    assert set(five["monthly_cost"]) == {"Kinesis", "DynamoDB", "Lambda"}
    assert set(five["monthly_cost"]["Kinesis"]) == {"provisioned", "on-demand"}
    assert set(five["monthly_cost"]["DynamoDB"]) == {"provisioned", "on-demand"}
    assert five["cheaper"]["Kinesis"] == "provisioned"
    markdown = (capacity_run / rf.REPORT_MD).read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| 5x | 4,980 |"))
    assert "**8** (5)" in row
    cost_row = next(line for line in markdown.splitlines() if line.startswith("| 5x | **$"))
    assert len(re.findall(r"\$[\d,]+\.\d\d", cost_row)) == 6  # 2 + 2 options, Lambda, total
    assert "Kinesis provisioned, DynamoDB provisioned" in cost_row


def test_the_verdict_comes_first_and_names_gates_and_loss(capacity_run):
    assert _build(capacity_run) == 0
    markdown = (capacity_run / rf.REPORT_MD).read_text()
    sections = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert sections[:4] == [
        "## Verdict",
        "## Charts",
        "## Sizing for growth",
        "## Recommended environment file",
    ]
    assert (
        "**Carries 996 records/s (accepted; offered 996) before something gives; Kinesis shard"
        in markdown
    )
    assert "- **Gates:** 2 of 2 passed" in markdown
    assert "- **Lost:** 0 (" in markdown
    assert "limits are **emulated** by the local stack" in markdown
    for chart in ("throughput", "latency", "utilization", "iterator-age"):
        assert f"](charts/{chart}.png)" in markdown


def test_html_is_one_self_contained_file(capacity_run):
    assert _build(capacity_run) == 0
    html = (capacity_run / rf.REPORT_HTML).read_text()
    assert html.count('<svg role="img"') == 4
    assert "<style>" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    assert "<script" not in html
    assert 'id="emulated"' in html
    diff = html.split('<pre class="diff">')[1].split("</pre>")[0]
    assert '\n<span class="del">-    &#34;shard_count&#34;: 1,</span>\n' in diff
    assert '\n<span class="add">+    &#34;shard_count&#34;: 3,</span>\n' in diff


def test_table_bound_run_names_the_table_and_sizes_wcu(table_run):
    assert _build(table_run) == 0
    summary = json.loads((table_run / rf.SUMMARY_JSON).read_text())
    assert summary["bottleneck"]["resource"] == "DynamoDB table writes"
    assert summary["bottleneck"]["metric"] == "AWS/DynamoDB WriteThrottleEvents"
    # the producer saw no throttle: the knee comes from the table's throttles past the stream
    assert summary["knee"]["source"].startswith("timeline")
    assert summary["knee_rps"] < 200
    assert "throttled past the stream" in summary["knee"]["first_failed_reasons"]
    one = _sizing(summary, "1x")
    # 1 KB events are 2 WCU items: WCU = rate x 2 / 0.7
    assert one["table_wcu"] == pytest.approx(summary["knee_rps"] * 2 / 0.7, abs=1)
    assert one["shards"] == 1


def test_recommended_file_validates_and_carries_the_target(capacity_run):
    assert _build(capacity_run, "--target-rate", "3000") == 0
    recommended = json.loads((capacity_run / rf.RECOMMENDED_TFVARS).read_text())
    config = parse_environment(recommended)
    assert config.stream.shard_count == 5  # 3,000 / 0.7 = 4,286 records/s
    assert config.table.write_capacity == pytest.approx(3000 * 2 / 0.7, abs=1)
    assert config.table.type_index.write_capacity == config.table.write_capacity
    summary = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    assert summary["recommended"]["label"] == "target"
    assert summary["recommended"]["records_per_s"] == 3000
    diff = (capacity_run / rf.RECOMMENDED_DIFF).read_text()
    assert '-    "shard_count": 1,' in diff
    assert '+    "shard_count": 5,' in diff
    assert "```diff" in (capacity_run / rf.REPORT_MD).read_text()


def test_keep_modes_keeps_the_runs_capacity_modes(capacity_run):
    assert _build(capacity_run, "--keep-modes", "--target-rate", "100000") == 0
    config = parse_environment(json.loads((capacity_run / rf.RECOMMENDED_TFVARS).read_text()))
    assert config.stream.mode.value == "PROVISIONED"
    assert config.table.billing_mode.value == "PROVISIONED"


def test_summary_keeps_what_the_load_test_wrote(capacity_run):
    path = capacity_run / rf.SUMMARY_JSON
    summary = json.loads(path.read_text())
    summary["measures"] = {"p95_ms": 57.0}
    path.write_text(json.dumps(summary))
    assert _build(capacity_run) == 0
    merged = json.loads(path.read_text())
    assert merged["measures"] == {"p95_ms": 57.0}
    assert merged["gates"][0]["name"] == "lost"
    assert merged["passed"] is True
    assert merged["lost"] == 0
    assert merged["report"]["prices"]["region"] == "us-east-1"


def test_rebuilding_gives_the_same_report(capacity_run):
    assert _build(capacity_run) == 0
    first = (capacity_run / rf.REPORT_MD).read_text()
    assert _build(capacity_run) == 0
    assert (capacity_run / rf.REPORT_MD).read_text() == first
    assert not [p for p in capacity_run.iterdir() if p.name.startswith(".report-")]


def test_failed_gates_and_loss_make_the_verdict_fail(capacity_run):
    audit = json.loads((capacity_run / rf.AUDIT_JSON).read_text())
    audit["lost"] = 3
    (capacity_run / rf.AUDIT_JSON).write_text(json.dumps(audit))
    assert _build(capacity_run) == 0
    markdown = (capacity_run / rf.REPORT_MD).read_text()
    assert markdown.startswith("# Capacity report: 20260921-125320-capacity (FAIL)")
    assert "- **Lost: 3** acknowledged records missing from the table." in markdown


def test_a_run_on_aws_says_limits_are_aws_own(capacity_run):
    run = json.loads((capacity_run / rf.RUN_JSON).read_text())
    run.update(target="aws", limits_emulated=False)
    (capacity_run / rf.RUN_JSON).write_text(json.dumps(run))
    assert _build(capacity_run) == 0
    markdown = (capacity_run / rf.REPORT_MD).read_text()
    assert "emulated" not in markdown.split("## Run facts")[0]
    assert "| limits | AWS's own |" in markdown


def test_prices_override_changes_the_costs(capacity_run, tmp_path):
    assert _build(capacity_run) == 0
    before = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"kinesis": {"shard_hour": 0.030}, "checked": "2027-01-01"}))
    assert _build(capacity_run, "--prices", str(prices)) == 0
    after = json.loads((capacity_run / rf.SUMMARY_JSON).read_text())
    k_before = _sizing(before, "1x")["monthly_cost"]["Kinesis"]["provisioned"]
    k_after = _sizing(after, "1x")["monthly_cost"]["Kinesis"]["provisioned"]
    shards = _sizing(after, "1x")["shards"]
    assert k_after - k_before == pytest.approx(shards * 730 * 0.015, abs=0.02)
    assert "prices checked 2027-01-01" in (capacity_run / rf.REPORT_MD).read_text()


def test_a_read_only_run_sizes_the_api_and_leaves_the_write_side_alone(tmp_path):
    pipeline = runs.Pipeline(read_rate=100.0, api_rate_limit=80.0)
    run = runs.write_run(
        tmp_path / "reads", pipeline, [("steady", 0.0, 20)], "read", capacity_search=False
    )
    assert _build(run) == 0
    summary = json.loads((run / rf.SUMMARY_JSON).read_text())
    assert summary["bottleneck"]["resource"] == "API rate limit"
    assert "offered 100 requests/s then" in summary["bottleneck"]["evidence"]
    assert summary["knee_rps"] is None
    two = _sizing(summary, "2x")
    assert two["reads_per_s"] == pytest.approx(160)
    assert two["records_per_s"] == 0
    markdown = (run / rf.REPORT_MD).read_text()
    assert "**No rate was sustained: the knee is below 100 requests/s;" in markdown
    diff = (run / rf.RECOMMENDED_DIFF).read_text()
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert '+    "throttling_rate_limit": 229.0,' in changed
    assert not [line for line in changed if "shard_count" in line or "write_capacity" in line]


def test_a_hot_key_caps_growth_whatever_the_shards(tmp_path):
    run = runs.capacity_run(tmp_path / "hot", options={"key_strategy": "hot", "hot_key_share": 0.5})
    assert _build(run) == 0
    summary = json.loads((run / rf.SUMMARY_JSON).read_text())
    assert _sizing(summary, "2x")["warnings"] == []  # 1,992/s: the hot key carries 996/s
    five = _sizing(summary, "5x")
    assert five["warnings"][0].startswith(
        "hot key: one key carries 50% of the records, so its shard caps the stream at"
        " 2,000 records/s whatever the shard count"
    )
    assert "hot key: one key carries 50%" in (run / rf.REPORT_MD).read_text()


def test_without_a_throttle_the_load_tests_bottleneck_is_kept(tmp_path):
    run = runs.write_run(
        tmp_path / "calm",
        runs.Pipeline(table_wcu=4000),
        [("step-1", 100.0, 10), ("step-2", 200.0, 10)],
        "step",
        capacity_search=False,
    )
    summary_path = run / rf.SUMMARY_JSON
    summary = json.loads(summary_path.read_text())
    summary["bottleneck"] = {
        "resource": "ingest consumer throughput",
        "metric": "e2e.probe produced->readable p95",
        "evidence": "at 200 records/s nothing throttled but the consumer fell behind",
    }
    summary_path.write_text(json.dumps(summary))
    assert _build(run) == 0
    merged = json.loads(summary_path.read_text())
    assert merged["bottleneck"]["resource"] == "ingest consumer throughput"
    assert "loadtest_bottleneck" not in merged
    markdown = (run / rf.REPORT_MD).read_text()
    assert "nothing throttled, the limit was the ingest consumer throughput." in markdown
    assert "the consumer fell behind" in markdown


def test_a_different_load_test_bottleneck_is_kept_beside_the_reports(capacity_run):
    summary_path = capacity_run / rf.SUMMARY_JSON
    summary = json.loads(summary_path.read_text())
    summary["bottleneck"] = {"resource": "load generator", "evidence": "add WORKERS"}
    summary_path.write_text(json.dumps(summary))
    assert _build(capacity_run) == 0
    merged = json.loads(summary_path.read_text())
    assert merged["bottleneck"]["resource"] == "Kinesis shard writes"
    assert merged["loadtest_bottleneck"]["resource"] == "load generator"


def test_text_from_the_run_folder_is_escaped_in_the_html(capacity_run):
    run = json.loads((capacity_run / rf.RUN_JSON).read_text())
    run["scenario"] = "<img src=x onerror=alert(1)>"
    (capacity_run / rf.RUN_JSON).write_text(json.dumps(run))
    assert _build(capacity_run) == 0
    html = (capacity_run / rf.REPORT_HTML).read_text()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_autoscaling_gets_room_above_the_new_units_only_when_enabled(capacity_run):
    assert _build(capacity_run) == 0
    off = parse_environment(json.loads((capacity_run / rf.RECOMMENDED_TFVARS).read_text()))
    assert off.table.autoscaling.max_write_capacity == 3000  # untouched: autoscaling is off
    run = json.loads((capacity_run / rf.RUN_JSON).read_text())
    run["environment"]["table"]["autoscaling"]["enabled"] = True
    # the run's 4,000 WCU are the autoscaling minimum: the maximum may not be below it
    run["environment"]["table"]["autoscaling"]["max_write_capacity"] = 4000
    (capacity_run / rf.RUN_JSON).write_text(json.dumps(run))
    assert _build(capacity_run) == 0
    on = parse_environment(json.loads((capacity_run / rf.RECOMMENDED_TFVARS).read_text()))
    assert on.table.autoscaling.max_write_capacity == 2 * on.table.write_capacity


def test_a_table_bound_search_shows_observed_and_predicted_knees_and_the_burst(table_run):
    summary_path = table_run / rf.SUMMARY_JSON
    summary = json.loads(summary_path.read_text())
    summary["table_knee"] = {
        "table": "redline-events-local",
        "provisioned_wcu": 200,
        "observed_knee_rps": 150.0,
        "predicted_knee_rps": 200.0,
        "units_per_record": 1.0,
        "agreement": {"agree": False, "why": "the observed knee is -25.0% below ..."},
        "burst": {
            "overload_rps": 600.0,
            "overload_ratio": 3.0,
            "time_to_throttle_s": 151.0,
            "resolution_s": 1,
            "credit_wcu_s": 60000,
            "carry_s": {"1.5x": 600.0, "2x": 300.0, "3x": 150.0},
        },
    }
    summary_path.write_text(json.dumps(summary))
    assert _build(table_run) == 0
    report = (table_run / rf.REPORT_MD).read_text()
    assert "sustained knee 150 records/s (observed); prediction 200 records/s" in report
    assert "DISAGREE: the observed knee is -25.0% below" in report
    assert "burst: throttled after 151 s (+-1 s) at 600 records/s (3.0x" in report
    assert "the table carries 1.5x for 600 s, 2x for 300 s, 3x for 150 s" in report
    assert "throttled after 151 s" in (table_run / rf.REPORT_HTML).read_text()
    rebuilt = json.loads(summary_path.read_text())
    assert rebuilt["table_knee"]["burst"]["time_to_throttle_s"] == 151.0  # kept

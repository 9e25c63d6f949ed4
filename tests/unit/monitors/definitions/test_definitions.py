import json
import shutil
import subprocess

import hcl2
import pytest

from monitors.definitions import catalog, render
from monitors.definitions.__main__ import main
from monitors.definitions.nrql import all_queries, check_all, check_query
from pipeline.config import REPO_ROOT

MODULE = REPO_ROOT / "terraform" / "modules" / "newrelic"


def test_generated_files_are_current():
    stale = [str(p.relative_to(REPO_ROOT)) for p in render.stale_files()]
    assert stale == [], f"run `make dashboards`: {stale}"


def test_every_query_names_only_metrics_and_attributes_the_forwarder_sends():
    queries = list(all_queries())
    # the catalog, the module's two templates and the UI dashboard are all read
    assert len(queries) > 4 * len(catalog.CONDITIONS)
    assert check_all() == []


@pytest.mark.parametrize(
    ("nrql", "problem"),
    [
        (
            "SELECT sum(`pipeline.ingest.stord`) FROM Metric",
            "unknown metric 'pipeline.ingest.stord'",
        ),
        (
            "SELECT sum(`pipeline.ingest.stored`) FROM Metric FACET shard",
            "unknown attribute 'shard'",
        ),
        (
            "SELECT count(*) FROM Transaction",
            "reads 'Transaction'; the forwarder sends Metric only",
        ),
        ("SELECT median(`pipeline.e2e.latency`) FROM Metric", "unknown function 'median'"),
        (
            "SELECT count(*) FROM Metric WHERE metricName = 'pipeline.nope'",
            "unknown metric \"'pipeline.nope'\"",
        ),
        ("SELECT sum(`aws.kinesis.IncomingRecords.byStream`)", "no FROM clause"),
    ],
)
def test_the_check_catches_what_new_relic_would_silently_chart_as_empty(nrql, problem):
    problems = check_query(nrql, "test")
    assert any(problem in p for p in problems), problems


def test_known_names_and_keywords_pass():
    nrql = (
        "SELECT max(`aws.lambda.IteratorAge.byFunction`) FROM Metric WHERE environment = 'x' "
        "AND component IN ('ingest') AND metricName = 'pipeline.ingest.stored' FACET function "
        "TIMESERIES 1 minute SINCE 30 minutes ago"
    )
    assert check_query(nrql) == []


def test_dashboard_has_the_four_pages_and_every_query_is_per_environment():
    document = json.loads(render.ui_dashboard("prod", 1234567))
    assert [page["name"] for page in document["pages"]] == ["Overview", "Ingest", "Storage", "API"]
    for page in document["pages"]:
        for widget in page["widgets"]:
            (query,) = widget["rawConfiguration"]["nrqlQueries"]
            assert query["accountIds"] == [1234567]
            assert "environment = 'prod'" in query["query"]
            layout = widget["layout"]
            assert layout["column"] + layout["width"] - 1 <= 12
    assert document["name"] == "Redline (prod)"


def test_alerts_cover_the_issue_list_and_service_levels_exist():
    keys = {c.key for c in catalog.CONDITIONS}
    assert {
        "e2e_latency_p95",
        "ingest_error_rate",
        "api_error_rate",
        "end_to_end_error_rate",
        "iterator_age",
        "shard_throttling",
        "table_throttling",
        "dlq_growth",
        "forwarder_silence",
    } <= keys
    silence = next(c for c in catalog.CONDITIONS if c.key == "forwarder_silence")
    assert silence.loss_of_signal_s
    assert {s.key for s in catalog.SERVICE_LEVELS} == {"ingest_success", "api_latency"}
    for condition in catalog.CONDITIONS:
        assert "${environment}" in condition.nrql


def test_module_templates_carry_terraform_placeholders():
    template = render.DASHBOARD_TEMPLATE.read_text()
    assert '"accountIds": [\n' in template and "${account_id}" in template
    definitions = json.loads(render.DEFINITIONS_TEMPLATE.read_text())
    assert set(definitions["conditions"]) == {c.key for c in catalog.CONDITIONS}
    assert "%{" not in template + render.DEFINITIONS_TEMPLATE.read_text()


def test_module_variables_are_typed_and_described():
    variables = hcl2.loads((MODULE / "variables.tf").read_text())["variable"]
    for block in variables:
        ((name, body),) = block.items()
        assert body.get("type"), f"{name} has no type"
        assert body.get("description"), f"{name} has no description"
    names = {name.strip('"') for block in variables for name in block}
    assert {"environment", "account_id", "notification_destination_id"} <= names
    main_tf = hcl2.loads((MODULE / "main.tf").read_text())
    kinds = {kind.strip('"') for resource in main_tf["resource"] for kind in resource}
    assert {
        "newrelic_one_dashboard_json",
        "newrelic_alert_policy",
        "newrelic_nrql_alert_condition",
        "newrelic_service_level",
        "newrelic_workflow",
        "newrelic_notification_channel",
    } <= kinds
    for name in ("versions.tf", "outputs.tf"):
        hcl2.loads((MODULE / name).read_text())


def test_module_is_terraform_fmt_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH: install Terraform >= 1.11 (fmt works offline)")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-diff", "-recursive", str(MODULE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_check_and_dashboard(tmp_path, capsys):
    assert main(["check"]) == 0
    out = tmp_path / "dash.json"
    assert main(["dashboard", "--environment", "dev", "--account-id", "42", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["pages"][0]["widgets"][0]["rawConfiguration"]["nrqlQueries"][
        0
    ]["accountIds"] == [42]


def test_the_on_failure_queue_alerts_watch_its_depth_and_oldest_age():
    conditions = {c.key: c for c in catalog.CONDITIONS}
    depth, age = conditions["on_failure_depth"], conditions["on_failure_age"]
    assert "`aws.sqs.ApproximateNumberOfMessagesVisible.byQueue`" in depth.nrql
    assert "`aws.sqs.ApproximateAgeOfOldestMessage.byQueue`" in age.nrql
    for condition in (depth, age):
        assert "queue.role = 'on_failure'" in condition.nrql
        assert check_query(condition.nrql, condition.key) == []
    assert (depth.critical.operator, depth.critical.value) == ("above", 0)
    # Half of a 24 h retention less a 1 h maximum record age (Terraform passes each env's own).
    assert (age.critical.operator, age.critical.value) == ("above", 41_400)
    rendered = json.loads(
        render.DEFINITIONS_TEMPLATE.read_text().replace("${environment}", "prod")
    )["conditions"]
    assert rendered["on_failure_age"]["nrql"] == age.nrql.replace("${environment}", "prod")
    # The dead-letter widget no longer sums both queues.
    queries = [w.nrql for page in catalog.DASHBOARD.pages for w in page.widgets]
    assert any("queue.role = 'dead_letter'" in query for query in queries)


def test_the_module_takes_the_environments_on_failure_age_threshold():
    text = (MODULE / "main.tf").read_text()
    assert "var.on_failure_age_threshold_seconds" in text
    root = (REPO_ROOT / "terraform" / "main.tf").read_text()
    assert (
        "on_failure_age_threshold_seconds = module.ingest.on_failure_age_alarm_threshold_seconds"
        in root
    )
    assert "ON_FAILURE_QUEUE_URL = module.ingest.on_failure_queue_url" in root

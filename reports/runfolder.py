"""The run folder contract (DESIGN.md, "A run"): `results/<run-id>/`.

The load tests write it; the report builder and `make compare` read only it, so a run from
AWS and a run from the local stack are read the same way. docs/run-folder.md describes
every file; the names and columns below are the single source.
"""

from typing import Final

RESULTS_DIR: Final = "results"
LATEST_LINK: Final = "latest"

RUN_JSON: Final = "run.json"
TIMELINE_CSV: Final = "timeline.csv"
STEPS_CSV: Final = "steps.csv"
CLOUDWATCH_CSV: Final = "cloudwatch.csv"
AUDIT_JSON: Final = "audit.json"
SUMMARY_JSON: Final = "summary.json"
KINESIS_SHARDS_CSV: Final = "kinesis_shards.csv"  # shard-level Kinesis metrics (optional)
KINESIS_SHARDS_COLUMNS: Final = ("timestamp", "period_s", "shard_id", "metric", "stat", "value")
REPORT_MD: Final = "report.md"
REPORT_HTML: Final = "report.html"
CHARTS_DIR: Final = "charts"
RECOMMENDED_TFVARS: Final = "recommended.tfvars.json"
RECOMMENDED_DIFF: Final = "recommended.tfvars.diff"  # unified diff against run.json's environment
NEWRELIC_PAYLOADS: Final = "newrelic-payloads.jsonl"
LOCUST_PREFIX: Final = (
    "locust"  # locust_stats.csv, locust_stats_history.csv, locust.html, locust.json
)
LOGS_DIR: Final = "logs"

# timeline.csv `request_type` values.
PUT_RECORDS: Final = "kinesis.put_records"
API_GET_EVENT: Final = "api.get_event"
API_QUERY: Final = "api.query"
E2E_PROBE: Final = "e2e.probe"
API_REQUEST_TYPES: Final = (API_GET_EVENT, API_QUERY)

# One row per second and request type.
TIMELINE_COLUMNS: Final = (
    "timestamp",  # epoch seconds (int), start of the second
    "elapsed_s",  # seconds since the run started
    "phase",  # scenario phase, e.g. "warmup", "step-3", "probe-1500"
    "request_type",  # e.g. kinesis.put_records, api.get_event, api.query, e2e.probe
    "target_rate",  # rate the scenario asked for (records/s or requests/s)
    "offered",  # records (or requests) sent this second
    "accepted",  # acknowledged
    "throttled",  # refused by a capacity limit (Kinesis ProvisionedThroughputExceeded, 429...)
    "errors",  # other failures
    "retries",  # producer retries of throttled records
    "offered_bytes",
    "accepted_bytes",
    "latency_p50_ms",  # from the intended start (coordinated omission corrected)
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
)

# One row per rate the capacity search (or a step shape) held.
STEPS_COLUMNS: Final = (
    "step",
    "phase",
    "started_at",  # epoch seconds
    "duration_s",
    "target_rate",
    "offered_rate",
    "accepted_rate",
    "throttled_rate",
    "error_rate",  # share of calls failed other than throttles
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "iterator_age_max_ms",
    "sustained",  # true when the pipeline kept up at this rate
    # Optional (older folders lack them; readers must not require them):
    "reasons",  # why the step was not sustained, "; "-separated ("" when sustained)
    "e2e_p95_ms",  # produced -> readable p95 of the step's probes (empty: none completed)
    "generator_limited",  # true when the load generator could not send the target rate
    "e2e_growth_ms_per_s",  # produced -> readable's trend over the probe (empty: too few)
)
STEPS_OPTIONAL_COLUMNS: Final = (
    "reasons",
    "e2e_p95_ms",
    "generator_limited",
    "e2e_growth_ms_per_s",
)

# The CloudWatch metrics of the run window, long format.
CLOUDWATCH_COLUMNS: Final = (
    "timestamp",  # epoch seconds, start of the period
    "period_s",  # 1 on the local stack, 60 on AWS
    "namespace",  # AWS/Kinesis, AWS/DynamoDB, AWS/Lambda, AWS/ApiGateway, Redline
    "metric",  # names from pipeline.metrics
    "dimensions",  # "Name=Value;Name=Value"
    "stat",  # Sum, Average, Maximum, p50, p95, p99, SampleCount
    "value",
)

AUDIT_KEYS: Final = ("produced", "stored", "dead_lettered", "lost", "unexpected")

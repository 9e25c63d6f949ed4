"""A TARGET=aws run against a stack the user describes by hand: priced, its IAM policy
printed, confirmed or refused before anything starts; your handlers checked before start."""

import fnmatch
import json

import boto3
import botocore.client
import pytest
from moto import mock_aws

from loadtests import audit, cli, cloudwatch, cost, iam, preflight
from loadtests import target as targets
from loadtests.outputs import OutputsError, endpoints_of, load_outputs
from loadtests.scenarios import resolve
from pipeline.config import load_environment
from reports.prices import load_prices

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
OUTPUTS = {
    "stream_name": "orders",
    "table_name": "orders-events",
    "region": REGION,
    "dead_letter_queue_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders-dlq",
    "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234",
    "account_id": ACCOUNT,
}


@pytest.fixture
def outputs_file(tmp_path):
    path = tmp_path / "orders.outputs.json"
    path.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    return path


@pytest.fixture
def nothing_starts(monkeypatch):
    """Any attempt to reach a stack fails the test: these runs must stop before."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the run started something")

    monkeypatch.setattr(targets, "start_local", refuse)
    monkeypatch.setattr(targets, "check_reachable", refuse)
    monkeypatch.setattr(cli, "run_locust", refuse)


def run(capsys, *argv):
    code = cli.main(["run", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def test_dry_run_prints_the_cost_and_the_policy_and_stops(
    capsys, outputs_file, tmp_path, nothing_starts
):
    # GIVEN a hand-written outputs file for a stack without a read API
    # WHEN a dry run of the smoke scenario is asked for
    code, out, err = run(
        capsys,
        "--target", "aws", "--env", "dev", "--scenario", "smoke",
        "--outputs", str(outputs_file), "--dry-run", "--results", str(tmp_path / "results"),
    )  # fmt: skip
    # THEN it prints the worst case, its price and the policy, and stops at the confirmation
    assert code == 0, err
    assert "readers and end-to-end probes are off" in out
    assert "records put          1,000" in out  # 50 records/s for 20 s
    assert "estimated cost, at most" in out
    policy = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert "kinesis:PutRecords" in iam.allowed_actions(policy)
    assert "dry run: stopping before the confirmation; nothing was started" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "error: TARGET=aws needs confirmation: pass --yes (YES=1 with make)"),
        (["--budget", "0.001", "--yes"], "error: --budget: the run may cost up to"),
        (["--budget", "0.001", "--dry-run"], "error: --budget: the run may cost up to"),
    ],
)
def test_an_unconfirmed_or_over_budget_run_is_refused_in_one_line(
    capsys, outputs_file, nothing_starts, extra, message
):
    code, _, err = run(
        capsys, "--target", "aws", "--scenario", "smoke", "--outputs", str(outputs_file), *extra
    )
    assert code == 2
    assert len(err) == 1 and err[0].startswith(message), err


def test_an_outputs_file_missing_a_field_is_named(capsys, tmp_path, nothing_starts):
    path = tmp_path / "out.json"
    path.write_text(json.dumps({"table_name": "t", "strem_name": "s"}), encoding="utf-8")
    code, _, err = run(capsys, "--target", "aws", "--outputs", str(path), "--dry-run")
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"error: {path}: stream_name: required field is missing;")
    assert "strem_name: unknown field (allowed: stream_name, table_name," in err[0]


def test_terraform_shaped_outputs_are_read_too(tmp_path):
    path = tmp_path / "dev.outputs.json"
    path.write_text(
        json.dumps(
            {
                "stream_name": {"value": "redline-events-dev", "type": "string"},
                "table_name": {"value": "redline-events-dev"},
                "aws_region": {"value": "us-east-1"},
                "api_url": {"value": "https://abc.execute-api.us-east-1.amazonaws.com"},
                "new_relic_dashboard_url": {"value": None},
            }
        ),
        encoding="utf-8",
    )
    outputs = load_outputs(path)
    assert (outputs.region, outputs.api_url) == (
        "us-east-1",
        "https://abc.execute-api.us-east-1.amazonaws.com",
    )
    with pytest.raises(OutputsError, match="api_url: String should match pattern"):
        load_outputs(_write(tmp_path / "x.json", {**OUTPUTS, "api_url": "ftp://x"}))


def _write(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_handler_that_cannot_be_imported_stops_the_run_before_it_starts(
    capsys, tmp_path, monkeypatch, nothing_starts
):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "my_ingest.py").write_text("def handle(event, context):\n    return {}\n")
    (tmp_path / "broken_ingest.py").write_text("def handle(event, context)\n    return {}\n")
    cases = {
        "ingest=nowhere_module.handle": "module 'nowhere_module' cannot be imported",
        "ingest=my_ingest.handler": "defines no top-level 'handler'",
        "ingest=broken_ingest.handle": "line 1: expected ':'",
    }
    for handler, message in cases.items():
        code, _, err = run(capsys, "--scenario", "smoke", "--handler", handler)
        assert code == 2 and len(err) == 1, err
        assert err[0].startswith(f"error: --handler {handler}: ") and message in err[0], err
    preflight.check_handler("ingest", "my_ingest.handle")  # the good one passes


def test_worst_case_counts_follow_the_scenario_shape():
    dev = load_environment("dev")
    prices = load_prices()
    spike = resolve("spike", {"rate": 100.0, "duration_s": 100.0, "probe_rate": 0.0})
    # 40 s at 100/s, 20 s at 400/s, 40 s at 100/s
    assert cost.worst_case_counts(spike)[0] == 16_000
    capacity = resolve("capacity", {"rate": 1000.0, "duration_s": 60.0, "probe_rate": 0.0})
    small = cost.estimate(capacity, dev, prices)
    big = cost.estimate(resolve("capacity", {"probe_rate": 0.0}), dev, prices)
    assert small.records == 60_000 and big.records == 20_000 * 120
    assert 0 < small.total < big.total
    assert small.prices_checked == prices.checked


@pytest.fixture
def stack():
    """A stack as the outputs file describes it, in moto (the account is moto's)."""
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName="orders", ShardCount=1)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="orders-events",
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="orders-events", Item={"event_id": {"S": "run1.p.1"}})
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"event_id": "run1.p.2"}))
        yield queue_url


IAM_PREFIX = {"monitoring": "cloudwatch"}  # CloudWatch signs as "monitoring"


def test_the_policy_allows_every_call_the_run_and_its_audit_make(stack, tmp_path, monkeypatch):
    # GIVEN the policy made for a run against this stack
    endpoints = endpoints_of(
        load_outputs(_write(tmp_path / "o.json", {**OUTPUTS, "dead_letter_queue_url": stack})),
        load_environment("dev"),
    )
    policy = iam.load_test_policy(
        endpoints, readers=False, kms_key_arn=OUTPUTS["kms_key_arn"], account_id=ACCOUNT
    )
    calls: list[tuple[str, str, dict]] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self, operation, params):
        prefix = self.meta.service_model.signing_name
        calls.append((IAM_PREFIX.get(prefix, prefix), operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    # WHEN the run checks the stream, puts records, audits by key and reads its metrics
    targets.check_reachable(endpoints, local=False)
    from loadtests.clients import kinesis_client

    kinesis_client(REGION, None).put_records(
        StreamName="orders", Records=[{"Data": b"{}", "PartitionKey": "k"}]
    )
    (tmp_path / "acked-1.txt").write_text("run1.p.1\nrun1.p.2\nrun1.p.3\n")
    result = audit.run_audit(endpoints, tmp_path, "run1.", drain_timeout_s=0.0, by_key=True)
    cloudwatch.fetch(endpoints, 1_700_000_000, 1_700_000_060, 60)
    # THEN every call is allowed by a statement naming that resource, and no Scan was made
    assert (result.stored, result.dead_lettered, result.lost) == (1, 1, 1)
    arns = {
        "kinesis": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders",
        "dynamodb": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-events",
        "sqs": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq",
        "cloudwatch": "*",
    }
    made = {f"{service}:{operation}" for service, operation, _ in calls}
    assert {"dynamodb:BatchGetItem", "sqs:ReceiveMessage", "cloudwatch:GetMetricData"} <= made
    assert "dynamodb:Scan" not in made
    for action in made:
        service = action.split(":")[0]
        assert any(
            action in s["Action"] and fnmatch.fnmatchcase(arns[service], s["Resource"])
            for s in policy["Statement"]
        ), f"{action} on {arns[service]} is not allowed by the generated policy"


def test_a_record_hook_that_raises_or_returns_the_wrong_shape_stops_the_run(
    capsys, tmp_path, monkeypatch, nothing_starts
):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "my_records.py").write_text(
        "def boom(request):\n"
        "    raise KeyError('customer')\n"
        "def pairs(request):\n"
        "    return [(request.id_prefix, b'{}') for _ in range(request.count)]\n"
        "def foreign_ids(request):\n"
        "    return [('k', b'{}', f'x{i}') for i in range(request.count)]\n"
    )
    cases = {
        "my_records:boom": "raised KeyError: 'customer'",
        "my_records:pairs": "record 0 must be a (partition_key, data, id) tuple",
        "my_records:foreign_ids": "id must be a string starting with request.id_prefix",
        "my_records:absent": "my_records has no function 'absent'",
        "nowhere_records:gen": "module 'nowhere_records' cannot be imported",
        "my_records.boom": "--records takes module:function",
    }
    for spec, message in cases.items():
        code, _, err = run(capsys, "--scenario", "smoke", "--records", spec)
        assert code == 2 and len(err) == 1, err
        assert message in err[0], err


def test_the_default_generator_is_a_hook_like_any_other():
    from loadtests.records import DEFAULT_HOOK, RecordSource, try_hook

    try_hook(DEFAULT_HOOK, 256, 5)
    source = RecordSource("", "run1.p7", 256, 5, lambda rid: f"key-{rid[-1]}")
    first, second = source.make(2, 1.0e9), source.make(1, 1.0e9)
    ids = [r[0] for r in first + second]
    assert ids == ["run1.p7.000000001", "run1.p7.000000002", "run1.p7.000000003"]
    event = json.loads(first[0][1])
    assert event["event_id"] == ids[0] and len(first[0][1]) == 256
    assert first[1][2] == "key-2"  # the scenario's key strategy chose the partition key


def test_clean_run_deletes_exactly_the_runs_acknowledged_items(stack, tmp_path, capsys):
    from loadtests import cleanup

    # GIVEN an AWS run folder that kept its acknowledged ids, and another run's item
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for record_id in ("run1.p.3", "run0.p.1"):
        dynamodb.put_item(TableName="orders-events", Item={"event_id": {"S": record_id}})
    folder = tmp_path / "run1"
    folder.mkdir()
    (folder / "run.json").write_text(
        json.dumps(
            {
                "run_id": "run1",
                "target": "aws",
                "endpoints": {"table_name": "orders-events", "region": REGION},
                "environment": load_environment("dev").model_dump(mode="json"),
            }
        )
    )
    cleanup.save_acked_ids(folder, ["run1.p.1", "run1.p.3"])
    # WHEN make clean-run RUN=run1 runs
    assert cli.main(["clean-run", "run1", "--results", str(tmp_path)]) == 0
    # THEN the run's items are gone and the other run's item stays
    assert "deleted the 2 acknowledged items from orders-events" in capsys.readouterr().out
    left = {i["event_id"]["S"] for i in dynamodb.scan(TableName="orders-events")["Items"]}
    assert left == {"run0.p.1"}
    assert cli.main(["clean-run", "nowhere", "--results", str(tmp_path)]) == 2
    assert "RUN=nowhere: no run folder with a run.json" in capsys.readouterr().err


def test_replay_reads_json_lines_and_kinesis_exports_and_keeps_the_audit_able_to_find_them(
    tmp_path, monkeypatch, capsys, nothing_starts
):
    import base64

    from loadtests.records import REPLAY_FILE_ENV, REPLAY_HOOK, RecordSource, read_replay

    # GIVEN real traffic: a Redline event, a Kinesis export line and a GetRecords answer
    raw = base64.b64encode(b'{"sku": 7}').decode()
    lines = [
        {"partition_key": "user-1", "data": {"event_id": "prod-123", "type": "view"}},
        {"PartitionKey": "user-2", "Data": raw},
        {"Records": [{"PartitionKey": "user-3", "Data": raw, "SequenceNumber": "1"}]},
    ]
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    monkeypatch.setenv(REPLAY_FILE_ENV, str(path))
    read_replay.cache_clear()
    # WHEN four records are made (the file loops)
    made = RecordSource(REPLAY_HOOK, "run1.p1", 256, 5, lambda rid: rid).make(4, 1.0e9)
    # THEN the keys and bytes are the file's, and the Redline event carries this run's id
    assert [m[2] for m in made] == ["user-1", "user-2", "user-3", "user-1"]
    assert json.loads(made[0][1]) == {"event_id": "run1.p1.000000001", "type": "view"}
    assert made[1][1] == b'{"sku": 7}'
    # AND a file that is not replayable stops the run in one line
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "k"}\n')
    read_replay.cache_clear()
    code, _, err = run(capsys, "--scenario", "smoke", "--replay", str(bad))
    assert code == 2 and len(err) == 1
    assert f"{bad} line 1: a record needs partition_key and data" in err[0]


def test_a_table_bound_knee_on_aws_says_what_could_have_hidden_the_limit(tmp_path, capsys):
    from loadtests.caveats import table_knee_caveats

    dev = load_environment("dev")
    table = {"resource": "dynamodb table writes", "evidence": "WriteThrottleEvents"}
    caveats = table_knee_caveats(dev, table, "aws")
    assert any(c.startswith("burst: DynamoDB banks up to 300 s") for c in caveats)
    assert any(c.startswith("autoscaling is on") for c in caveats) == (
        dev.table.autoscaling.enabled
    )
    assert table_knee_caveats(dev, table, "local") == []  # the local burst is a flag
    spent = table_knee_caveats(dev, table, "aws", burst_spent=True)  # the burst phase ran
    assert not any(c.startswith("burst:") for c in spent)
    shards = {"resource": "kinesis shard writes", "evidence": "..."}
    assert table_knee_caveats(dev, shards, "aws") == []
    # and the end-of-run block prints them
    cli.print_summary(tmp_path, {"passed": True, "gates": [], "caveats": caveats}, None, None)
    assert "note: burst: DynamoDB banks" in capsys.readouterr().out

"""What a Fargate task runs: the worker waits for the run's config in S3, then joins the master."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from loadtests import fargate_task
from loadtests.runconfig import CONFIG_ENV

BUCKET = "redline-results-dev"
PREFIX = "loadtests/20261201T000000Z/"


def test_a_worker_fetches_the_runs_config_and_joins_the_master_by_its_name(monkeypatch):
    calls = []
    monkeypatch.setenv("REDLINE_LOADGEN_MASTER_HOST", "master.loadgen.dev.redline.internal")
    monkeypatch.setattr(
        fargate_task.subprocess, "call", lambda argv, env, cwd: calls.append((argv, env)) or 0
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=PREFIX + "config.json", Body=b'{"run_id": "r1"}')
        monkeypatch.setattr(fargate_task, "_s3", lambda: s3)
        assert fargate_task.worker(BUCKET, PREFIX) == 0
    argv, env = calls[0]
    assert argv[-4:] == [
        "--master-host",
        "master.loadgen.dev.redline.internal",
        "--master-port",
        "5557",
    ]
    assert "--worker" in argv
    with open(env[CONFIG_ENV], encoding="utf-8") as handle:
        assert json.load(handle) == {"run_id": "r1"}


def test_the_run_folder_is_uploaded_file_by_file_under_the_runs_prefix(tmp_path):
    run_dir = tmp_path / "20261201-000100-smoke"
    (run_dir / "charts").mkdir(parents=True)
    (run_dir / "summary.json").write_text("{}")
    (run_dir / "charts" / "rate.png").write_bytes(b"png")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        assert fargate_task.upload_tree(s3, tmp_path, BUCKET, PREFIX + "results/") == 2
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [
        PREFIX + "results/20261201-000100-smoke/charts/rate.png",
        PREFIX + "results/20261201-000100-smoke/summary.json",
    ]


def test_an_unknown_role_is_refused_with_the_usage(capsys):
    assert fargate_task.main(["boss"]) == 2
    assert "usage: python -m loadtests.fargate_task master|worker" in capsys.readouterr().err

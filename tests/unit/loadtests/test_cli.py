import pytest

from loadtests import cli
from loadtests import target as targets
from pipeline.config import available_environments


def run(capsys, *argv):
    code = cli.main(["run", *argv])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--scenario", "warp"],
            "error: unknown scenario 'warp'; choose one of: smoke, capacity, step, spike, soak, scaling, reshard",
        ),
        (["--rate", "-5"], "error: RATE must be a number > 0, got -5"),
        (["--scenario", "smoke", "--duration", "0"], "error: DURATION must be a number > 0, got 0"),
        (["--workers", "0"], "error: WORKERS must be 1..64, got 0"),
        (["--target", "mars"], "error: TARGET must be local or aws, got 'mars'"),
        (["--rate", "fast"], "error: argument --rate: invalid float value: 'fast'"),
        (["--runner", "fargate"], "error: RUNNER=fargate needs TARGET=aws"),
        (["--runner", "k8s"], "error: RUNNER must be local or fargate, got 'k8s'"),
        (
            ["--on-worker-loss", "retry"],
            "error: ON_WORKER_LOSS must be one of fail, continue, got 'retry'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert run(capsys, *argv) == (2, [message])


def test_unknown_environment_names_the_known_ones(capsys):
    code, lines = run(capsys, "--env", "nowhere")
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("error: environment file ")
    known = ", ".join(available_environments())
    assert lines[0].endswith(f"nowhere.tfvars.json does not exist (known environments: {known})")


def test_aws_target_without_terraform_outputs_says_what_is_missing(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(
        targets, "terraform_outputs", lambda env: {"api_url": {"value": "https://x"}}
    )
    code, lines = run(capsys, "--target", "aws", "--env", "dev", "--results", str(tmp_path))
    assert (code, lines) == (
        2,
        [
            "error: terraform outputs of dev: stream_name: required field is missing;"
            " table_name: required field is missing (run `make deploy ENV=dev` or"
            " `make outputs ENV=dev` first, or describe your stack in a file: --outputs FILE)"
        ],
    )
    assert list(tmp_path.iterdir()) == []  # no run folder for a run that never started


def test_aws_target_without_terraform_on_path(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(targets.shutil, "which", lambda name: None)
    monkeypatch.setattr(targets, "TERRAFORM_DIR", tmp_path)  # no saved <env>.outputs.json
    code, lines = run(capsys, "--target", "aws", "--results", str(tmp_path / "results"))
    assert (code, lines) == (
        2,
        ["error: TARGET=aws needs terraform on PATH to read the deployed names"],
    )


def test_saved_outputs_of_make_deploy_are_read_first(tmp_path):
    (tmp_path / "dev.outputs.json").write_text('{"stream_name": {"value": "s"}}')
    assert targets.terraform_outputs("dev", tmp_path) == {"stream_name": {"value": "s"}}


def test_scenarios_lists_every_scenario(capsys):
    assert cli.main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("smoke", "capacity", "step", "spike", "soak"):
        assert f"\n{name} " in "\n" + out


def test_users_scale_with_the_rate_and_split_across_workers():
    from loadtests.scenarios import resolve

    smoke = resolve("smoke")
    one = cli.users_per_process(smoke, 1, smoke.rate)
    assert set(one) == {"KinesisProducerUser", "EndToEndProbeUser", "ApiReaderUser"}
    capacity = resolve("capacity")
    assert cli.users_per_process(capacity, 1, 4000)["KinesisProducerUser"] == 242
    assert cli.users_per_process(capacity, 2, 4000)["KinesisProducerUser"] == 122


def test_the_search_starts_from_what_the_environment_file_should_carry():
    from loadtests.scenarios import resolve
    from pipeline.config import load_environment

    local = load_environment("local")
    assert cli.estimated_capacity(local, resolve("capacity")) == 1000
    hot = resolve("capacity", {"key_strategy": "hot", "hot_key_share": 0.5})
    four = local.model_copy(update={"stream": local.stream.model_copy(update={"shard_count": 4})})
    assert cli.estimated_capacity(four, hot) == pytest.approx(1500)  # table 1500 WCU caps it


def test_an_unreachable_aws_target_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    outputs = {
        "stream_name": {"value": "redline-events-dev"},
        "table_name": {"value": "redline-events-dev"},
        "api_url": {"value": "https://abc.execute-api.us-east-1.amazonaws.com"},
    }
    monkeypatch.setattr(targets, "terraform_outputs", lambda env: outputs)
    code, lines = run(capsys, "--target", "aws", "--yes", "--results", str(tmp_path))  # no network
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith(
        "error: target unreachable: stream redline-events-dev at AWS us-east-1: "
    )
    assert list(tmp_path.iterdir()) == []

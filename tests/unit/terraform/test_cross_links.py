"""Links Terraform cannot check without a provider: handlers, module wiring, runtime."""

from __future__ import annotations

import ast
import re

import pytest

from pipeline import packaging
from tests.unit.terraform.conftest import MODULES, REPO_ROOT, TF_ROOT, TfDir, load_dir

NEW_RELIC_WRAPPER = "newrelic_lambda_wrapper.handler"  # shipped in New Relic's layer


def _handlers_in_terraform() -> dict[str, str]:
    """{module directory: handler} for every `handler = "..."` literal in the configuration."""
    found: dict[str, str] = {}
    for tf_file in TF_ROOT.rglob("*.tf"):
        for match in re.finditer(r'^\s*handler\s*=\s*"([^"]+)"', tf_file.read_text(), re.M):
            found[tf_file.parent.name] = match.group(1)
    return found


def _handler_problem(handler: str) -> str | None:
    module_path, _, function = handler.rpartition(".")
    source = REPO_ROOT / (module_path.replace(".", "/") + ".py")
    if not source.is_file():
        return f"{handler}: {source.relative_to(REPO_ROOT)} does not exist"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if function not in names:
        return f"{handler}: {source.relative_to(REPO_ROOT)} defines no top-level {function}"
    return None


def test_terraform_deploys_exactly_the_three_shared_handlers():
    assert _handlers_in_terraform() == {
        "ingest": "pipeline.ingest.handler.lambda_handler",
        "api": "pipeline.api.handler.lambda_handler",
        "forwarder": "monitors.forwarder.handler.lambda_handler",
    }


@pytest.mark.parametrize("handler", sorted(set(_handlers_in_terraform().values())))
def test_every_handler_terraform_names_exists_in_the_source(handler):
    assert _handler_problem(handler) is None


def test_a_missing_handler_is_reported_with_the_file_it_looked_for():
    assert _handler_problem("pipeline.nowhere.handler.lambda_handler") == (
        "pipeline.nowhere.handler.lambda_handler: pipeline/nowhere/handler.py does not exist"
    )
    assert _handler_problem("pipeline.config.no_such_function") == (
        "pipeline.config.no_such_function: pipeline/config.py defines no top-level no_such_function"
    )


def test_the_packager_builds_a_zip_for_every_function_terraform_deploys(root):
    packaged = {f.name: f.handler for f in packaging.FUNCTIONS}
    assert packaged == _handlers_in_terraform()
    package_paths = {
        name: body["package_path"]
        for name, body in root.labelled("module").items()
        if "package_path" in body
    }
    assert package_paths == {name: f"${{local.dist}}/{name}.zip" for name in packaged}


def test_the_new_relic_wrapper_replaces_the_handler_only_when_instrumented(modules):
    function = modules["function"].typed("resource")[("aws_lambda_function", "this")]
    assert function["handler"] == (
        f'${{var.common.newrelic.enabled ? "{NEW_RELIC_WRAPPER}" : var.handler}}'
    )
    text = modules["function"].texts["main.tf"]
    for variable in (
        "NEW_RELIC_LAMBDA_HANDLER",
        "NEW_RELIC_ACCOUNT_ID",
        "NEW_RELIC_LICENSE_KEY_SECRET",
    ):
        assert re.search(rf"^\s*{variable}\s*=", text, re.M), variable


def test_the_lambda_runtime_is_the_python_the_packager_builds_wheels_for(root):
    assert root.locals()["lambda_runtime"] == f"python{packaging.LAMBDA_PYTHON_VERSION}"


@pytest.mark.parametrize("part", ["ingest", "api", "forwarder"])
def test_function_names_follow_redline_part_environment(modules, part):
    assert modules[part].locals()["function_name"] == f"redline-{part}-${{var.environment}}"


def _calls(tf: TfDir) -> list[tuple[str, str, dict]]:
    return [(tf.path.name, name, body) for name, body in tf.labelled("module").items()]


def _module_calls() -> list[tuple[str, str, dict]]:
    calls = _calls(load_dir(TF_ROOT))
    for module_dir in sorted(MODULES.iterdir()):
        calls += _calls(load_dir(module_dir))
    return calls


@pytest.mark.parametrize(
    ("caller", "name", "body"), _module_calls(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_module_calls_pass_declared_variables_and_every_required_one(caller, name, body):
    caller_dir = TF_ROOT if caller == "terraform" else MODULES / caller
    target = load_dir((caller_dir / body["source"]).resolve())
    variables = target.labelled("variable")
    passed = set(body) - {"source", "count", "for_each", "depends_on", "providers"}
    required = {v for v, spec in variables.items() if "default" not in spec}
    assert passed - set(variables) == set(), f"module {name}: undeclared arguments"
    assert required - passed == set(), f"module {name}: required variables not passed"


def test_every_module_output_referenced_exists():
    problems = []
    for tf_dir in [TF_ROOT, *sorted(p for p in MODULES.iterdir() if p.is_dir())]:
        tf = load_dir(tf_dir)
        sources = {n: (tf_dir / b["source"]).resolve() for n, b in tf.labelled("module").items()}
        for text in tf.texts.values():
            for module, output in re.findall(r"\bmodule\.(\w+)(?:\[[^\]]*\])?\.(\w+)", text):
                if module not in sources:
                    problems.append(f"{tf_dir.name}: module.{module} is not declared")
                elif output not in load_dir(sources[module]).labelled("output"):
                    problems.append(f"{tf_dir.name}: module.{module} has no output {output}")
    assert problems == []


def test_the_outputs_give_what_target_aws_needs(root):
    assert {
        "stream_name",
        "stream_arn",
        "table_name",
        "type_index_name",
        "dead_letter_queue_url",
        "on_failure_queue_url",
        "api_url",
        "function_names",
        "aws_region",
        "environment",
    } <= set(root.labelled("output"))


def test_the_event_source_mapping_takes_every_ingest_setting_of_the_environment_file(modules, root):
    mapping = modules["ingest"].typed("resource")[("aws_lambda_event_source_mapping", "this")]
    used = set(re.findall(r"var\.settings\.(\w+)", str(mapping)))
    function_settings = {"memory_mb", "timeout_seconds", "reserved_concurrency"}
    ingest_type = root.labelled("variable")["ingest"]["type"]
    declared = set(re.findall(r"(\w+) = ", ingest_type))
    assert used == declared - function_settings
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]


def test_the_http_api_routes_are_the_handlers_and_the_local_runtimes(modules):
    from pipeline.api.responses import ROUTES
    from pipeline.local.runtime.api import ROUTE_KEYS

    deployed = modules["api"].locals()["routes"]
    assert sorted(deployed) == sorted(ROUTES) == sorted(ROUTE_KEYS)

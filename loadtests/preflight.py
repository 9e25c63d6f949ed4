"""Checks before a run starts anything: your handlers, and what a TARGET=aws run will do.

Handlers (`--handler ingest=my.module.handler`) are checked without being run: the module
is found on the path, parses, and defines the function at top level. A TARGET=aws run reads
the stack's names (a hand-written `--outputs` file, else Terraform's outputs), turns the
readers off when the stack has no API, prints the worst case and its estimated cost and the
IAM policy the run needs, and asks for confirmation (`--yes` for CI; `--budget` refuses a run
that may cost more). `--dry-run` stops before the confirmation.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loadtests import cost, iam
from loadtests.outputs import (
    OutputsError,
    StackOutputs,
    endpoints_of,
    load_outputs,
    parse_outputs,
)
from loadtests.runconfig import Endpoints
from loadtests.scenarios import Scenario, ScenarioError
from pipeline.config import EnvironmentConfig
from reports.prices import load_prices


class PreflightError(ValueError):
    """Bad input found before anything started; the message is the one line users see."""


def check_handler(kind: str, handler: str) -> None:
    """`module.function` can be imported by the local runtime: found, parses, defines it."""
    module, _, function = handler.rpartition(".")
    try:
        spec = importlib.util.find_spec(module)
    except (ModuleNotFoundError, ValueError):
        spec = None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise PreflightError(
            f"--handler {kind}={handler}: module {module!r} cannot be imported"
            " (not on the Python path; run from the folder that holds it or set PYTHONPATH)"
        )
    source = Path(spec.origin).read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=spec.origin)
    except SyntaxError as exc:
        raise PreflightError(
            f"--handler {kind}={handler}: {spec.origin} line {exc.lineno}: {exc.msg}"
        ) from None
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if function not in defined:
        raise PreflightError(
            f"--handler {kind}={handler}: {spec.origin} defines no top-level {function!r}"
        )


@dataclass(frozen=True)
class AwsPlan:
    endpoints: Endpoints
    scenario: Scenario
    outputs: StackOutputs
    estimate: cost.RunEstimate
    policy: dict[str, Any]


def stack_outputs(outputs_file: str | None, env_name: str) -> StackOutputs:
    if outputs_file:
        return load_outputs(outputs_file)
    from loadtests import target as targets

    try:
        return parse_outputs(
            targets.terraform_outputs(env_name), f"terraform outputs of {env_name}"
        )
    except OutputsError as exc:
        raise OutputsError(
            f"{exc} (run `make deploy ENV={env_name}` or `make outputs ENV={env_name}` first,"
            " or describe your stack in a file: --outputs FILE)"
        ) from None


def readers_fit(scenario: Scenario, endpoints: Endpoints) -> Scenario:
    """Without an API there is nothing to read: ingest only, no end-to-end probes."""
    if endpoints.api_url:
        return scenario
    if scenario.mix == "read":
        raise ScenarioError("MIX=read needs an API: the outputs file has no api_url")
    if scenario.mix != "ingest" or scenario.probe_rate:
        print("==> the stack has no api_url: readers and end-to-end probes are off", flush=True)
    return replace(scenario, mix="ingest", read_rate=0.0, probe_rate=0.0)


def plan_aws(
    outputs: StackOutputs,
    scenario: Scenario,
    environment: EnvironmentConfig,
    prices_file: str | None = None,
) -> AwsPlan:
    endpoints = endpoints_of(outputs, environment)
    scenario = readers_fit(scenario, endpoints)
    run_estimate = cost.estimate(scenario, environment, load_prices(prices_file))
    policy = iam.load_test_policy(
        endpoints,
        readers=scenario.mix != "ingest" or scenario.probe_rate > 0,
        kms_key_arn=outputs.kms_key_arn,
        account_id=outputs.account_id,
    )
    return AwsPlan(endpoints, scenario, outputs, run_estimate, policy)


def announce_and_confirm(plan: AwsPlan, budget: float | None, yes: bool, dry_run: bool) -> bool:
    """Print the estimate and the policy; True when the run may start."""
    print(plan.estimate.text())
    print("IAM policy this run needs (attach it to the load test's credentials):")
    print(iam.policy_text(plan.policy), flush=True)
    if dry_run:
        cost.confirm(plan.estimate, budget, yes=True, ask=None)  # the budget still applies
        print("dry run: stopping before the confirmation; nothing was started")
        return False
    ask = input if sys.stdin.isatty() else None
    cost.confirm(plan.estimate, budget, yes=yes, ask=ask)
    return True

"""Every IAM statement names its actions and resources; "*" only where AWS requires it."""

from __future__ import annotations

import re

from tests.unit.terraform.conftest import TF_ROOT, all_tf_dirs, load_dir

STAR_RESOURCE = re.compile(r'^\s*resources\s*=\s*\[\s*"\*"\s*\]', re.M)


def _statements() -> list[tuple[str, dict]]:
    found = []
    for tf_dir in all_tf_dirs():
        tf = load_dir(tf_dir)
        for (kind, name), body in tf.typed("data").items():
            if kind != "aws_iam_policy_document":
                continue
            where = f"{tf_dir.relative_to(TF_ROOT.parent)}: {name}"
            for statement in body.get("statement", []):
                found.append((f"{where}/{statement.get('sid', '?')}", statement))
            for dynamic in body.get("dynamic", []):
                for statement in dynamic.get("statement", {}).get("content", []):
                    found.append((f"{where}/{statement.get('sid', '?')} (dynamic)", statement))
    return found


def _problems(where: str, statement: dict) -> list[str]:
    problems = []
    if "not_actions" in statement or "not_resources" in statement:
        problems.append(f"{where}: not_actions/not_resources grant everything else")
    actions = statement.get("actions") or []
    if not actions:
        problems.append(f"{where}: names no actions")
    for action in actions:
        if action == "*" or action.endswith(":*"):
            problems.append(f"{where}: wildcard action {action}")
    is_trust_policy = all(a.startswith("sts:AssumeRole") for a in actions) and statement.get(
        "principals"
    )
    if not statement.get("resources") and not is_trust_policy:
        problems.append(f"{where}: names no resources")
    return problems


def test_there_are_policy_statements_to_check():
    assert len(_statements()) >= 15


def test_every_statement_names_actions_and_resources_without_a_wildcard_action():
    problems = [p for where, statement in _statements() for p in _problems(where, statement)]
    assert problems == []


def test_the_checker_reports_a_wildcard_action_and_a_missing_resource():
    assert _problems("x", {"actions": ["s3:*"]}) == [
        "x: wildcard action s3:*",
        "x: names no resources",
    ]


def _uncommented_star_resources(text: str) -> list[int]:
    lines = text.splitlines()
    missing = []
    for match in STAR_RESOURCE.finditer(text):
        line_number = text.count("\n", 0, match.start())
        context = lines[max(0, line_number - 2) : line_number]
        if not any(line.strip().startswith("#") and '"*"' in line for line in context):
            missing.append(line_number + 1)
    return missing


def test_every_star_resource_has_a_comment_saying_why_aws_requires_it():
    problems = [
        f"{tf_file.relative_to(TF_ROOT.parent)}:{line}"
        for tf_file in sorted(TF_ROOT.rglob("*.tf"))
        for line in _uncommented_star_resources(tf_file.read_text(encoding="utf-8"))
    ]
    assert problems == []


def test_an_uncommented_star_resource_is_found():
    text = 'statement {\n  actions = ["a:B"]\n  resources = ["*"]\n}\n'
    assert _uncommented_star_resources(text) == [3]
    commented = text.replace(
        "  resources", '  # AWS requires "*": a:B has no resource type.\n  resources'
    )
    assert _uncommented_star_resources(commented) == []


def test_no_inline_json_policy_escapes_these_checks():
    # Policies are built with aws_iam_policy_document, which the tests above read.
    offenders = [
        str(p.relative_to(TF_ROOT.parent))
        for p in TF_ROOT.rglob("*.tf")
        if re.search(r'"?Action"?\s*[=:]', p.read_text(encoding="utf-8"))
    ]
    assert offenders == []

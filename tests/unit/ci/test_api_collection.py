"""The Postman collection covers every route Terraform deploys and every 4xx of the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTION = REPO_ROOT / "tests" / "api" / "redline.postman_collection.json"


def _requests() -> list[dict]:
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))
    return [item for folder in collection["item"] for item in folder["item"]]


def _route_of(item: dict) -> str:
    path = item["request"]["url"]["raw"].removeprefix("{{baseUrl}}").split("?")[0]
    path = re.sub(r"^/events/.+$", "/events/{event_id}", path)
    return f"{item['request']['method']} {path}"


def _tests(item: dict) -> str:
    return "\n".join(
        line
        for event in item["event"]
        if event["listen"] == "test"
        for line in event["script"]["exec"]
    )


def test_every_route_terraform_deploys_is_exercised():
    api = hcl2.loads((REPO_ROOT / "terraform/modules/api/main.tf").read_text())
    routes = {r.strip('"') for block in api["locals"] for r in block.get("routes", [])}
    assert routes == {"GET /events/{event_id}", "GET /events", "GET /health"}
    assert routes <= {_route_of(item) for item in _requests()}


def test_every_400_names_its_parameter_and_every_parameter_has_one():
    named = set()
    for item in _requests():
        tests = _tests(item)
        if "to.have.status(400)" in tests:
            match = re.search(r"the message names `(\w+)`", tests)
            assert match, f"{item['name']}: a 400 test must check the parameter is named"
            named.add(match.group(1))
    assert named == {"event_id", "type", "since", "until", "limit", "cursor", "limt"}


def test_unknown_ids_and_unknown_routes_are_404():
    statuses = {item["name"]: _tests(item) for item in _requests()}
    four_oh_fours = [name for name, tests in statuses.items() if "status(404)" in tests]
    assert len(four_oh_fours) == 3


def test_every_request_asserts_its_status():
    assert all("to.have.status(" in _tests(item) for item in _requests())


def test_newman_is_pinned_exactly_with_a_lock_file():
    package = json.loads((REPO_ROOT / "tests/api/package.json").read_text())
    lock = json.loads((REPO_ROOT / "tests/api/package-lock.json").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["devDependencies"]["newman"])
    assert (
        lock["packages"]["node_modules/newman"]["version"] == package["devDependencies"]["newman"]
    )

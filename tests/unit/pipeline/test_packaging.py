"""make package: reproducible zips holding exactly what each handler needs."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from pipeline import packaging
from pipeline.packaging import (
    FUNCTIONS,
    LambdaFunction,
    PackagingError,
    build_all,
    build_function,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
INGEST = LambdaFunction("ingest", "pipeline.ingest.handler.lambda_handler", ("pipeline",))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# A source root and an installed dependency tree, with the noise a real build leaves behind.
TREE = {
    "src/pipeline/__init__.py": "",
    "src/pipeline/ingest/__init__.py": "",
    "src/pipeline/ingest/handler.py": "def lambda_handler(event, context):\n    return {}\n",
    "src/pipeline/local/gateway.py": "LOCAL = True\n",
    "src/pipeline/packaging.py": "BUILD = True\n",
    "src/pipeline/__pycache__/config.cpython-311.pyc": "junk",
    "deps/pydantic/__init__.py": "VERSION = '2'\n",
    "deps/pydantic-2.0.dist-info/METADATA": "Name: pydantic\n",
    "deps/pydantic-2.0.dist-info/RECORD": "pydantic/__init__.py,sha256=x\n",
    "deps/bin/jp.py": "#!/home/someone/.venv/bin/python\n",
}


def _make_tree(base: Path, order: list[str]) -> tuple[Path, Path]:
    """TREE under base, files created in the given order."""
    for name in order:
        _write(base / name, TREE[name])
    return base / "src", base / "deps"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_builds_from_differently_made_trees_are_byte_identical(tmp_path):
    # GIVEN the same files created in opposite orders, with different times and modes
    names = list(TREE)
    src_a, deps_a = _make_tree(tmp_path / "a", names)
    src_b, deps_b = _make_tree(tmp_path / "b", list(reversed(names)))
    for path in (tmp_path / "b").rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            path.chmod(0o755)
    # WHEN each is packaged
    digest_a = build_function(INGEST, deps_a, tmp_path / "out-a", root=src_a)
    digest_b = build_function(INGEST, deps_b, tmp_path / "out-b", root=src_b)
    # THEN the zips are the same bytes, and the returned digest is the file's sha256
    assert digest_a == digest_b == _sha(tmp_path / "out-a" / "ingest.zip")


def test_the_zip_holds_the_handler_and_dependencies_but_no_local_stack_or_build_noise(tmp_path):
    src, deps = _make_tree(tmp_path, list(TREE))
    build_function(INGEST, deps, tmp_path / "out", root=src)
    with zipfile.ZipFile(tmp_path / "out" / "ingest.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == [
        "pipeline/__init__.py",
        "pipeline/ingest/__init__.py",
        "pipeline/ingest/handler.py",
        "pydantic-2.0.dist-info/METADATA",
        "pydantic/__init__.py",
    ]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_a_missing_handler_module_stops_the_build_naming_the_file(tmp_path):
    _write(tmp_path / "src/pipeline/__init__.py", "")
    (tmp_path / "deps").mkdir()
    with pytest.raises(PackagingError) as excinfo:
        build_function(INGEST, tmp_path / "deps", tmp_path / "out", root=tmp_path / "src")
    assert str(excinfo.value).startswith(
        "ingest: handler pipeline.ingest.handler.lambda_handler needs "
        "pipeline/ingest/handler.py, which does not exist"
    )
    assert not (tmp_path / "out" / "ingest.zip").exists()


def test_an_unknown_function_is_refused_before_anything_is_installed(tmp_path):
    with pytest.raises(PackagingError) as excinfo:
        build_all("arm64", tmp_path / "out", tmp_path / "build", only=["ingest", "reader"])
    assert str(excinfo.value) == "unknown function(s) reader; known: api, forwarder, ingest"
    assert not (tmp_path / "build").exists()


def test_an_unknown_architecture_is_refused_naming_the_allowed_ones(tmp_path):
    with pytest.raises(PackagingError) as excinfo:
        packaging.install_dependencies("riscv64", tmp_path, packaging.REQUIREMENTS)
    assert str(excinfo.value) == "architecture must be one of arm64, x86_64, got 'riscv64'"


def test_an_unknown_environment_exits_2_with_the_loader_message(capsys):
    assert packaging.main(["--environment", "nowhere"]) == 2
    assert "error: environment file" in capsys.readouterr().err


def test_every_function_has_its_handler_package_in_its_sources():
    for function in FUNCTIONS:
        assert function.handler.split(".")[0] in function.source_packages


def _locked() -> dict[str, str]:
    text = (REPO_ROOT / "requirements" / "lambda.txt").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M))


def test_every_locked_wheel_has_a_hash():
    text = (REPO_ROOT / "requirements" / "lambda.txt").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z])", text)
    pinned = [e for e in entries if re.match(r"^[A-Za-z0-9_.-]+==", e)]
    assert len(pinned) == len(_locked())
    assert all("--hash=sha256:" in e for e in pinned)


def test_the_lock_satisfies_the_runtime_dependencies_of_pyproject():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    locked = _locked()
    for spec in project["project"]["dependencies"]:
        requirement = Requirement(spec)
        if requirement.name == "boto3":  # provided by the Lambda runtime
            continue
        assert requirement.name in locked, f"{requirement.name} is not in requirements/lambda.txt"
        assert locked[requirement.name] in requirement.specifier, (
            f"{requirement.name}=={locked[requirement.name]} does not satisfy {spec}"
        )


# What a zip may import besides its own packages: the standard library, the locked wheels
# (by import name) and what the Lambda Python runtime itself ships (boto3 and its deps).
LOCKED_IMPORTS = {
    "aws_lambda_powertools",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
    "jmespath",
}
RUNTIME_IMPORTS = {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six", "jmespath"}


def _top_level_imports(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_everything_a_zip_imports_is_bundled_or_provided_by_the_runtime(function):
    import sys

    allowed = set(sys.stdlib_module_names) | LOCKED_IMPORTS | RUNTIME_IMPORTS
    allowed |= set(function.source_packages)
    sources = packaging.source_files(REPO_ROOT, function.source_packages)
    missing = {
        f"{name} (imported by {archive_name})"
        for archive_name, path in sources.items()
        if path.suffix == ".py"
        for name in _top_level_imports(path) - allowed
    }
    assert missing == set()


def test_the_locked_import_names_are_the_locked_distributions():
    assert {name.replace("-", "_") for name in _locked()} == LOCKED_IMPORTS

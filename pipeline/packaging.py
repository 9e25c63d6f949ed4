"""Build the Lambda zips reproducibly: `make package` -> dist/<function>.zip.

Each zip holds the pinned dependencies of requirements/lambda.txt (wheels for the Lambda
runtime's Python and the environment's architecture, checked against their sha256) and
the source packages its handler imports. Powertools is bundled rather than taken from
AWS's public layer: the deployed code then runs the exact version the tests ran, in
every region, and the local runtime (which has no layers) runs the same tree.

Two builds from the same commit give byte-identical zips: entries are sorted, every
timestamp is 1980-01-01, permissions are fixed, bytecode caches are left out, and the
files that record the build machine (console scripts' shebangs, and the RECORD that
hashes them) are dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import EnvironmentConfigError, load_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "requirements" / "lambda.txt"

# The runtime's Python; terraform/main.tf's local.lambda_runtime must say the same
# (tests/unit/terraform checks it).
LAMBDA_PYTHON_VERSION = "3.12"
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16
COMPRESS_LEVEL = 9


@dataclass(frozen=True)
class LambdaFunction:
    name: str
    handler: str
    source_packages: tuple[str, ...]

    @property
    def handler_file(self) -> str:
        module = self.handler.rsplit(".", 1)[0]
        return module.replace(".", "/") + ".py"


# The deployed functions (names redline-<name>-<environment>); Terraform's modules use
# the same handler paths, checked by tests/unit/terraform.
FUNCTIONS: tuple[LambdaFunction, ...] = (
    LambdaFunction("ingest", "pipeline.ingest.handler.lambda_handler", ("pipeline",)),
    LambdaFunction("api", "pipeline.api.handler.lambda_handler", ("pipeline",)),
    LambdaFunction(
        "forwarder", "monitors.forwarder.handler.lambda_handler", ("monitors", "pipeline")
    ),
)

# Source that must not ship: the local stack, this build script, caches.
EXCLUDED_SOURCE = ("pipeline/local/", "pipeline/packaging.py")


class PackagingError(RuntimeError):
    """The package cannot be built; the message says what is missing."""


def _is_build_noise(relative: str) -> bool:
    parts = relative.split("/")
    return (
        "__pycache__" in parts
        or relative.endswith((".pyc", ".pyo"))
        or parts[0] == "bin"  # console scripts carry the build machine's python path
        or (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD")
    )


def source_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Archive name -> file for the given top-level packages, without excluded source."""
    entries: dict[str, Path] = {}
    for package in packages:
        base = root / package
        if not (base / "__init__.py").is_file():
            raise PackagingError(f"source package {base} not found (no __init__.py)")
        for path in base.rglob("*"):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or _is_build_noise(relative):
                continue
            if relative.startswith(EXCLUDED_SOURCE):
                continue
            entries[relative] = path
    return entries


def dependency_files(deps_dir: Path) -> dict[str, Path]:
    """Archive name -> file for an installed dependency tree, without build-machine files."""
    entries: dict[str, Path] = {}
    for path in deps_dir.rglob("*"):
        relative = path.relative_to(deps_dir).as_posix()
        if path.is_file() and not relative.startswith(".") and not _is_build_noise(relative):
            entries[relative] = path
    return entries


def write_zip(out_path: Path, entries: Mapping[str, Path]) -> str:
    """Write entries in sorted order with fixed metadata; return the zip's sha256."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever builds it
            archive.writestr(info, entries[name].read_bytes(), compresslevel=COMPRESS_LEVEL)
    partial.replace(out_path)
    return hashlib.sha256(out_path.read_bytes()).hexdigest()


def install_dependencies(architecture: str, build_dir: Path, requirements: Path) -> Path:
    """pip-install the locked wheels for the Lambda platform once per lock and architecture."""
    if architecture not in PLATFORMS:
        allowed = ", ".join(PLATFORMS)
        raise PackagingError(f"architecture must be one of {allowed}, got {architecture!r}")
    lock_digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    target = build_dir / f"deps-{architecture}-py{LAMBDA_PYTHON_VERSION}-{lock_digest}"
    done = target / ".complete"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--no-deps",
        "--require-hashes", "--only-binary=:all:",
        "--platform", PLATFORMS[architecture],
        "--implementation", "cp",
        "--python-version", LAMBDA_PYTHON_VERSION,
        "--target", str(target),
        "-r", str(requirements),
    ]  # fmt: skip
    # A fixed argument list naming this interpreter's pip; no shell, nothing from the user.
    result = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise PackagingError(
            f"pip could not install {requirements} for {architecture}:\n{result.stderr.strip()}"
        )
    done.touch()
    return target


def build_function(
    function: LambdaFunction, deps_dir: Path, out_dir: Path, root: Path = REPO_ROOT
) -> str:
    entries = dependency_files(deps_dir)
    sources = source_files(root, function.source_packages)
    if function.handler_file not in sources:
        raise PackagingError(
            f"{function.name}: handler {function.handler} needs {function.handler_file}, "
            f"which does not exist under {root}"
        )
    entries.update(sources)  # our source wins over a same-named file in a dependency
    return write_zip(out_dir / f"{function.name}.zip", entries)


def build_all(
    architecture: str,
    out_dir: Path,
    build_dir: Path,
    only: Iterable[str] = (),
    requirements: Path = REQUIREMENTS,
) -> dict[str, str]:
    """Build every (or the named) function's zip; return {zip name: sha256} and write SHA256SUMS."""
    wanted = set(only)
    known = {f.name for f in FUNCTIONS}
    if unknown := wanted - known:
        raise PackagingError(
            f"unknown function(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    deps_dir = install_dependencies(architecture, build_dir, requirements)
    digests = {
        f"{function.name}.zip": build_function(function, deps_dir, out_dir)
        for function in FUNCTIONS
        if not wanted or function.name in wanted
    }
    sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))
    (out_dir / "SHA256SUMS").write_text(sums, encoding="utf-8")
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--environment",
        default="local",
        help="environment file whose lambda_architecture decides the wheels (default: local)",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="output folder")
    parser.add_argument(
        "--build-dir", type=Path, default=REPO_ROOT / "build", help="dependency cache folder"
    )
    parser.add_argument("--only", action="append", default=[], help="build only this function")
    args = parser.parse_args(argv)
    try:
        architecture = load_environment(args.environment).lambda_architecture
        digests = build_all(architecture, args.out, args.build_dir, args.only)
    except (EnvironmentConfigError, PackagingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, digest in sorted(digests.items()):
        print(f"{digest}  {args.out / name}  ({architecture}, python{LAMBDA_PYTHON_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""python -m monitors.definitions render | check | dashboard --environment E --account-id N"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.config import REPO_ROOT

from . import render
from .nrql import check_all


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m monitors.definitions",
        description="Render or check Redline's New Relic dashboard, alerts and service levels.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("render", help="write the dashboard JSON and the Terraform module's files")
    commands.add_parser("check", help="fail when a generated file is stale or a query is wrong")
    dashboard = commands.add_parser("dashboard", help="print the dashboard JSON for UI import")
    dashboard.add_argument("--environment", required=True, help="e.g. dev or prod")
    dashboard.add_argument(
        "--account-id", required=True, type=int, help="your New Relic account id (a number)"
    )
    dashboard.add_argument("--out", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)

    if args.command == "render":
        written = render.write_files()
        for path in written:
            print(f"wrote {_relative(path)}")
        if not written:
            print("every generated file is current")
        return 0
    if args.command == "check":
        problems = [f"{_relative(p)} is stale: run `make dashboards`" for p in render.stale_files()]
        problems += check_all()
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1 if problems else 0
    text = render.ui_dashboard(args.environment, args.account_id)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m reports build RUN` and `python -m reports compare A B`.

Exit codes: 0 done (compare: no regression flagged, or not asked to fail), 1 compare found a
regression beyond the tolerance with --fail-on-regression, 2 bad input (the message says
which file, column or option), and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from reports.prices import PricesError

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m reports", description="Capacity-planning reports.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write the report into a run folder")
    build.add_argument("run", help="run folder, e.g. results/latest")
    build.add_argument("--target-rate", type=float, default=None, help="records/s to size for")
    build.add_argument(
        "--utilization",
        type=float,
        default=0.70,
        help="share of each provisioned limit to plan for (0.2..0.95, default 0.70)",
    )
    build.add_argument("--prices", default=None, help="JSON file overriding reports/prices.json")
    build.add_argument(
        "--keep-modes",
        action="store_true",
        help="keep the run's stream and table capacity modes in recommended.tfvars.json",
    )
    compare = sub.add_parser("compare", help="compare two runs (A = baseline, B = candidate)")
    compare.add_argument("a", help="baseline run folder")
    compare.add_argument("b", help="candidate run folder")
    compare.add_argument(
        "--tolerance",
        type=float,
        default=0.10,
        help="relative change allowed before a worse figure is flagged (default 0.10 = 10%%)",
    )
    compare.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a figure got worse"
    )
    compare.add_argument("--output", default=None, help="also write the comparison (Markdown)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from reports.reader import RunFolderError

    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "build":
            return _build(args)
        return _compare(args)
    except (RunFolderError, PricesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _build(args: argparse.Namespace) -> int:
    from reports.builder import BuildOptions, build

    run_dir = Path(args.run)
    built = build(
        run_dir,
        BuildOptions(
            target_rate=args.target_rate,
            utilization=args.utilization,
            prices_file=args.prices,
            keep_modes=args.keep_modes,
        ),
    )
    summary = built.summary
    knee = summary.get("knee_rps")
    bottleneck = summary.get("bottleneck") or {}
    print(f"report: {run_dir / 'report.html'} and {run_dir / 'report.md'}")
    print(
        f"knee: {'n/a' if knee is None else f'{knee:,.0f} records/s'};"
        f" first bottleneck: {bottleneck.get('resource', 'none')};"
        f" recommended: {summary['recommended']['file']}"
        f" ({summary['recommended']['records_per_s']:,.0f} records/s)"
    )
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from reports.compare import compare, render_markdown, render_text

    result = compare(Path(args.a), Path(args.b), args.tolerance)
    print(render_text(result))
    if args.output:
        Path(args.output).write_text(render_markdown(result), encoding="utf-8")
    if result.regressions and args.fail_on_regression:
        return EXIT_REGRESSION
    return EXIT_OK

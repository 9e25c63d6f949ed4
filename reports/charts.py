"""The report's charts (matplotlib, Agg): each rendered once to PNG (report.md, charts/) and
once to SVG (inlined in report.html, so the page opens offline and stays sharp)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, PercentFormatter

from reports.analysis import Analysis

PALETTE = {
    "offered": "#4C72B0",
    "accepted": "#55A868",
    "throttled": "#C44E52",
    "errors": "#DD8452",
    "target": "#8C8C8C",
    "p50": "#4C72B0",
    "p95": "#DD8452",
    "p99": "#C44E52",
    "knee": "#2F2F2F",
    "age": "#8172B3",
}
LIMIT_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860")
WIDTH, HEIGHT, DPI = 9.0, 3.6, 110


def _legend(ax, offset: float = -0.2) -> None:
    """Below the plot, so it never hides a line; at most 4 entries a row."""
    entries = len(ax.get_legend_handles_labels()[0])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, offset), ncol=min(entries, 4), fontsize=8.5)


plt.rcParams.update(
    {
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#E6E6E6",
        "grid.linewidth": 0.8,
        "axes.edgecolor": "#999999",
        "axes.titleweight": "bold",
        "axes.titlesize": 10,
        "axes.titlelocation": "left",
        "legend.frameon": False,
        "svg.fonttype": "none",  # text stays text in the SVG (selectable, small)
        "path.simplify": True,
        "agg.path.chunksize": 10000,
    }
)


@dataclass(frozen=True)
class Chart:
    name: str  # file stem in charts/
    title: str
    caption: str
    png: bytes
    svg: str


def _thousands(value: float, _pos: int) -> str:
    return f"{value:,.0f}"


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", transform=ax.transAxes, color="#777777")


def _time_axis(ax, elapsed_max: float) -> float:
    """Seconds, or minutes for long runs; returns the divisor for the x values."""
    if elapsed_max > 900:
        ax.set_xlabel("minutes since the start")
        return 60.0
    ax.set_xlabel("seconds since the start")
    return 1.0


def _render(fig, name: str, title: str, caption: str) -> Chart:
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI)
    svg = io.StringIO()
    fig.savefig(svg, format="svg")
    plt.close(fig)
    text = svg.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: it is inlined
    # a scalable inline chart: drop the fixed size, keep the viewBox
    text = re.sub(r'(<svg[^>]*?) width="[^"]+" height="[^"]+"', r"\1", text, count=1)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{title}" class="chart" ', 1)
    return Chart(name, title, caption, png.getvalue(), text)


def _load_panel(ax, family, unit: str, scale: float, knee: float | None, title: str) -> None:
    x = family.elapsed / scale
    ax.plot(x, family.target, color=PALETTE["target"], lw=1, ls="--", label="target")
    ax.plot(x, family.offered, color=PALETTE["offered"], lw=3, alpha=0.45, label="offered")
    ax.plot(x, family.accepted, color=PALETTE["accepted"], lw=1.3, label="accepted")
    ax.fill_between(x, 0, family.throttled, color=PALETTE["throttled"], alpha=0.35, lw=0)
    ax.plot(x, family.throttled, color=PALETTE["throttled"], lw=1, label="throttled")
    if np.nansum(family.errors) > 0:
        ax.plot(x, family.errors, color=PALETTE["errors"], lw=1, ls="-.", label="errors")
    if knee:
        ax.axhline(knee, color=PALETTE["knee"], lw=0.8, ls=":")
        ax.annotate(
            f"knee {knee:,.0f}",
            (x.min(), knee),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
            color=PALETTE["knee"],
        )
    ax.set_ylabel(unit)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylim(bottom=0)
    ax.set_title(title)


def throughput(a: Analysis) -> Chart:
    """Ingest records/s; API requests/s in a second panel when the run read too."""
    panels = [(f, u) for f, u in ((a.ingest, "records/s"), (a.api, "requests/s")) if f is not None]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(WIDTH, HEIGHT * (1 if len(panels) == 1 else 1.7)), sharex=True
    )
    axes = list(np.atleast_1d(axes))
    elapsed_max = max(float(f.elapsed.max()) for f, _ in panels)
    scale = 60.0 if elapsed_max > 900 else 1.0
    for ax, (family, unit) in zip(axes, panels, strict=True):
        knee = a.knee.rate if family is a.primary else None
        what = "records" if unit == "records/s" else "API requests"
        _load_panel(ax, family, unit, scale, knee, f"Offered, accepted and throttled {what}")
    _time_axis(axes[-1], elapsed_max)
    _legend(axes[-1], -0.2 if len(axes) == 1 else -0.3)
    unit = panels[0][1]
    return _render(
        fig,
        "throughput",
        "Offered vs accepted vs throttled",
        f"Per second; offered = {unit} sent, accepted = acknowledged, throttled = refused by a"
        " capacity limit.",
    )


def latency(a: Analysis) -> Chart:
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    levels = sorted(a.levels, key=lambda lv: lv.offered_rate)
    unit = "records/s" if a.ingest is not None else "requests/s"
    if len(levels) >= 2:
        x = np.array([lv.offered_rate for lv in levels])
        for key in ("p50", "p95", "p99"):
            y = np.array([getattr(lv, f"latency_{key}_ms") for lv in levels])
            ax.plot(x, y, marker="o", ms=4, lw=1.3, color=PALETTE[key], label=key)
        failed = [lv for lv in levels if not lv.sustained]
        if failed:
            ax.scatter(
                [lv.offered_rate for lv in failed],
                [lv.latency_p99_ms for lv in failed],
                s=60,
                facecolors="none",
                edgecolors=PALETTE["throttled"],
                label="not sustained",
                zorder=3,
            )
    else:
        family = a.primary
        for key in ("p50", "p95", "p99"):
            ax.scatter(family.offered, getattr(family, key), s=6, alpha=0.5, color=PALETTE[key])
            ax.plot([], [], marker="o", ls="", color=PALETTE[key], label=key)
    if a.knee.rate:
        ax.axvline(a.knee.rate, color=PALETTE["knee"], lw=1, ls="--")
        left, right = ax.get_xlim()
        on_the_right = a.knee.rate > left + 0.75 * (right - left)
        ax.annotate(
            f"knee {a.knee.rate:,.0f} {unit}",
            (a.knee.rate, 0),
            xycoords=("data", "axes fraction"),
            xytext=(-4 if on_the_right else 4, 4),
            textcoords="offset points",
            ha="right" if on_the_right else "left",
            fontsize=8,
        )
    values = [
        v
        for lv in levels
        for v in (lv.latency_p50_ms, lv.latency_p99_ms)
        if np.isfinite(v) and v > 0
    ]
    if values and max(values) / min(values) > 20:  # log only when the range needs it
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
        ax.set_ylabel("latency (ms, log scale)")
    else:
        ax.set_ylim(bottom=0)
        ax.set_ylabel("latency (ms)")
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel(f"offered load ({unit})")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    _legend(ax)
    ax.set_title("Latency against offered load")
    return _render(
        fig,
        "latency",
        "Latency p50 / p95 / p99 vs offered load",
        "Each point is a rate the run held; latency is measured from the intended start of"
        " each call (coordinated omission corrected). The dashed line marks the knee.",
    )


def utilization(a: Analysis, target: float = 0.7) -> Chart:
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    elapsed_max = max((float(t.max()) for t, _ in a.utilization.values() if t.size), default=1.0)
    scale = _time_axis(ax, elapsed_max)
    for color, (label, (t, share)) in zip(LIMIT_COLORS, a.utilization.items(), strict=False):
        ax.plot(t / scale, share, lw=1.2, color=color, label=label)
    for level, text, color, style in (
        (1.0, "limit", PALETTE["throttled"], "--"),
        (target, f"{target:.0%} target", PALETTE["target"], ":"),
    ):
        ax.axhline(level, color=color, lw=1, ls=style)
        ax.annotate(
            text,
            (0, level),
            xycoords=("axes fraction", "data"),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=8,
            color=color,
        )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(
        0,
        max(
            1.15,
            *(
                float(np.nanmax(s)) * 1.05
                for _, s in a.utilization.values()
                if s.size and np.isfinite(s).any()
            ),
        ),
    )
    ax.set_ylabel("share of the limit")
    if a.utilization:
        _legend(ax)
    else:
        _no_data(ax, "no limit measurements in this run")
    ax.set_title("Utilization of each limit")
    return _render(
        fig,
        "utilization",
        "Utilization of each limit over time",
        "Share of each capacity limit in use (shard writes: the larger of records/s and"
        " bytes/s; table WCU/RCU against the provisioned units; Lambda concurrency against"
        " shards x parallelization factor or reserved concurrency; API against its rate limit).",
    )


def iterator_age(a: Analysis) -> Chart:
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT * 0.85))
    if a.iterator_age is not None and a.iterator_age[0].size:
        t, age = a.iterator_age
        scale = _time_axis(ax, float(t.max()))
        ax.fill_between(t / scale, 0, age / 1000, color=PALETTE["age"], alpha=0.25, lw=0)
        ax.plot(t / scale, age / 1000, color=PALETTE["age"], lw=1.3)
        ax.set_ylim(bottom=0)
    else:
        _time_axis(ax, a.duration_s)
        _no_data(ax, "no iterator age in this run's CloudWatch metrics")
    ax.set_ylabel("seconds behind")
    ax.set_title("Iterator age (how far the consumer is behind the stream)")
    return _render(
        fig,
        "iterator-age",
        "Iterator age",
        "Maximum age of the last record the consumer processed: a rising line means the"
        " consumer cannot keep up with the stream.",
    )


def all_charts(a: Analysis, utilization_target: float = 0.7) -> list[Chart]:
    return [throughput(a), latency(a), utilization(a, utilization_target), iterator_age(a)]

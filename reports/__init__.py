"""Capacity-planning reports; `from reports import load_run` gives a run's DataFrames."""

from typing import Any


def __getattr__(name: str) -> Any:
    # pandas loads only for callers of load_run, not for every `import reports.x`
    if name in ("load_run", "RunData"):
        from reports import frames

        return getattr(frames, name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")

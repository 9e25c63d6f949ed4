"""The state disk is checked before the local stack starts: a disk that fills mid-run makes
the engines fail writes, which a run would report as the pipeline losing data.

The engines keep every record in LevelDB files under the state directory; README's figure is
about 1.8 KB of engine data per stored record, so a 5-minute run at 1,000 records/s needs
about 540 MB. The default floor is 1 GiB; REDLINE_MIN_FREE_MB sets another.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MIN_FREE_MB_VARIABLE = "REDLINE_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 1024


class DiskSpaceError(RuntimeError):
    """Not enough free space for the state directory; the message names how much is needed."""


def required_free_mb() -> int:
    raw = os.environ.get(MIN_FREE_MB_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MIN_FREE_MB
    if not raw.isdecimal():
        raise DiskSpaceError(f"{MIN_FREE_MB_VARIABLE} must be a whole number of MB, got {raw!r}")
    return int(raw)


def check_free_space(state_dir: Path) -> None:
    """Raise DiskSpaceError when the disk of `state_dir` has less free space than required."""
    needed_mb = required_free_mb()
    existing = state_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free_mb = shutil.disk_usage(existing).free // (1024 * 1024)
    if free_mb < needed_mb:
        raise DiskSpaceError(
            f"the state directory {state_dir} is on a disk with {free_mb} MB free; the local "
            f"stack needs at least {needed_mb} MB free ({needed_mb - free_mb} MB more) for "
            f"the engines' data: free space, choose another state directory, or set "
            f"{MIN_FREE_MB_VARIABLE} lower for a short run"
        )

"""The handlers' environment variables, read once at cold start.

A Lambda with a missing variable must fail at init with a message naming the variable,
not on the first record with a KeyError deep in a call stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class HandlerEnvironmentError(RuntimeError):
    """A variable the handler needs is missing or empty; the message names it."""


def require_environment(
    function: str, names: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return {name: value} for each name, or raise naming every missing or empty one."""
    source = os.environ if environ is None else environ
    values = {name: source.get(name, "").strip() for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise HandlerEnvironmentError(
            f"{function} cannot start: environment variable{plural} {', '.join(missing)} "
            f"not set (it needs {', '.join(names)}; see docs/pipeline.md)"
        )
    return values

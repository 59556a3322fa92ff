"""The one error class of the local host that is the user's to fix.

A `ConfigError` is a usage or configuration mistake (instance file, manifest, command line). Its
message is one line that names the problem and the fix; the CLI prints it and exits with code 2.
Failures of the integration itself are not exceptions here: they are error entries (exit code 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(Exception):
    """A usage or configuration error: one line naming the fix (exit code 2)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ` Did you mean 'x'?` suffix for the closest choice, or an empty string."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f" Did you mean {close[0]!r}?" if close else ""

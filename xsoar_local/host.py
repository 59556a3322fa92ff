"""Running the integration the way the platform does: one command, or one fetch cycle.

`execute` runs the module once (fresh, via `platform.run_module`) and turns an escaping exception
into the error entry the platform would show. `fetch_cycle` runs `fetch-incidents` with the stored
lastRun and commits its incidents, new lastRun and context together, only when the fetch succeeded.

Choice for a failed fetch: lastRun and incidents are never written, but an integration context the
module wrote (the token cache lives there) is saved on its own, because on the platform
`setIntegrationContext` takes effect at once and is not undone by a failed fetch.
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsoar_local.platform import ENTRY_ERROR, MODULE_PATH, Platform, run_module
from xsoar_local.state import ConcurrentFetch, State

MODULE_ENV = "AZURE_SENTINEL_MODULE"
MANIFEST_ENV = "AZURE_SENTINEL_MANIFEST"
FETCH_COMMAND = "fetch-incidents"

_CURSOR_KEY = re.compile(r"cursor|last|next|number|mark|since|time|token|offset|watermark", re.IGNORECASE)
_RETRY_LOG = re.compile(r"^retrying\b", re.IGNORECASE)
_STATS_LOG = re.compile(r"^fetch-incidents: (\{.*\})$")


def module_path(explicit: str | None = None) -> Path:
    """--module, else $AZURE_SENTINEL_MODULE, else AzureSentinel/AzureSentinel.py."""
    return Path(explicit or os.environ.get(MODULE_ENV) or MODULE_PATH)


def manifest_path(explicit: str | None = None, module: Path | None = None) -> Path:
    """--manifest, else $AZURE_SENTINEL_MANIFEST, else the .yml beside the module."""
    chosen = explicit or os.environ.get(MANIFEST_ENV)
    return Path(chosen) if chosen else (module or module_path()).with_suffix(".yml")


@dataclass
class Outcome:
    """One execution of the module: what the platform saw, and an exception if one escaped."""

    platform: Platform
    exception: BaseException | None = None
    trace: str = ""
    seconds: float = 0.0

    @property
    def entries(self) -> list[Any]:
        """The entries, plus the error entry the platform would add for an escaping exception."""
        extra = []
        if self.exception is not None:
            extra.append({"Type": ENTRY_ERROR, "ContentsFormat": "text",
                          "Contents": f"The integration raised {describe(self.exception)}"})
        return [*self.platform.results, *extra]

    @property
    def errors(self) -> list[str]:
        return [str(e.get("Contents")) for e in self.entries
                if isinstance(e, dict) and e.get("Type") == ENTRY_ERROR]

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def execute(module: Path, platform: Platform, env: Mapping[str, str] | None = None) -> Outcome:
    """Run the module once for `platform` (a fresh load, as a new platform process would)."""
    started = time.monotonic()
    outcome = Outcome(platform)
    with environment(env or {}):
        try:
            run_module(platform, module)
        except SystemExit as exc:  # sys.exit(0) after results is how some integrations end
            if exc.code not in (0, None):
                outcome.exception, outcome.trace = exc, traceback.format_exc()
        except Exception as exc:  # noqa: BLE001 - the platform catches everything a module raises
            outcome.exception, outcome.trace = exc, traceback.format_exc()
    outcome.seconds = time.monotonic() - started
    return outcome


def run_command(module: Path, state: State, params: dict[str, Any], command: str, args: dict[str, Any],
                env: Mapping[str, str] | None = None, files: Mapping[str, str] | None = None) -> Outcome:
    """Run one (non-fetch) command and persist the integration context it wrote.

    `files`: the war-room file entries the command may read (entry ID -> path), for demisto.getFilePath.
    """
    platform = Platform(params=params, args=args, command=command, files=dict(files or {}),
                        last_run=state.last_run(), context=state.context())
    outcome = execute(module, platform, env)
    if platform.context_writes:
        state.save_context(platform.context)
    return outcome


@dataclass
class FetchReport:
    """What one fetch cycle did, for the one-line (or JSON) report."""

    cycle: int
    ok: bool
    incidents: int
    seconds: float
    last_run: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    error: str | None = None
    context_saved: bool = False
    outcome: Outcome | None = None

    @property
    def last_run_bytes(self) -> int:
        return len(json.dumps(self.last_run, sort_keys=True, separators=(",", ":")).encode())

    @property
    def cursor(self) -> dict[str, Any]:
        """lastRun keys that look like a cursor, with their (scalar) values."""
        return {k: v for k, v in self.last_run.items()
                if _CURSOR_KEY.search(k) and (v is None or isinstance(v, (str, int, float, bool)))}

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle, "ok": self.ok, "incidents": self.incidents,
            "last_run_bytes": self.last_run_bytes, "last_run_keys": sorted(self.last_run),
            "cursor": self.cursor, "retries": self.retries, "error": self.error,
            "context_saved": self.context_saved, "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        if not self.ok:
            saved = "; token cache/context saved" if self.context_saved else ""
            return (f"cycle {self.cycle} FAILED in {self.seconds:.1f}s: {self.error} "
                    f"(lastRun and incidents not committed{saved}; retries: {self.retries})")
        keys = " ".join(f"{k}={_short(v)}" if k in self.cursor else k for k, v in sorted(self.last_run.items()))
        return (f"cycle {self.cycle} ok in {self.seconds:.1f}s: {self.incidents} incidents, "
                f"lastRun {self.last_run_bytes} B {{{keys}}}, retries: {self.retries}")


def fetch_cycle(module: Path, state: State, params: dict[str, Any],
                env: Mapping[str, str] | None = None) -> FetchReport:
    """Run fetch-incidents once with the stored lastRun; commit everything or nothing."""
    cycle = state.cycles() + 1
    platform = Platform(params=params, command=FETCH_COMMAND,
                        last_run=state.last_run(), context=state.context())
    outcome = execute(module, platform, env)
    retries = _retries(platform.logs)
    report = FetchReport(cycle=cycle, ok=False, incidents=0, seconds=outcome.seconds,
                         retries=retries, outcome=outcome)
    if outcome.failed or platform.new_last_run is None:
        report.error = outcome.errors[0] if outcome.errors else "the integration did not call setLastRun"
        if platform.context_writes:
            state.save_context(platform.context)
            report.context_saved = True
        return report
    incidents = platform.incidents or []
    try:
        report.cycle = state.commit_fetch(incidents, platform.new_last_run,
                                          platform.context if platform.context_writes else None,
                                          after_cycle=cycle - 1)
    except ConcurrentFetch as exc:
        report.error = f"{exc}; this cycle's incidents were dropped so none is received twice"
        return report
    report.ok, report.incidents, report.last_run = True, len(incidents), platform.new_last_run
    return report


def _retries(logs: list[tuple[str, str]]) -> int:
    """Retries the integration reported: its fetch stats line if it logs one, else its 'Retrying ...' lines."""
    for _, message in logs:
        match = _STATS_LOG.match(message)
        if match:
            try:
                return int(json.loads(match.group(1)).get("retries", 0))
            except (ValueError, TypeError, AttributeError):
                break
    return sum(1 for _, message in logs if _RETRY_LOG.search(message))


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def describe(exc: BaseException) -> str:
    """`Type: message` on one line."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"

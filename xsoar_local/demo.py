"""`azure-sentinel demo`: the main job end to end against the in-process Sentinel emulator.

Starts the emulator on a free loopback port, builds an instance from it (client-secret auth),
runs test-module, then one fetch into a temporary state database, and prints what arrived.
If the integration cannot fetch yet, it lists incidents instead.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from xsoar_local import host
from xsoar_local.errors import ConfigError
from xsoar_local.manifest import Manifest
from xsoar_local.output import incidents_table, print_entries
from xsoar_local.state import State

FETCH_PARAMS = {"isFetch": True, "fetch_time": "7 days", "limit": "50"}
FALLBACK_COMMAND = "azure-sentinel-list-incidents"
FALLBACK_ARGS = {"limit": "20"}


def run_demo(module: Path, manifest: Manifest, verbose: bool = False) -> int:
    """Run the demo; returns the exit code (0 success, 1 the integration failed)."""
    try:
        from sentinel_emulator import Emulator
    except ImportError as exc:
        raise ConfigError(f"the local Sentinel emulator is not available yet ({exc}).") from None
    emulator = Emulator(port=0, seed=25).start()
    try:
        ca_bundle = {"REQUESTS_CA_BUNDLE": emulator.env()["REQUESTS_CA_BUNDLE"]}
        with host.environment(ca_bundle), tempfile.TemporaryDirectory(prefix="azure-sentinel-demo-") as tmp:
            values: dict[str, Any] = dict(emulator.params())
            values.update({k: v for k, v in FETCH_PARAMS.items() if k in manifest.params})
            params = manifest.validate_params(values, "emulator instance")
            with State(Path(tmp) / "state.sqlite") as state:
                return _demo_steps(module, manifest, state, params, verbose)
    finally:
        emulator.stop()


def _demo_steps(module: Path, manifest: Manifest, state: State, params: dict[str, Any], verbose: bool) -> int:
    tested = host.run_command(module, state, params, "test-module", {})
    _logs(tested, verbose)
    if tested.failed:
        print_entries(tested.entries)
        print("test-module failed against the local emulator; see the error above.", file=sys.stderr)
        return 1
    print("test-module: ok")

    report = host.fetch_cycle(module, state, params) if manifest.is_fetch else None
    if report is not None:
        _logs(report.outcome, verbose)
    if report is not None and report.ok:
        received = state.incidents()
        print(incidents_table(received))
        print(f"Fetched {len(received)} incidents from the local Sentinel emulator in {report.seconds:.1f}s; "
              f"lastRun {report.last_run_bytes} B. Next: `azure-sentinel emulator`, then "
              "`azure-sentinel fetch --instance instance.yml`.")
        return 0
    if report is not None and "fetch-incidents" not in (report.error or ""):
        print(report.line(), file=sys.stderr)
        return 1
    return _list_instead(module, manifest, state, params, verbose)


def _list_instead(module: Path, manifest: Manifest, state: State, params: dict[str, Any], verbose: bool) -> int:
    print("fetch-incidents is not supported by the integration yet; listing incidents instead.")
    command = manifest.command(FALLBACK_COMMAND)
    listed = host.run_command(module, state, params, command.name, manifest.validate_args(command, FALLBACK_ARGS))
    _logs(listed, verbose)
    print_entries(listed.entries)
    if listed.failed:
        return 1
    print(f"Listed incidents from the local Sentinel emulator in {listed.seconds:.1f}s "
          "(fetch-incidents is not supported yet).")
    return 0


def _logs(outcome: host.Outcome | None, verbose: bool) -> None:
    if verbose and outcome is not None:
        for level, message in outcome.platform.logs:
            print(f"[{level}] {message}", file=sys.stderr)

"""`azure-sentinel demo`: the main job end to end against the in-process Sentinel emulator.

Starts the emulator on a free loopback port, builds an instance from it (client-secret auth),
runs test-module, then one fetch into a temporary state database, and prints what arrived.
If the integration cannot fetch yet, it lists incidents instead. When it mirrors (and the emulator
has a store to change), one mirror cycle then shows the round trip: an incident edited and commented
locally goes out to Sentinel, one changed and commented in Sentinel comes in.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from xsoar_local import host, mirror
from xsoar_local import incidents as local
from xsoar_local.errors import ConfigError
from xsoar_local.manifest import Manifest
from xsoar_local.output import incidents_table, print_entries
from xsoar_local.state import State

FETCH_PARAMS = {"isFetch": True, "fetch_time": "7 days", "limit": "50",
                "mirror_direction": "Incoming And Outgoing", "close_incident": True, "close_ticket": True}
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
                code = _demo_steps(module, manifest, state, params, verbose)
                if code == 0 and hasattr(emulator, "store") and _mirrors(manifest, params) and state.incidents():
                    code = _mirror_round_trip(module, manifest, state, params, emulator, verbose)
                return code
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
              f"lastRun {report.last_run_bytes} B. Next: `azure-sentinel emulator --write-instance "
              "instance.yml`, then `azure-sentinel fetch --instance instance.yml`.")
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


def _mirrors(manifest: Manifest, params: dict[str, Any]) -> bool:
    script = manifest.raw.get("script") or {}
    return bool(script.get("isremotesyncin") and script.get("isremotesyncout")
                and params.get("mirror_direction") == "Incoming And Outgoing")


def _mirror_round_trip(module: Path, manifest: Manifest, state: State, params: dict[str, Any], emulator: Any,
                       verbose: bool) -> int:
    """One mirror cycle after a change on each side; prints what went out and what came in."""
    config = mirror.Mirroring.from_params(params, True, True)
    mirrored = [i for i in local.all_incidents(state) if local.mirrors(i, config.instance, ("Both",))]
    if len(mirrored) < 2:
        return 0
    out, into = mirrored[0], mirrored[1]
    severity = "Low" if out.fields.get("severity") == 3 else "High"
    local.edit(out, ["name=Phishing wave (triaged in XSOAR)", f"severity={severity}"])
    note = local.comment(out, "XSOAR: blocked the sender domain.", [config.comment_tag], time.time())
    state.commit_local(out, [note])
    emulator.store.modify_incident(into.remote_id, title="Confirmed in Sentinel", severity="High", status="Active")
    emulator.store.add_comment(into.remote_id, "Sentinel: the host was isolated.")
    print(f"\nMirroring: #{out.seq} edited and commented here; Sentinel incident {into.remote_id[:8]}... "
          "changed and commented there.")
    report = mirror.mirror_cycle(module, state, params, config)
    for outcome in report.outcomes:
        _logs(outcome, verbose)
    print(report.line())
    if not report.ok:
        return 1
    remote = emulator.store.incident(out.remote_id)["properties"]
    listed = host.run_command(module, state, params, "azure-sentinel-list-incident-comments",
                              {"incident_id": out.remote_id, "limit": "50"})
    comments = [c for e in listed.entries if isinstance(e, dict) and isinstance(e.get("Contents"), list)
                for c in e["Contents"] if str(c.get("name", "")).startswith("xsoar-")]
    said = comments[-1]["properties"]["message"].splitlines()[0] if comments else "(none)"
    print(f"  out: #{out.seq} -> Sentinel: title {remote['title']!r}, severity {remote['severity']}, comment {said!r}")
    came = local.load(state, into.seq)
    notes = [e.contents.splitlines()[-1] for e in state.entries(into.seq) if e.source != "local"]
    print(f"  in:  Sentinel -> #{into.seq}: name {came.fields.get('name')!r}, severity {came.fields.get('severity')}, "
          f"war room note {notes[-1] if notes else '(none)'!r}")
    return 0


def _logs(outcome: host.Outcome | None, verbose: bool) -> None:
    if verbose and outcome is not None:
        for level, message in outcome.platform.logs:
            print(f"[{level}] {message}", file=sys.stderr)

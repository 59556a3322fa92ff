"""`azure-sentinel`: run the integration locally, as the platform would.

    azure-sentinel demo
    azure-sentinel emulator ...
    azure-sentinel run   [--instance FILE] [--state FILE] [--json] COMMAND [name=value ...]
    azure-sentinel fetch [--instance FILE] [--state FILE] [--json] [--every SECONDS] [--cycles N]
    azure-sentinel mirror [--instance FILE] [--state FILE] [--json] [--every SECONDS] [--cycles N]
    azure-sentinel incidents [--state FILE] [--json] [list | show ID | edit ID FIELD=VALUE... |
                                                      comment ID TEXT... [--tag TAG]]
    azure-sentinel package --out DIR [--replace-official] [--pack]
    azure-sentinel docs [--check] [--record]

Exit codes: 0 success; 1 the integration returned an error entry (or raised); 2 usage or
configuration error (one line on stderr naming the fix). Hidden options `--module` and `--manifest`
(or $AZURE_SENTINEL_MODULE / $AZURE_SENTINEL_MANIFEST) point the host at another integration.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from xsoar_local import host, mirror
from xsoar_local import incidents as local
from xsoar_local.errors import ConfigError
from xsoar_local.instance import instance_path, load_instance
from xsoar_local.manifest import Command, Manifest, load_manifest
from xsoar_local.output import incident_details, incident_dict, incidents_table, print_entries, printable, to_json
from xsoar_local.state import ConcurrentChange, Entry, LocalIncident, State, state_path

if TYPE_CHECKING:
    from xsoar_local.terminal import Terminal

EXIT_OK, EXIT_INTEGRATION_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # 128 + SIGPIPE, what a Unix tool whose reader closed the pipe exits with
MAX_EVERY_S = 7 * 24 * 3600

sleep = time.sleep  # replaced in tests


def terminal_for(stream: TextIO) -> Terminal | None:
    """A Terminal renderer when `stream` is a TTY, else None (plain output); replaced in tests."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return None
    from xsoar_local.terminal import Terminal  # rich is loaded only for a person at a terminal

    return Terminal(stream)


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one-line ConfigErrors (exit code 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see `{self.prog} --help`).")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `azure-sentinel` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # text that is not valid Unicode (lone surrogates) prints as '?'
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        try:  # what is still buffered goes nowhere, instead of failing again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_PIPE


def _main(argv: list[str]) -> int:
    if argv[:1] == ["emulator"]:
        return _emulator(argv[1:])
    try:
        ns, extra = _parser().parse_known_args(argv)
        if ns.action is None:
            _parser().print_help(sys.stderr)
            return EXIT_USAGE
        if extra and (ns.action != "run" or any(word.startswith("-") for word in extra)):
            raise ConfigError(f"unrecognized arguments: {' '.join(extra)} (see `azure-sentinel {ns.action} --help`).")
        return int(ns.handler(ns, extra))
    except ConfigError as exc:
        print(f"azure-sentinel: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--module", help=argparse.SUPPRESS)
    common.add_argument("--manifest", help=argparse.SUPPRESS)
    common.add_argument("-v", "--verbose", action="store_true", help="print the integration's logs on stderr")
    with_state = _state_options()
    with_instance = _Parser(add_help=False)
    with_instance.add_argument("--instance", metavar="FILE", help="instance params, YAML or JSON (default ./instance.yml)")
    repeat = _Parser(add_help=False)
    repeat.add_argument("--every", type=float, metavar="SECONDS", help="repeat every SECONDS (until Ctrl-C)")
    repeat.add_argument("--cycles", type=int, metavar="N", help="number of cycles (default 1, or endless with --every)")

    parser = _Parser(prog="azure-sentinel", description="Run the Microsoft Sentinel integration locally.")
    sub = parser.add_subparsers(dest="action", metavar="{demo,emulator,run,fetch,mirror,incidents,package,docs}",
                                parser_class=_Parser)
    demo = sub.add_parser("demo", parents=[common], help="fetch from an in-process emulator")
    demo.set_defaults(handler=_demo)
    sub.add_parser("emulator", help="run the local Sentinel emulator (see `azure-sentinel emulator --help`)")
    run = sub.add_parser("run", parents=[common, with_instance, with_state], help="run one command")
    run.add_argument("words", nargs="*", metavar="COMMAND [name=value ...]")
    run.set_defaults(handler=_run)
    fetch = sub.add_parser("fetch", parents=[common, with_instance, with_state, repeat], help="run fetch-incidents")
    fetch.set_defaults(handler=_fetch)
    mirror_parser = sub.add_parser("mirror", parents=[common, with_instance, with_state, repeat],
                                   help="run the platform's mirroring cycle over the stored incidents")
    mirror_parser.set_defaults(handler=_mirror)
    incidents = sub.add_parser("incidents", parents=[common, with_state],
                               help="list, show, edit or comment the incidents received")
    incidents.set_defaults(handler=_incidents, incidents_action=None)
    _incidents_parsers(incidents)
    package = sub.add_parser("package", parents=[common], help="write the integration as one YAML to import")
    package.add_argument("--out", required=True, metavar="DIR", help="where to write integration-AzureSentinel.yml")
    package.add_argument("--replace-official", action="store_true",
                         help="keep the official ID 'Azure Sentinel' (only after removing the official pack)")
    package.add_argument("--pack", action="store_true", help="also write a content-pack zip for upload")
    package.set_defaults(handler=_package)
    docs = sub.add_parser("docs", parents=[common], help="generate AzureSentinel/README.md from the manifest")
    docs.add_argument("--check", action="store_true", help="exit 1 if the README or the recorded examples are stale")
    docs.add_argument("--record", action="store_true",
                      help="first run command_examples against an in-process emulator and record their output")
    docs.set_defaults(handler=_docs)
    return parser


def _state_options(inner: bool = False) -> _Parser:
    """--state / --json; `inner` ones (for sub-sub-commands) do not reset what the outer ones parsed."""
    options = _Parser(add_help=False)
    default = {"default": argparse.SUPPRESS} if inner else {}
    options.add_argument("--state", metavar="FILE", help="SQLite state (default ./.azure-sentinel/state.sqlite)",
                         **default)
    options.add_argument("--json", action="store_true", help="machine-readable output", **default)
    return options


def _incidents_parsers(incidents: argparse.ArgumentParser) -> None:
    inner = _state_options(inner=True)
    actions = incidents.add_subparsers(dest="incidents_action", metavar="{list,show,edit,comment}",
                                       parser_class=_Parser)
    actions.add_parser("list", parents=[inner], help="list the incidents received (the default)")
    show = actions.add_parser("show", parents=[inner], help="one incident with its fields and entries")
    show.add_argument("id", metavar="ID", help="the # of `azure-sentinel incidents`, or a dbotMirrorId")
    edit = actions.add_parser("edit", parents=[inner], help="change fields locally (as an analyst in the SOAR)")
    edit.add_argument("id", metavar="ID", help="the # of `azure-sentinel incidents`, or a dbotMirrorId")
    edit.add_argument("pairs", nargs="+", metavar="FIELD=VALUE",
                      help="name/title, severity, status, owner, closeReason, closeNotes, tags, description, "
                           "or a field the incident has")
    comment = actions.add_parser("comment", parents=[inner], help="add a war-room note locally")
    comment.add_argument("id", metavar="ID", help="the # of `azure-sentinel incidents`, or a dbotMirrorId")
    comment.add_argument("text", nargs="+", metavar="TEXT")
    comment.add_argument("--tag", action="append", default=[], metavar="TAG",
                         help="tag the entry (e.g. the instance's comment_tag, to mirror it out); repeatable")


# region run

def _run(ns: argparse.Namespace, extra: list[str]) -> int:
    module, manifest = _integration(ns)
    words = [*ns.words, *extra]
    if not words:
        names = ", ".join(sorted(manifest.commands))
        raise ConfigError(f"give a COMMAND [name=value ...]; commands: {names}.")
    command = manifest.command(words[0])
    if command.name == host.FETCH_COMMAND:
        raise ConfigError("fetch-incidents keeps lastRun and incidents: use `azure-sentinel fetch`.")
    args = manifest.validate_args(command, parse_pairs(command, words[1:]))
    instance = load_instance(instance_path(ns.instance))
    params = manifest.validate_params(instance.values, instance.source)
    with State(state_path(ns.state)) as state:
        outcome = host.run_command(module, state, params, command.name, args, instance.env)
    _print_logs(ns, outcome)
    if ns.json:
        print(to_json(outcome.entries))
    else:
        print_entries(outcome.entries, terminal=terminal_for(sys.stdout))
    return EXIT_INTEGRATION_ERROR if outcome.failed else EXIT_OK


def parse_pairs(command: Command, words: Sequence[str]) -> dict[str, str]:
    """`name=value` words -> dict; a bare word goes to the command's default argument."""
    values: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            default = command.default_argument
            if default is None:
                raise ConfigError(f"{command.name}: {word!r} is not name=value; write it as <argument>={word}.")
            name, value = default.name, word
        if name in values:
            raise ConfigError(f"{command.name}: argument {name!r} is given twice; give it once "
                              "(list values are comma-separated).")
        values[name] = value
    return values

# endregion


# region fetch

def _fetch(ns: argparse.Namespace, extra: list[str]) -> int:
    _check_repeat(ns)
    module, manifest = _integration(ns)
    if not manifest.is_fetch:
        raise ConfigError(f"{manifest.path.name} does not set script.isfetch: true, so the integration cannot fetch.")
    instance = load_instance(instance_path(ns.instance))
    values = dict(instance.values)
    if "isFetch" in manifest.params:
        values.setdefault("isFetch", True)  # `azure-sentinel fetch` is the explicit request to fetch
    params = manifest.validate_params(values, instance.source)
    if params.get("isFetch") is False:
        raise ConfigError(f"{instance.source}: isFetch is false; set `isFetch: true` to fetch incidents.")
    totals = Counter[str]()

    def live(report: host.FetchReport, next_in: str) -> str:
        return (f"fetch cycle {report.cycle} {'ok' if report.ok else 'FAILED'} in {report.seconds:.1f}s{next_in}; "
                f"{totals['incidents']} incidents in {totals['cycles']} cycle(s); lastRun {report.last_run_bytes} B")

    def count(report: host.FetchReport) -> None:
        totals.update(cycles=1, incidents=report.incidents)

    def logs(report: host.FetchReport) -> None:
        if report.outcome is not None:
            _print_logs(ns, report.outcome)

    with State(state_path(ns.state)) as state:
        return _repeat(ns, lambda: host.fetch_cycle(module, state, params, instance.env), logs, count, live)

# endregion


# region package

def _package(ns: argparse.Namespace, extra: list[str]) -> int:
    from xsoar_local.package import build

    module, manifest = _integration(ns)
    result = build(module, manifest.path, Path(ns.out), replace_official=ns.replace_official, pack=ns.pack)
    for path in result.files:
        print(f"wrote {path}")
    print(f"integration ID {result.identity.id!r}, display name {result.identity.display!r}")
    return EXIT_OK



def _docs(ns: argparse.Namespace, extra: list[str]) -> int:
    from xsoar_local.examples import record, recorded_path
    from xsoar_local.readme import write_or_check

    module, manifest = _integration(ns)
    if ns.record and ns.check:
        raise ConfigError("--record writes the recorded examples; --check writes nothing: give one of them.")
    if ns.record:
        recording = record(module, manifest.path, log=lambda line: print(line, file=sys.stderr))
        target = recorded_path(manifest.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(recording.to_json(), encoding="utf-8")
        print(f"wrote {target} ({len(recording.examples)} example(s), {len(recording.skipped)} skipped)")
    code = write_or_check(manifest.path, check=ns.check, regenerate="azure-sentinel docs")
    return EXIT_INTEGRATION_ERROR if code == 1 else code

# endregion



# region repeating cycles (fetch, mirror)

def _check_repeat(ns: argparse.Namespace) -> None:
    if ns.cycles is not None and ns.cycles < 1:
        raise ConfigError("--cycles must be 1 or more.")
    if ns.every is not None and not 0 <= ns.every <= MAX_EVERY_S:  # also refuses nan and inf
        raise ConfigError(f"--every must be a number of seconds from 0 to {MAX_EVERY_S} (a week).")


def _repeat(ns: argparse.Namespace, run_cycle: Callable[[], Any], logs: Callable[[Any], None],
            count: Callable[[Any], None], live: Callable[[Any, str], str]) -> int:
    """Run cycles (once, N times, or every SECONDS until Ctrl-C); the exit code is the last cycle's.

    Piped or with --json: one line (or JSON object) per cycle. On a terminal with --every: one status line
    updated in place (`live(report, " (next in 5s)")` once a second until the next cycle); failed cycles
    stay on screen. `logs(report)` prints what goes to stderr, `count(report)` adds to the totals.
    """
    cycles = ns.cycles if ns.cycles is not None else (None if ns.every is not None else 1)
    every = ns.every or 0.0
    terminal = terminal_for(sys.stdout) if ns.every is not None and not ns.json else None
    done, last_ok = 0, True
    try:
        while cycles is None or done < cycles:
            started = time.monotonic()
            report = run_cycle()
            done, last_ok = done + 1, report.ok
            if terminal is not None:
                terminal.clear()
            logs(report)
            count(report)
            if ns.json:
                print(json.dumps(report.as_dict(), sort_keys=True), flush=True)
            elif terminal is None:
                print(report.line(), flush=True)
            elif not report.ok:
                terminal.line(report.line())
            if terminal is not None:
                terminal.status(live(report, ""))
            if cycles is None or done < cycles:
                _wait(every - (time.monotonic() - started), terminal, lambda left: live(report, left))
    except KeyboardInterrupt:
        if terminal is not None:
            terminal.finish()
        print(f"stopped after {done} cycle(s).", file=sys.stderr)
    if terminal is not None:
        terminal.finish()
    return EXIT_OK if last_ok else EXIT_INTEGRATION_ERROR


def _wait(seconds: float, terminal: Terminal | None, status: Callable[[str], str]) -> None:
    """Sleep until the next cycle; on a terminal, count down on the status line once a second."""
    remaining = max(0.0, seconds)
    if terminal is None:
        sleep(remaining)
        return
    while remaining > 0:
        terminal.status(status(f" (next in {math.ceil(remaining)}s)"))
        step = min(1.0, remaining)
        sleep(step)
        remaining -= step

# endregion


# region mirror

def _mirror(ns: argparse.Namespace, extra: list[str]) -> int:
    _check_repeat(ns)
    module, manifest = _integration(ns)
    script = manifest.raw.get("script") or {}
    sync_in, sync_out = bool(script.get("isremotesyncin")), bool(script.get("isremotesyncout"))
    if not (sync_in or sync_out):
        raise ConfigError(f"{manifest.path.name} sets neither script.isremotesyncin nor isremotesyncout, "
                          "so the integration does not mirror.")
    instance = load_instance(instance_path(ns.instance))
    params = manifest.validate_params(instance.values, instance.source)
    if "mirror_direction" in manifest.params and params.get("mirror_direction") in (None, "None"):
        raise ConfigError(f"{instance.source}: mirroring is off (mirror_direction is None); set mirror_direction: "
                          "Incoming, Outgoing or Incoming And Outgoing, then fetch (it applies to incidents "
                          "fetched afterwards).")
    config = mirror.Mirroring.from_params(params, sync_in, sync_out)
    if not (config.incoming or config.outgoing):
        raise ConfigError(f"{instance.source}: mirror_direction {params.get('mirror_direction')} needs "
                          f"script.isremotesync{'in' if 'Incoming' in str(params.get('mirror_direction')) else 'out'}"
                          f" in {manifest.path.name}, which is false.")
    path = _existing_state(ns)
    totals = Counter[str]()

    def live(report: mirror.MirrorReport, next_in: str) -> str:
        return (f"mirror cycle {report.cycle} {'ok' if report.ok else 'FAILED'} in {report.seconds:.1f}s{next_in}; "
                f"{totals['pulled']} pulled, {totals['pushed']} pushed, {totals['errors']} error(s) "
                f"in {totals['cycles']} cycle(s)")

    def count(report: mirror.MirrorReport) -> None:
        totals.update(cycles=1, pulled=report.pulled, pushed=report.pushed, errors=len(report.errors))

    def logs(report: mirror.MirrorReport) -> None:
        for outcome in report.outcomes:
            _print_logs(ns, outcome)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)

    with State(path) as state:
        return _repeat(ns, lambda: mirror.mirror_cycle(module, state, params, config, instance.env), logs, count,
                       live)

# endregion


# region incidents

def _existing_state(ns: argparse.Namespace) -> Path:
    path = state_path(ns.state)
    if not path.exists():
        raise ConfigError(f"no state at {path}; run `azure-sentinel fetch` first or pass --state FILE.")
    return path


def _incidents(ns: argparse.Namespace, extra: list[str]) -> int:
    action = ns.incidents_action or "list"
    if action == "list":
        return _list_incidents(ns)
    with State(_existing_state(ns)) as state:
        incident = local.find(state, ns.id)
        if action == "edit":
            changed = local.edit(incident, ns.pairs)
            incident = _store(state, incident) if changed else incident
            summary = f"incident {incident.seq}: " + (f"changed {', '.join(changed)}" if changed else "no change")
        elif action == "comment":
            entry = local.comment(incident, " ".join(ns.text), ns.tag, time.time())
            incident = _store(state, incident, [entry])
            tags = f"tags {', '.join(entry.tags)}" if entry.tags else "no tag: it stays local (--tag TAG to mirror it)"
            summary = printable(f"incident {incident.seq}: entry {entry.entry_id} added ({tags})")
        else:
            summary = ""
        entries = state.entries(incident.seq)
        received = state.received(incident.seq)
    if ns.json:
        print(to_json(incident_dict(incident, entries, received)))
    else:
        if summary:
            print(summary)
        print(incident_details(incident, entries, received))
    return EXIT_OK


def _store(state: State, incident: LocalIncident, entries: Sequence[Entry] = ()) -> LocalIncident:
    try:
        return state.commit_local(incident, entries)
    except ConcurrentChange as exc:
        raise ConfigError(f"{exc}; run the command again.") from None


def _list_incidents(ns: argparse.Namespace) -> int:
    with State(_existing_state(ns)) as state:
        received, cycles = state.incidents(), state.cycles()
    if ns.json:
        print(to_json([i.as_dict() for i in received]))
        return EXIT_OK
    print(incidents_table(received))
    counts = Counter(i.id for i in received if i.id is not None)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    note = f"; {duplicates} duplicate ID(s)!" if duplicates else ""
    print(f"{len(received)} incident(s) received in {cycles} committed fetch cycle(s){note}")
    return EXIT_OK

# endregion


# region demo, emulator

def _demo(ns: argparse.Namespace, extra: list[str]) -> int:
    from xsoar_local.demo import run_demo

    module, manifest = _integration(ns)
    return run_demo(module, manifest, verbose=ns.verbose)


def _emulator(argv: list[str]) -> int:
    try:
        from sentinel_emulator import cli as emulator_cli
    except ImportError as exc:
        print(f"azure-sentinel: error: the local Sentinel emulator is not available ({exc}).", file=sys.stderr)
        return EXIT_USAGE
    return int(emulator_cli.main(argv) or 0)

# endregion


def _integration(ns: argparse.Namespace) -> tuple[Path, Manifest]:
    module = host.module_path(ns.module)
    if not module.is_file():
        raise ConfigError(f"integration module not found at {module}; set {host.MODULE_ENV} or --module.")
    return module, load_manifest(host.manifest_path(ns.manifest, module))


def _print_logs(ns: argparse.Namespace, outcome: host.Outcome) -> None:
    if not ns.verbose:
        return
    for level, message in outcome.platform.logs:
        print(printable(f"[{level}] {message}"), file=sys.stderr)
    if outcome.trace:
        print(outcome.trace, file=sys.stderr, end="")

"""The platform's mirroring cycle over the stored incidents (what its mirror job does every minute).

One cycle (`mirror_cycle`), for the incidents whose mapped `dbotMirrorInstance` is this instance:

1. incoming (incidents with `dbotMirrorDirection` In or Both): get-modified-remote-data with the last
   mirror time; then get-remote-data for each returned ID that is stored locally (plus those that failed
   last time), with that incident's last sync time. The mirrored object goes through the incoming mapper
   (fields changed locally and not pushed yet stay as they are); a `dbotIncidentReopen` entry reopens, note
   entries are added to the war room, a `dbotIncidentClose` entry closes with its closeReason/closeNotes
   (neither when the incident's status was changed locally and not pushed yet: on the platform that
   change would have gone out at once, before the next mirror job).
2. outgoing (Out or Both): update-remote-system for each incident with local changes: `data` = the
   outgoing-mapped incident, `delta` = the outgoing keys of the changed fields (plus `closingUserId` on a
   close or reopen), `entries` = its new local entries tagged with the instance's comment_tag or the
   incident's dbotMirrorTags, `incidentChanged`, `remoteId` = dbotMirrorId, `status` = 0/1/2/3.

Commit rule (chosen to match the platform, where each command stands on its own): the results of every
command that succeeded are committed together in ONE transaction at the end of the cycle; a command that
failed contributes nothing and is retried next cycle (its incident is pulled again / its changes and
entries stay pending). A cycle in which every command failed commits nothing (only an integration context
the module wrote is saved, as for fetch: the platform applies it at once). get-modified-remote-data failing
("skip update") skips the pulls and keeps the mirror time; an error containing "API rate limit" stops that
direction for this cycle, and the failed and remaining incidents are pulled first next time.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xsoar_local import host, mapping
from xsoar_local import incidents as local
from xsoar_local.platform import ENTRY_ERROR, ENTRY_NOTE, Platform
from xsoar_local.state import LOCAL, REMOTE, ConcurrentChange, Entry, LocalIncident, MirrorCursor, State

GET_MODIFIED, GET_REMOTE, UPDATE_REMOTE, GET_MAPPING = (
    "get-modified-remote-data", "get-remote-data", "update-remote-system", "get-mapping-fields")
RATE_LIMIT = "API rate limit"
DEFAULT_COMMENT_TAG = "comment"
DEFAULT_INSTANCE = "local-instance"

_INCOMING_CHOICES = ("Incoming", "Incoming And Outgoing")
_OUTGOING_CHOICES = ("Outgoing", "Incoming And Outgoing")


def timestamp(epoch: float) -> str:
    """The time format the host sends (lastUpdate, entry times): RFC 3339 UTC, microseconds, `Z`."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Mirroring:
    """Which directions this instance mirrors, and with which tag."""

    incoming: bool
    outgoing: bool
    comment_tag: str = DEFAULT_COMMENT_TAG
    instance: str = DEFAULT_INSTANCE

    @classmethod
    def from_params(cls, params: Mapping[str, Any], sync_in: bool, sync_out: bool,
                    instance: str = DEFAULT_INSTANCE) -> Mirroring:
        direction = params.get("mirror_direction")
        if direction is None:  # an integration without the param: the manifest flags decide
            incoming, outgoing = sync_in, sync_out
        else:
            incoming = sync_in and direction in _INCOMING_CHOICES
            outgoing = sync_out and direction in _OUTGOING_CHOICES
        tag = str(params.get("comment_tag") or DEFAULT_COMMENT_TAG)
        return cls(incoming, outgoing, tag, instance)


@dataclass
class MirrorReport:
    """What one mirror cycle did, for the one-line (or JSON) report."""

    cycle: int
    seconds: float = 0.0
    modified: int = 0
    pulled: int = 0
    fields_in: int = 0
    entries_in: int = 0
    closed: int = 0
    reopened: int = 0
    pushed: int = 0
    fields_out: int = 0
    entries_out: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rate_limited: bool = False
    committed: bool = False
    context_saved: bool = False
    outcomes: list[host.Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle, "ok": self.ok, "committed": self.committed, "modified": self.modified,
            "pulled": self.pulled, "fields_in": self.fields_in, "entries_in": self.entries_in,
            "closed": self.closed, "reopened": self.reopened, "pushed": self.pushed,
            "fields_out": self.fields_out, "entries_out": self.entries_out, "errors": self.errors,
            "warnings": self.warnings, "rate_limited": self.rate_limited, "context_saved": self.context_saved,
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        counts = (f"{self.modified} modified, {self.pulled} pulled ({self.fields_in} fields, {self.entries_in} "
                  f"entries in, {self.closed} closed, {self.reopened} reopened), {self.pushed} pushed "
                  f"({self.fields_out} fields, {self.entries_out} entries out)")
        if self.ok:
            return f"mirror {self.cycle} ok in {self.seconds:.1f}s: {counts}"
        kept = "the rest committed" if self.committed else "nothing committed"
        saved = "; token cache/context saved" if self.context_saved and not self.committed else ""
        return (f"mirror {self.cycle} FAILED in {self.seconds:.1f}s: {counts}; {len(self.errors)} error(s), "
                f"retried next cycle ({kept}{saved}): {' | '.join(self.errors)}")


class _Session:
    """Runs mirroring commands one after another as the platform would, passing the context along."""

    def __init__(self, module: Path, params: dict[str, Any], env: Mapping[str, str] | None,
                 state: State, instance: str, report: MirrorReport) -> None:
        self.module, self.params, self.env, self.instance, self.report = module, params, env, instance, report
        self.last_run, self.context = state.last_run(), state.context()
        self.context_written = False
        self.succeeded = 0

    def run(self, command: str, args: dict[str, Any]) -> host.Outcome:
        platform = Platform(params=self.params, args=args, command=command, last_run=self.last_run,
                            context=self.context, instance=self.instance)
        outcome = host.execute(self.module, platform, self.env)
        if platform.context_writes:
            self.context, self.context_written = platform.context, True
        self.report.outcomes.append(outcome)
        return outcome


def mirror_cycle(module: Path, state: State, params: dict[str, Any], config: Mirroring,
                 env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time) -> MirrorReport:
    """Run one mirroring cycle and commit what succeeded (see the module docstring)."""
    started_monotonic, started = time.monotonic(), clock()
    cursor = state.mirror_cursor()
    report = MirrorReport(cycle=cursor.cycle + 1)
    session = _Session(module, params, env, state, config.instance, report)
    incidents = local.all_incidents(state)
    changed: dict[int, LocalIncident] = {}
    new_entries: list[Entry] = []
    pushed: list[int] = []
    next_cursor = cursor
    if config.incoming:
        next_cursor = _pull(session, incidents, cursor, config, started, clock, changed, new_entries)
    if config.outgoing:
        _push(session, incidents, state.entries(), config, changed, pushed)
    if session.succeeded or report.ok:  # a cycle in which every command failed commits nothing
        try:
            report.cycle = state.commit_mirror(list(changed.values()), new_entries, pushed, next_cursor,
                                               session.context if session.context_written else None,
                                               after_cycle=cursor.cycle)
            report.committed = True
        except ConcurrentChange as exc:
            report.errors.append(f"{exc}; this cycle's results were dropped (retried next cycle)")
    elif session.context_written:
        state.save_context(session.context)
    report.context_saved = session.context_written
    report.seconds = time.monotonic() - started_monotonic
    return report


# region incoming

def _pull(session: _Session, incidents: Sequence[LocalIncident], cursor: MirrorCursor, config: Mirroring,
          started: float, clock: Callable[[], float], changed: dict[int, LocalIncident],
          new_entries: list[Entry]) -> MirrorCursor:
    report = session.report
    mirrored = [i for i in incidents if local.mirrors(i, config.instance, mapping.INCOMING_DIRECTIONS)]
    since = cursor.last_update if cursor.last_update is not None else min(
        (i.last_sync for i in mirrored), default=started)
    outcome = session.run(GET_MODIFIED, {"lastUpdate": timestamp(since)})
    if isinstance(outcome.exception, NotImplementedError):
        wanted = {i.remote_id for i in mirrored}  # the platform then calls get-remote-data on every incident
    else:
        ids, error = modified_ids(outcome)
        if error is not None:
            report.errors.append(f"{GET_MODIFIED}: {error}")
            report.rate_limited = RATE_LIMIT in error
            return cursor
        wanted = {*ids, *cursor.pending}
    session.succeeded += 1
    queue = [i for i in mirrored if i.remote_id in wanted]
    report.modified = len(queue)
    pending: list[str] = []
    for index, incident in enumerate(queue):
        called = clock()
        outcome = session.run(GET_REMOTE, {"id": incident.remote_id, "lastUpdate": timestamp(incident.last_sync)})
        result, error = remote_data(outcome)
        if error is not None:
            report.errors.append(f"{GET_REMOTE} {incident.remote_id}: {error}")
            pending.append(str(incident.remote_id))
            if RATE_LIMIT in error:
                report.rate_limited = True
                pending += [str(i.remote_id) for i in queue[index + 1:]]
                break
            continue
        session.succeeded += 1
        working = changed.get(incident.seq) or copy.deepcopy(incident)
        _apply(working, result, config, report, new_entries, called)
        changed[incident.seq] = working
        report.pulled += 1
    return MirrorCursor(started, tuple(dict.fromkeys(pending)), cursor.cycle)


def _apply(incident: LocalIncident, result: tuple[dict[str, Any], list[dict[str, Any]]], config: Mirroring,
           report: MirrorReport, new_entries: list[Entry], called: float) -> None:
    remote, entries = result
    protect = config.outgoing and local.mirrors(incident, config.instance, mapping.OUTGOING_DIRECTIONS)
    report.fields_in += len(local.apply_remote(incident, remote, protect_dirty=protect))
    status_kept = protect and "status" in incident.dirty  # a local close/reopen not pushed yet wins
    closes = [] if status_kept else [e["Contents"] for e in entries if _flag(e, "dbotIncidentClose")]
    reopen = not status_kept and any(_flag(e, "dbotIncidentReopen") for e in entries)
    if reopen and local.reopen_from_remote(incident):
        report.reopened += 1
    outgoing_tags = local.mirror_tags(incident, config.comment_tag)
    for item in entries:
        if _flag(item, "dbotIncidentClose") or _flag(item, "dbotIncidentReopen"):
            continue
        entry = note_entry(incident.seq, item, called, report.cycle)
        echo = outgoing_tags & set(entry.tags)
        if echo:
            report.warnings.append(f"{GET_REMOTE} {incident.remote_id}: an entry came in tagged "
                                   f"{', '.join(sorted(echo))}; a platform that sends every tagged entry out "
                                   "would mirror it back (echo)")
        new_entries.append(entry)
        report.entries_in += 1
    for contents in closes:
        if local.close_from_remote(incident, contents.get("closeReason"), contents.get("closeNotes")):
            report.closed += 1
    incident.last_sync = called


def _flag(entry: Mapping[str, Any], name: str) -> bool:
    contents = entry.get("Contents")
    return isinstance(contents, dict) and bool(contents.get(name))


def note_entry(incident: int, item: Mapping[str, Any], created: float, cycle: int) -> Entry:
    """A war-room entry from one get-remote-data entry (full entry syntax: Type, Contents, Tags, Note, ...)."""
    contents = item.get("Contents")
    text = contents if isinstance(contents, str) else json.dumps(contents, sort_keys=True, default=str)
    fmt = item.get("ContentsFormat") or ("text" if isinstance(contents, str) else "json")
    tags = item.get("Tags") or []
    tags = [tags] if isinstance(tags, str) else [str(t) for t in tags] if isinstance(tags, list) else []
    kind = item.get("Type")
    return Entry(incident=incident, contents=text, tags=tags, source=REMOTE, user="", created=created,
                 type=kind if isinstance(kind, int) and not isinstance(kind, bool) else ENTRY_NOTE,
                 format=str(fmt), note=bool(item.get("Note")), mirror_cycle=cycle)

# endregion


# region outgoing

def _push(session: _Session, incidents: Sequence[LocalIncident], entries: Sequence[Entry], config: Mirroring,
          changed: dict[int, LocalIncident], pushed: list[int]) -> None:
    report = session.report
    unpushed: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.source == LOCAL and not entry.pushed:
            unpushed.setdefault(entry.incident, []).append(entry)
    for incident in incidents:
        if not local.mirrors(incident, config.instance, mapping.OUTGOING_DIRECTIONS):
            continue
        working = changed.get(incident.seq) or copy.deepcopy(incident)
        tags = local.mirror_tags(working, config.comment_tag)
        outgoing = [e for e in unpushed.get(incident.seq, []) if tags & set(e.tags)]
        args = update_args(working, outgoing)
        if not args["incidentChanged"] and not outgoing:
            if working.dirty:  # changes no outgoing field maps: nothing to send, nothing pending
                working.dirty.clear()
                changed[incident.seq] = working
            continue
        outcome = session.run(UPDATE_REMOTE, args)
        new_id, error = remote_id(outcome)
        if error is not None:
            report.errors.append(f"{UPDATE_REMOTE} {working.remote_id}: {error}")
            if RATE_LIMIT in error:
                report.rate_limited = True
                return
            continue
        session.succeeded += 1
        report.pushed += 1
        report.fields_out += len(args["delta"])
        report.entries_out += len(outgoing)
        working.dirty.clear()
        if new_id != working.remote_id:
            report.warnings.append(f"{UPDATE_REMOTE} {working.remote_id}: returned remote ID {new_id}; "
                                   "dbotMirrorId updated")
            working.fields[mapping.MIRROR_ID] = new_id
        changed[incident.seq] = working
        pushed += [e.id for e in outgoing if e.id is not None]


def update_args(incident: LocalIncident, entries: Sequence[Entry]) -> dict[str, Any]:
    """The args the platform passes to update-remote-system for this incident."""
    delta = mapping.outgoing_delta(incident.fields, incident.dirty)
    if local.CLOSING_USER in incident.dirty:
        delta[local.CLOSING_USER] = incident.fields.get(local.CLOSING_USER) or ""
    return {
        "data": mapping.outgoing_data(incident.fields), "delta": delta,
        "entries": [entry_object(e) for e in entries], "incidentChanged": bool(delta),
        "remoteId": incident.remote_id, "status": incident.status,
    }


def entry_object(entry: Entry) -> dict[str, Any]:
    """An entry as the server hands it to update-remote-system (lower-case keys)."""
    return {"id": entry.entry_id, "type": entry.type, "contents": entry.contents, "format": entry.format,
            "tags": list(entry.tags), "user": entry.user, "note": entry.note, "created": timestamp(entry.created)}

# endregion


# region what each command must return

def _failure(outcome: host.Outcome) -> str | None:
    return outcome.errors[0] if outcome.failed else None


def modified_ids(outcome: host.Outcome) -> tuple[list[str], str | None]:
    """The IDs of `{"Type": 1, "ContentsFormat": "json", "Contents": [ids]}` (GetModifiedRemoteDataResponse)."""
    error = _failure(outcome)
    if error is not None:
        return [], error
    notes = [r for r in outcome.platform.results if isinstance(r, dict) and r.get("Type") == ENTRY_NOTE]
    if len(notes) != 1 or not isinstance(notes[0].get("Contents"), list):
        return [], (f"returned {_shape(outcome.platform.results)}; expected one entry "
                    "{'Type': 1, 'ContentsFormat': 'json', 'Contents': [incident IDs]}")
    ids = notes[0]["Contents"]
    if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
        return [], "returned IDs that are not strings"
    return [str(i) for i in ids], None


def remote_data(outcome: host.Outcome) -> tuple[tuple[dict[str, Any], list[dict[str, Any]]], str | None]:
    """(mirrored object, entries) of `[mirrored_object, *entries]` (GetRemoteDataResponse.extract_for_local())."""
    empty: tuple[dict[str, Any], list[dict[str, Any]]] = ({}, [])
    error = _failure(outcome)
    if error is not None:
        return empty, error
    results = outcome.platform.results
    if results == [None]:  # CommonServerPython with an empty mirrored object: nothing to apply
        return empty, None
    if not results or not all(isinstance(r, dict) for r in results):
        return empty, (f"returned {_shape(results)}; expected [mirrored incident (a dict, may be empty), "
                       "entries (dicts)...]")
    remote, entries = results[0], results[1:]
    mirror_error = remote.get("in_mirror_error")
    if mirror_error:
        return empty, f"in_mirror_error: {mirror_error}"
    if any(e.get("Type") == ENTRY_ERROR for e in entries):
        return empty, str(next(e for e in entries if e.get("Type") == ENTRY_ERROR).get("Contents"))
    return (remote, entries), None


def remote_id(outcome: host.Outcome) -> tuple[str | None, str | None]:
    """The remote incident ID update-remote-system returns (a string result, as return_results(str) gives)."""
    error = _failure(outcome)
    if error is not None:
        return None, error
    for result in reversed(outcome.platform.results):
        value = result.get("Contents") if isinstance(result, dict) else result
        if isinstance(value, str) and value.strip():
            return value.strip(), None
    return None, f"returned {_shape(outcome.platform.results)}; expected the remote incident ID (a string)"


def _shape(results: Sequence[Any]) -> str:
    text = json.dumps(results, default=str)
    return "nothing" if not results else text if len(text) <= 120 else text[:119] + "…"

# endregion

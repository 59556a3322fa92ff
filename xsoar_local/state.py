"""What the platform keeps between commands, in one SQLite file.

The integration context (JSON), the fetch lastRun (JSON, with the count of committed fetch cycles)
and the incidents the platform received. `commit_fetch` writes a fetch's incidents, its new lastRun and
its context in ONE transaction, so a crash or error leaves all of them as they were.

For mirroring, three more tables (created in any older file on open, so an old file upgrades itself):
`local_incidents` (the mutable fields of a received incident as the platform keeps them: status, fields,
the fields changed locally since the last push, the last sync time, a version for optimistic
concurrency), `entries` (war-room entries, local or mirrored in, with a pushed flag) and
`mirror_cursor` (the lastUpdate for get-modified-remote-data, the incidents to pull again, the count of
committed mirror cycles). A received incident has no `local_incidents` row until something changes it;
until then it is derived from its received row. `commit_mirror` writes one cycle in ONE transaction.

A state file that cannot be used (not an SQLite database, a table without the expected columns,
JSON that does not parse or is not an object, a file that cannot be opened or is locked) raises
`StateError`, a ConfigError: one line naming the file and the fix, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from xsoar_local.errors import ConfigError

DEFAULT_STATE = Path(".azure-sentinel") / "state.sqlite"
STATE_ENV = "AZURE_SENTINEL_STATE"
BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS integration_context (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    json TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS last_run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    json TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT,
    number INTEGER,
    name TEXT,
    occurred TEXT,
    severity REAL,
    raw_json TEXT,
    received_at REAL NOT NULL,
    cycle INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS local_incidents (
    seq INTEGER PRIMARY KEY,
    status INTEGER NOT NULL,
    fields TEXT NOT NULL,
    dirty TEXT NOT NULL,
    last_sync REAL NOT NULL,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident INTEGER NOT NULL,
    type INTEGER NOT NULL,
    contents TEXT NOT NULL,
    format TEXT NOT NULL,
    tags TEXT NOT NULL,
    note INTEGER NOT NULL,
    source TEXT NOT NULL,
    user TEXT NOT NULL,
    created REAL NOT NULL,
    pushed INTEGER NOT NULL,
    mirror_cycle INTEGER
);
CREATE INDEX IF NOT EXISTS entries_by_incident ON entries (incident, id);
CREATE TABLE IF NOT EXISTS mirror_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_update REAL NOT NULL,
    pending TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
"""

LOCAL, REMOTE = "local", "remote"  # where an entry was written


@dataclass(frozen=True)
class ReceivedIncident:
    """One incident as the platform received it (`id` is dbotMirrorId when the integration set it)."""

    seq: int
    id: str | None
    number: int | None
    name: str
    occurred: str
    severity: float | None
    raw_json: str | None
    received_at: float
    cycle: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "id": self.id, "number": self.number, "name": self.name,
            "occurred": self.occurred, "severity": self.severity, "rawJSON": self.raw_json,
            "received_at": self.received_at, "cycle": self.cycle,
        }


@dataclass
class LocalIncident:
    """A received incident as the platform keeps it: mutable status and fields (mapped by the incoming mapper).

    `seq` is the local incident ID (the received row's seq); `status` the platform's number (0 Pending,
    1 Active, 2 Done, 3 Archive); `dirty` the fields changed locally and not pushed yet; `last_sync` the
    epoch time of the last successful get-remote-data (first: when it was received); `version` counts
    stored changes (0: never stored, derived from the received row).
    """

    seq: int
    status: int
    fields: dict[str, Any]
    dirty: set[str]
    last_sync: float
    version: int = 0

    @property
    def remote_id(self) -> str | None:
        value = self.fields.get("dbotMirrorId")
        return None if value in (None, "") else str(value)


@dataclass
class Entry:
    """One war-room entry of a local incident (`id` is None until stored)."""

    incident: int
    contents: str
    tags: list[str]
    source: str
    user: str
    created: float
    type: int = 1
    format: str = "text"
    note: bool = False
    pushed: bool = False
    mirror_cycle: int | None = None
    id: int | None = None

    @property
    def entry_id(self) -> str:
        """The platform's entry ID: `<entry number>@<incident ID>`."""
        return f"{self.id}@{self.incident}"


@dataclass(frozen=True)
class MirrorCursor:
    """Where mirroring stands: lastUpdate (epoch) for get-modified-remote-data, IDs to pull again, cycles."""

    last_update: float | None = None
    pending: tuple[str, ...] = ()
    cycle: int = 0


class ConcurrentChange(Exception):
    """Another process changed what this command read (an incident, or a mirror cycle) in the meantime."""


def state_path(explicit: str | None) -> Path:
    """--state, else $AZURE_SENTINEL_STATE, else ./.azure-sentinel/state.sqlite."""
    return Path(explicit or os.environ.get(STATE_ENV) or DEFAULT_STATE)


class ConcurrentFetch(Exception):
    """Another process committed a fetch cycle since this one read the lastRun."""


class StateError(ConfigError):
    """The state file cannot be used as it is: one line naming the file and the fix (exit code 2)."""


_Method = TypeVar("_Method", bound=Callable[..., Any])
_UNUSABLE = ("unable to open", "readonly", "read-only", "permission", "disk i/o", "authorization")
_BUSY = ("locked", "busy")


def _guarded(method: _Method) -> _Method:
    """Turn SQLite errors raised by a State method into one StateError line."""

    @functools.wraps(method)
    def wrapper(self: State, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None

    return wrapper  # type: ignore[return-value]


def sqlite_error(path: Path, exc: sqlite3.Error) -> StateError:
    """The StateError for an SQLite failure on `path`: busy, unusable (permissions) or damaged."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    lowered = reason.lower()
    if any(word in lowered for word in _BUSY):
        return StateError(f"the state file {path} is in use by another process ({reason}); "
                          "wait for it to finish, or pass --state NEW_FILE.")
    if any(word in lowered for word in _UNUSABLE):
        return StateError(f"cannot use the state file {path} ({reason}); make it readable and writable, "
                          "or pass --state NEW_FILE.")
    return damaged(path, reason)


def damaged(path: Path, what: str) -> StateError:
    return StateError(f"the state file {path} is damaged ({what}); delete it or pass --state NEW_FILE.")


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z, the last second a datetime can hold


def _owner_only(path: Path) -> None:
    """Create the state file readable by its owner only (it holds access tokens), or tighten it; a path that
    cannot be opened as a file is left to sqlite3, which says why."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
    except OSError:
        pass


def _storable(value: Any) -> Any:
    """Text as SQLite can store it: lone surrogates (bytes that were not UTF-8, or JSON escapes of half a
    character) become U+FFFD; anything else unchanged."""
    return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _is_epoch(value: Any) -> bool:
    """A stored time (epoch seconds) that is a calendar time: a number from 1970 to the year 9999."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_EPOCH


class State:
    """The host's persistent state. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StateError(f"cannot create the folder of the state file {self.path} "
                                 f"({exc.strerror or exc}); pass --state NEW_FILE.") from None
            _owner_only(self.path)
        try:  # isolation_level=None: transactions are explicit
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None
        try:
            self._db.executescript(_SCHEMA)
            self._check()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.Error):
                raise sqlite_error(self.path, exc) from None
            raise

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _check(self) -> None:
        """Refuse a file whose tables lack columns or whose stored JSON objects do not parse."""
        for table, columns in _expected_columns().items():
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            missing = sorted(columns - present)
            if missing:
                raise damaged(self.path, f"table {table} has no column {', '.join(missing)}")
        self.context()
        self.last_run()
        self.cycles()
        self.local_incidents()
        self.entries()
        self.mirror_cursor()

    # region reads

    @_guarded
    def context(self) -> dict[str, Any]:
        row = self._db.execute("SELECT json FROM integration_context WHERE id = 1").fetchone()
        return self.json_object(row[0], "integration_context") if row else {}

    @_guarded
    def last_run(self) -> dict[str, Any]:
        row = self._db.execute("SELECT json FROM last_run WHERE id = 1").fetchone()
        return self.json_object(row[0], "last_run") if row else {}

    @_guarded
    def cycles(self) -> int:
        """How many fetch cycles have been committed."""
        row = self._db.execute("SELECT cycle FROM last_run WHERE id = 1").fetchone()
        if row is None:
            return 0
        if not isinstance(row[0], int):
            raise damaged(self.path, "last_run.cycle is not a whole number")
        return row[0]

    @_guarded
    def incidents(self) -> list[ReceivedIncident]:
        rows = self._db.execute(
            "SELECT seq, id, number, name, occurred, severity, raw_json, received_at, cycle "
            "FROM incidents ORDER BY seq").fetchall()
        return [_received(row) for row in rows]

    @_guarded
    def received(self, seq: int) -> ReceivedIncident | None:
        row = self._db.execute(
            "SELECT seq, id, number, name, occurred, severity, raw_json, received_at, cycle "
            "FROM incidents WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else _received(row)

    @_guarded
    def local_incidents(self) -> dict[int, LocalIncident]:
        """The stored local incidents by seq (received incidents that never changed have none)."""
        rows = self._db.execute(
            "SELECT seq, status, fields, dirty, last_sync, version FROM local_incidents ORDER BY seq").fetchall()
        return {row[0]: self._local(row) for row in rows}

    @_guarded
    def entries(self, incident: int | None = None) -> list[Entry]:
        query = ("SELECT id, incident, type, contents, format, tags, note, source, user, created, pushed, "
                 "mirror_cycle FROM entries")
        rows = self._db.execute(query + (" WHERE incident = ? ORDER BY id" if incident is not None else " ORDER BY id"),
                                () if incident is None else (incident,)).fetchall()
        return [self._entry(row) for row in rows]

    @_guarded
    def mirror_cursor(self) -> MirrorCursor:
        row = self._db.execute("SELECT last_update, pending, cycle FROM mirror_cursor WHERE id = 1").fetchone()
        if row is None:
            return MirrorCursor()
        last_update, pending, cycle = row
        pending_ids = self._json(pending, "mirror_cursor.pending", list)
        if not _is_epoch(last_update) or not isinstance(cycle, int) \
                or not all(isinstance(i, str) for i in pending_ids):
            raise damaged(self.path, "mirror_cursor has values of the wrong type")
        return MirrorCursor(float(last_update), tuple(pending_ids), cycle)

    def json_object(self, text: Any, where: str) -> dict[str, Any]:
        """A stored JSON object, or the StateError saying where the state is damaged."""
        return self._json(text, where, dict)

    def _json(self, text: Any, where: str, kind: type) -> Any:
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            raise damaged(self.path, f"{where} is not valid JSON") from None
        if not isinstance(value, kind):
            raise damaged(self.path, f"{where} is JSON but not an {'object' if kind is dict else 'array'}")
        return value

    def _local(self, row: Sequence[Any]) -> LocalIncident:
        seq, status, fields, dirty, last_sync, version = row
        where = f"local_incidents row {seq}"
        parsed_dirty = self._json(dirty, f"{where} dirty", list)
        if not all(isinstance(x, int) for x in (seq, status, version)) or not _is_epoch(last_sync) \
                or not all(isinstance(name, str) for name in parsed_dirty):
            raise damaged(self.path, f"{where} has values of the wrong type")
        return LocalIncident(seq, status, self._json(fields, f"{where} fields", dict), set(parsed_dirty),
                             float(last_sync), version)

    def _entry(self, row: Sequence[Any]) -> Entry:
        ident, incident, kind, contents, fmt, tags, note, source, user, created, pushed, mirror_cycle = row
        parsed_tags = self._json(tags, f"entries row {ident} tags", list)
        if not all(isinstance(x, int) for x in (ident, incident, kind)) or not _is_epoch(created) \
                or not all(isinstance(t, str) for t in parsed_tags):
            raise damaged(self.path, f"entries row {ident} has values of the wrong type")
        return Entry(id=ident, incident=incident, type=kind, contents=str(contents), format=str(fmt),
                     tags=parsed_tags, note=bool(note), source=str(source), user=str(user), created=float(created),
                     pushed=bool(pushed), mirror_cycle=mirror_cycle if isinstance(mirror_cycle, int) else None)

    # endregion

    # region writes

    @_guarded
    def save_context(self, context: dict[str, Any]) -> None:
        payload = json.dumps(context, sort_keys=True)
        with self._transaction():
            self._write_context(payload)

    @_guarded
    def commit_fetch(self, incidents: Sequence[dict[str, Any]], last_run: dict[str, Any],
                     context: dict[str, Any] | None, after_cycle: int | None = None) -> int:
        """Store a successful fetch atomically; returns its cycle number (1, 2, ...).

        With `after_cycle` (the committed cycles when the fetch read its lastRun), a fetch that another
        process overtook raises ConcurrentFetch and commits nothing.
        """
        rows = [_incident_row(item) for item in incidents]
        last_run_json = json.dumps(last_run, sort_keys=True)
        context_json = None if context is None else json.dumps(context, sort_keys=True)
        now = time.time()
        with self._transaction():
            if after_cycle is not None and self.cycles() != after_cycle:
                raise ConcurrentFetch(f"another fetch committed cycle {self.cycles()} meanwhile")
            cycle = self.cycles() + 1
            self._db.executemany(
                "INSERT INTO incidents (id, number, name, occurred, severity, raw_json, received_at, cycle) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(*map(_storable, row), now, cycle) for row in rows])
            self._write_last_run(last_run_json, cycle)
            if context_json is not None:
                self._write_context(context_json)
        return cycle

    @_guarded
    def commit_local(self, incident: LocalIncident, entries: Sequence[Entry] = ()) -> LocalIncident:
        """Store a local change of one incident (and new entries) if nobody changed it since it was read."""
        now = time.time()
        with self._transaction():
            self._check_version(incident)
            stored = self._write_local(incident, now)
            self._insert_entries(entries)
        return stored

    @_guarded
    def commit_mirror(self, incidents: Sequence[LocalIncident], entries: Sequence[Entry], pushed: Sequence[int],
                      cursor: MirrorCursor, context: dict[str, Any] | None, after_cycle: int) -> int:
        """Store one mirror cycle atomically: changed incidents, new entries, pushed flags, cursor, context.

        Refused as a whole (ConcurrentChange) when another process committed a mirror cycle or changed one of
        these incidents since the cycle read them. Returns the committed cycle's number.
        """
        now = time.time()
        with self._transaction():
            if self.mirror_cursor().cycle != after_cycle:
                raise ConcurrentChange(f"another mirror cycle was committed meanwhile ({self.mirror_cursor().cycle})")
            for incident in incidents:
                self._check_version(incident)
            for incident in incidents:
                self._write_local(incident, now)
            self._insert_entries(entries)
            self._db.executemany("UPDATE entries SET pushed = 1 WHERE id = ?", [(i,) for i in pushed])
            cycle = after_cycle + 1
            self._db.execute(
                "INSERT INTO mirror_cursor (id, last_update, pending, cycle, updated_at) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_update = excluded.last_update, pending = excluded.pending, "
                "cycle = excluded.cycle, updated_at = excluded.updated_at",
                (cursor.last_update if cursor.last_update is not None else now, json.dumps(list(cursor.pending)),
                 cycle, now))
            if context is not None:
                self._write_context(json.dumps(context, sort_keys=True))
        return cycle

    def _check_version(self, incident: LocalIncident) -> None:
        row = self._db.execute("SELECT version FROM local_incidents WHERE seq = ?", (incident.seq,)).fetchone()
        if (row[0] if row else 0) != incident.version:
            raise ConcurrentChange(f"incident {incident.seq} was changed by another process meanwhile")

    def _write_local(self, incident: LocalIncident, now: float) -> LocalIncident:
        stored = LocalIncident(incident.seq, incident.status, dict(incident.fields), set(incident.dirty),
                               incident.last_sync, incident.version + 1)
        self._db.execute(
            "INSERT INTO local_incidents (seq, status, fields, dirty, last_sync, version, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(seq) DO UPDATE SET status = excluded.status, "
            "fields = excluded.fields, dirty = excluded.dirty, last_sync = excluded.last_sync, "
            "version = excluded.version, updated_at = excluded.updated_at",
            (stored.seq, stored.status, json.dumps(stored.fields, sort_keys=True, default=str),
             json.dumps(sorted(stored.dirty)), stored.last_sync, stored.version, now))
        return stored

    def _insert_entries(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            cursor = self._db.execute(
                "INSERT INTO entries (incident, type, contents, format, tags, note, source, user, created, pushed, "
                "mirror_cycle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.incident, entry.type, _storable(entry.contents), entry.format, json.dumps(entry.tags),
                 int(entry.note), _storable(entry.source), _storable(entry.user), entry.created, int(entry.pushed),
                 entry.mirror_cycle))
            entry.id = cursor.lastrowid

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _write_context(self, payload: str) -> None:
        self._db.execute(
            "INSERT INTO integration_context (id, json, updated_at) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at",
            (payload, time.time()))

    def _write_last_run(self, payload: str, cycle: int) -> None:
        self._db.execute(
            "INSERT INTO last_run (id, json, cycle, updated_at) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET json = excluded.json, cycle = excluded.cycle, "
            "updated_at = excluded.updated_at",
            (payload, cycle, time.time()))

    # endregion


def _incident_row(item: dict[str, Any]) -> tuple[Any, ...]:
    """(id, number, name, occurred, severity, raw_json) of one incident dict from the integration."""
    raw = item.get("rawJSON")
    raw_json = raw if isinstance(raw, str) or raw is None else json.dumps(raw, sort_keys=True)
    ident = item.get("dbotMirrorId") or item.get("id")
    severity = item.get("severity")
    return (
        None if ident is None else str(ident),
        incident_number(raw_json),
        str(item.get("name", "")),
        str(item.get("occurred", "")),
        float(severity) if isinstance(severity, (int, float)) and not isinstance(severity, bool) else None,
        raw_json,
    )


@functools.cache
def _expected_columns() -> dict[str, frozenset[str]]:
    """table -> the column names _SCHEMA creates."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(_SCHEMA)
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                               "AND name NOT LIKE 'sqlite_%'")]
        return {t: frozenset(row[1] for row in db.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        db.close()


def _received(row: Sequence[Any]) -> ReceivedIncident:
    """A stored row as a ReceivedIncident; values of the wrong type (a hand-edited file) are blanked."""
    seq, ident, number, name, occurred, severity, raw_json, received_at, cycle = row

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    def whole(value: Any) -> int | None:
        return value if isinstance(value, int) else None

    def real(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) else None

    def moment(value: Any) -> float:
        return float(value) if _is_epoch(value) else 0.0

    return ReceivedIncident(
        seq=whole(seq) or 0, id=None if ident is None else str(ident), number=whole(number), name=text(name),
        occurred=text(occurred), severity=real(severity), raw_json=None if raw_json is None else str(raw_json),
        received_at=moment(received_at), cycle=whole(cycle) or 0)


def incident_number(raw_json: str | None) -> int | None:
    """The Sentinel incident number found in rawJSON (official formatted keys or the API shape)."""
    try:
        raw = json.loads(raw_json) if raw_json else None
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    properties = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    for value in (raw.get("IncidentNumber"), raw.get("incidentNumber"), properties.get("incidentNumber")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None

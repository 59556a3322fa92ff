"""What the platform keeps between commands, in one SQLite file.

Three things: the integration context (JSON), the fetch lastRun (JSON, with the count of committed
fetch cycles) and the incidents the platform received. `commit_fetch` writes a fetch's incidents,
its new lastRun and its context in ONE transaction, so a crash or error leaves all of them as they were.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_STATE = Path(".azure-sentinel") / "state.sqlite"
STATE_ENV = "AZURE_SENTINEL_STATE"

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
"""


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


def state_path(explicit: str | None) -> Path:
    """--state, else $AZURE_SENTINEL_STATE, else ./.azure-sentinel/state.sqlite."""
    return Path(explicit or os.environ.get(STATE_ENV) or DEFAULT_STATE)


class ConcurrentFetch(Exception):
    """Another process committed a fetch cycle since this one read the lastRun."""


class State:
    """The host's persistent state. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None)  # transactions are explicit
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # region reads

    def context(self) -> dict[str, Any]:
        row = self._db.execute("SELECT json FROM integration_context WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else {}

    def last_run(self) -> dict[str, Any]:
        row = self._db.execute("SELECT json FROM last_run WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else {}

    def cycles(self) -> int:
        """How many fetch cycles have been committed."""
        row = self._db.execute("SELECT cycle FROM last_run WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def incidents(self) -> list[ReceivedIncident]:
        rows = self._db.execute(
            "SELECT seq, id, number, name, occurred, severity, raw_json, received_at, cycle "
            "FROM incidents ORDER BY seq").fetchall()
        return [ReceivedIncident(*row) for row in rows]

    # endregion

    # region writes

    def save_context(self, context: dict[str, Any]) -> None:
        payload = json.dumps(context, sort_keys=True)
        with self._transaction():
            self._write_context(payload)

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
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(*row, now, cycle) for row in rows])
            self._write_last_run(last_run_json, cycle)
            if context_json is not None:
                self._write_context(context_json)
        return cycle

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

"""A state file that cannot be used: every host command says so in one line (exit 2), never a traceback."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from host_helpers import Host, host  # noqa: F401 - `host` is a fixture
from xsoar_local import state as state_module
from xsoar_local.state import State, StateError

COMMANDS = [
    pytest.param(["run", "fake-count"], id="run"),
    pytest.param(["fetch"], id="fetch"),
    pytest.param(["incidents"], id="incidents"),
    pytest.param(["incidents", "show", "1"], id="incidents-show"),
    pytest.param(["incidents", "edit", "1", "severity=High"], id="incidents-edit"),
    pytest.param(["mirror"], id="mirror"),
]
MIRRORING = "mirror_direction: Incoming And Outgoing\n"


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        db = sqlite3.connect(path)
        db.execute(statement)
        db.commit()
        db.close()
    return damage


def _replace_with_text(path: Path) -> None:
    path.write_text("this is not a database, it is a note\n" * 50, encoding="utf-8")


def _foreign_database(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE incidents (seq INTEGER PRIMARY KEY, id TEXT)")
    db.commit()
    db.close()


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGES = [
    pytest.param(_sql("UPDATE integration_context SET json = '{\"token\": '"),
                 "is damaged (integration_context is not valid JSON); delete it or pass --state NEW_FILE.",
                 id="context-not-json"),
    pytest.param(_sql("UPDATE integration_context SET json = '[1, 2]'"),
                 "is damaged (integration_context is JSON but not an object)", id="context-a-list"),
    pytest.param(_sql("UPDATE last_run SET json = 'null'"),
                 "is damaged (last_run is JSON but not an object)", id="last-run-null"),
    pytest.param(_sql("UPDATE last_run SET json = '{\"last_number\": 2,'"),
                 "is damaged (last_run is not valid JSON)", id="last-run-truncated"),
    pytest.param(_sql("UPDATE last_run SET cycle = 'three'"),
                 "is damaged (last_run.cycle is not a whole number)", id="cycle-not-a-number"),
    pytest.param(_sql("UPDATE local_incidents SET fields = '{\"name\": \"x\"'"),
                 "is damaged (local_incidents row 1 fields is not valid JSON)", id="local-fields-not-json"),
    pytest.param(_sql("UPDATE local_incidents SET dirty = '{}'"),
                 "is damaged (local_incidents row 1 dirty is JSON but not an array)", id="local-dirty-an-object"),
    pytest.param(_sql("UPDATE entries SET tags = 'comment'"), "is damaged (entries row 1 tags is not valid JSON)",
                 id="entry-tags-not-json"),
    pytest.param(_sql("UPDATE mirror_cursor SET pending = 'null'"),
                 "is damaged (mirror_cursor.pending is JSON but not an array)", id="cursor-pending-null"),
    pytest.param(_sql("UPDATE mirror_cursor SET last_update = 'yesterday'"),
                 "is damaged (mirror_cursor has values of the wrong type)", id="cursor-time-text"),
    pytest.param(_sql("UPDATE mirror_cursor SET last_update = 1e300"),
                 "is damaged (mirror_cursor has values of the wrong type)", id="cursor-time-past-year-9999"),
    pytest.param(_sql("UPDATE entries SET created = -1"),
                 "is damaged (entries row 1 has values of the wrong type)", id="entry-time-before-1970"),
    pytest.param(_sql("UPDATE local_incidents SET last_sync = 1e300"),
                 "is damaged (local_incidents row 1 has values of the wrong type)", id="last-sync-past-year-9999"),
    pytest.param(_replace_with_text, "is damaged (file is not a database)", id="not-sqlite"),
    pytest.param(_foreign_database, "is damaged (table incidents has no column cycle, name, number",
                 id="foreign-schema"),
    pytest.param(_directory, "cannot use the state file", id="a-directory"),
]


@pytest.mark.parametrize("argv", COMMANDS)
@pytest.mark.parametrize(("damage", "fragment"), DAMAGES)
def test_a_damaged_state_file_is_one_line_and_exit_2(host: Host, argv: list[str],
                                                     damage: Callable[[Path], None], fragment: str) -> None:
    """Given a state file damaged in one way, when any host command runs, then stderr is ONE line that
    names the file and the fix, stdout is empty and the exit code is 2."""
    host.instance(MIRRORING)
    assert host("fetch").code == 0
    assert host("incidents", "comment", "1", "a", "note").code == 0
    assert host("mirror").code == 0
    damage(host.state_file)
    result = host(*argv)
    assert (result.code, result.out) == (2, "")
    assert len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith("azure-sentinel: error: ")
    assert str(Path(".azure-sentinel") / "state.sqlite") in result.err
    assert fragment in result.err
    assert "Traceback" not in result.err


def test_a_state_path_below_a_file_is_one_line(host: Host) -> None:
    """Given --state under a path that is a file, then the error names the state file, exit 2."""
    host.instance()
    (host.root / "plain.txt").write_text("x", encoding="utf-8")
    result = host("run", "--state", "plain.txt/state.sqlite", "fake-count")
    assert result.code == 2
    assert result.err.startswith("azure-sentinel: error: cannot create the folder of the state file "
                                 "plain.txt/state.sqlite (")
    assert len(result.err.splitlines()) == 1


def test_a_locked_state_file_says_another_process_uses_it(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given another process holding an exclusive lock, then the command waits BUSY_TIMEOUT and says so."""
    host.instance()
    assert host("fetch").code == 0
    monkeypatch.setattr(state_module, "BUSY_TIMEOUT", 0.01)
    other = sqlite3.connect(host.state_file, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        result = host("fetch")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.code == 2
    assert "is in use by another process (database is locked); wait for it to finish" in result.err
    with host.state() as state:
        assert state.cycles() == 1


def test_a_failed_check_closes_the_file(tmp_path: Path) -> None:
    """Given a damaged file, then State() raises StateError and leaves no connection open (the file can be
    deleted and recreated at once, as the message says)."""
    path = tmp_path / "s.sqlite"
    with State(path) as state:
        state.save_context({"a": 1})
    _sql("UPDATE integration_context SET json = 'x'")(path)
    with pytest.raises(StateError, match="integration_context is not valid JSON"):
        State(path)
    path.unlink()
    with State(path) as state:
        assert state.context() == {}


def test_odd_values_in_received_incidents_are_shown_not_fatal(host: Host) -> None:
    """Given hand-edited incident rows (NULL name, text severity), then `incidents` still lists them."""
    host.instance()
    assert host("fetch").code == 0
    _sql("UPDATE incidents SET name = NULL, severity = 'high', number = 'x' WHERE seq = 1")(host.state_file)
    result = host("incidents")
    assert result.code == 0, result.err
    assert result.lines()[2].split() == ["1", "2025-01-02T00:00:00Z"]

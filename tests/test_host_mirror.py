"""`azure-sentinel mirror` and `azure-sentinel incidents show/edit/comment` on the fixture integration.

The fixture's `remote_file` stands in for Sentinel: fetch records the incidents it emits there, and the
tests change it to play an analyst working in Sentinel. Every command the host runs is recorded, so the
tests check the exact args the platform would pass.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from host_helpers import FIXTURES, Host, host  # noqa: F401 - `host` is a fixture
from xsoar_local import host as host_module
from xsoar_local import mapping
from xsoar_local.mirror import timestamp
from xsoar_local.state import ConcurrentChange, LocalIncident, MirrorCursor, State

MIRRORING = "mirror_direction: Incoming And Outgoing\nclose_incident: true\nclose_ticket: true\n"


class Mirror:
    """The host plus the remote stand-in and a record of the commands the host ran."""

    def __init__(self, host: Host, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.host, self.calls = host, calls
        self.remote_file = host.root / "remote.json"

    def instance(self, extra: str = "") -> None:
        self.host.instance(f"{MIRRORING}remote_file: {self.remote_file}\n{extra}")

    @contextmanager
    def remote(self, ident: str) -> Iterator[dict[str, Any]]:
        """Change one remote incident (as Sentinel would: its lastModified moves on)."""
        data = json.loads(self.remote_file.read_text(encoding="utf-8"))
        incident = data["incidents"][ident]
        yield incident
        incident["modified"] = time.time()
        self.remote_file.write_text(json.dumps(data), encoding="utf-8")

    def remote_incident(self, ident: str) -> dict[str, Any]:
        return json.loads(self.remote_file.read_text(encoding="utf-8"))["incidents"][ident]

    def add_remote_comment(self, ident: str, cid: str, message: str) -> None:
        with self.remote(ident) as incident:
            incident["comments"].append({"id": cid, "author": "alice", "message": message, "created": time.time()})

    def commands(self, name: str) -> list[dict[str, Any]]:
        return [args for command, args in self.calls if command == name]

    def mirror(self, *argv: str) -> Any:
        self.calls.clear()
        return self.host("mirror", *argv)

    def local(self, seq: int) -> dict[str, Any]:
        result = self.host("incidents", "show", "--json", str(seq))
        assert result.code == 0, result.err
        return result.json()


@pytest.fixture
def mirror(host: Host, monkeypatch: pytest.MonkeyPatch) -> Mirror:
    calls: list[tuple[str, dict[str, Any]]] = []
    real_execute = host_module.execute

    def recording_execute(module: Path, platform: Any, env: Any = None) -> host_module.Outcome:
        calls.append((platform.command, json.loads(json.dumps(platform.args))))
        return real_execute(module, platform, env)

    monkeypatch.setattr(host_module, "execute", recording_execute)
    m = Mirror(host, calls)
    m.instance()
    assert host("fetch").code == 0
    first = m.mirror()
    assert first.code == 0, first.err
    return m


def _cursor(host: Host) -> MirrorCursor:
    with host.state() as state:
        return state.mirror_cursor()


# region incoming

def test_a_cycle_right_after_fetch_finds_nothing_modified(mirror: Mirror) -> None:
    """Given incidents just fetched, when mirror runs, then get-modified-remote-data is asked from the time they
    were received, finds nothing newer, and no get-remote-data runs."""
    result = mirror.mirror()
    assert result.out.startswith("mirror 2 ok in ")
    assert "0 modified, 0 pulled" in result.out
    (args,) = mirror.commands("get-modified-remote-data")
    assert list(args) == ["lastUpdate"] and args["lastUpdate"].endswith("Z")
    assert mirror.commands("get-remote-data") == []


def test_incoming_fields_comment_and_close(mirror: Mirror) -> None:
    """Given a Sentinel incident retitled, escalated, commented and closed as TruePositive, when mirror runs,
    then get-remote-data gets its ID and last sync time, and the local incident gets the fields (through the
    incoming mapper), the comment as a note entry, and is closed with closeReason Resolved."""
    with mirror.remote("guid-2") as incident:
        incident.update(Title="Escalated", Severity="High", Status="Closed", classification="TruePositive",
                        classificationComment="confirmed")
    mirror.add_remote_comment("guid-2", "c1", "seen in the firewall logs")
    before = mirror.local(2)["last_sync"]
    result = mirror.mirror()
    assert result.code == 0, result.err
    assert "1 modified, 1 pulled" in result.out and "1 entries in, 1 closed, 0 reopened" in result.out
    (args,) = mirror.commands("get-remote-data")
    assert args["id"] == "guid-2"
    assert args["lastUpdate"] == timestamp(before)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", args["lastUpdate"])
    shown = mirror.local(2)
    assert shown["status"] == mapping.DONE
    fields = shown["fields"]
    assert (fields["name"], fields["severity"], fields["sourcestatus"]) == ("Escalated", 3, "Closed")
    assert (fields["closeReason"], fields["closeNotes"]) == ("Resolved", "confirmed\nClosed on Microsoft Sentinel")
    (entry,) = shown["entries"]
    assert (entry["contents"], entry["source"], entry["note"], entry["tags"]) == (
        "alice: seen in the firewall logs", "remote", True, [])
    assert mirror.local(1)["status"] == mapping.ACTIVE  # untouched


def test_incoming_reopen(mirror: Mirror) -> None:
    """Given an incident closed from Sentinel, when it is active again in Sentinel, then it is reopened locally
    and its close reason is cleared."""
    with mirror.remote("guid-1") as incident:
        incident.update(Status="Closed", classification="FalsePositive")
    mirror.mirror()
    assert mirror.local(1)["fields"]["closeReason"] == "False Positive"
    with mirror.remote("guid-1") as incident:
        incident.update(Status="Active", classification=None)
    result = mirror.mirror()
    assert "0 closed, 1 reopened" in result.out
    shown = mirror.local(1)
    assert shown["status"] == mapping.ACTIVE and shown["fields"]["closeReason"] == ""


def test_an_unpushed_local_change_is_not_overwritten_by_incoming(mirror: Mirror) -> None:
    """Given a local severity change not pushed yet, when Sentinel changes the title meanwhile, then the cycle
    takes the new title, keeps the local severity and pushes it."""
    assert mirror.host("incidents", "edit", "1", "severity=Critical").code == 0
    with mirror.remote("guid-1") as incident:
        incident["Title"] = "Renamed in Sentinel"
    result = mirror.mirror()
    assert result.code == 0, result.err
    fields = mirror.local(1)["fields"]
    assert (fields["name"], fields["severity"]) == ("Renamed in Sentinel", 4)
    assert mirror.remote_incident("guid-1")["Severity"] == "High"  # the fixture's level 4 -> High


def test_incoming_note_with_the_outgoing_tag_is_warned_about(mirror: Mirror) -> None:
    """Given an integration that tags incoming notes with the comment tag, then the host warns of the echo."""
    mirror.instance("incoming_note_tag: comment\n")
    mirror.add_remote_comment("guid-1", "c1", "hello")
    result = mirror.mirror()
    assert result.code == 0
    assert "warning: get-remote-data guid-1: an entry came in tagged comment; a platform that sends every " \
           "tagged entry out would mirror it back (echo)" in result.err

# endregion


# region outgoing

def test_outgoing_fields_and_comment_with_the_platform_args(mirror: Mirror) -> None:
    """Given a local retitle, escalation, a tagged and an untagged comment, when mirror runs, then
    update-remote-system gets the outgoing-mapped data, only the changed keys as delta, only the tagged entry,
    incidentChanged true, remoteId and the numeric status; Sentinel then has them, and nothing is sent again."""
    assert mirror.host("incidents", "edit", "guid-1", "title=Phishing wave", "severity=High").code == 0
    assert mirror.host("incidents", "comment", "1", "contained", "on", "host", "A", "--tag", "comment").code == 0
    assert mirror.host("incidents", "comment", "1", "private", "note").code == 0
    result = mirror.mirror()
    assert result.code == 0, result.err
    assert "1 pushed (2 fields, 1 entries out)" in result.out
    (args,) = mirror.commands("update-remote-system")
    assert args["delta"] == {"title": "Phishing wave", "severity": 3}
    assert args["data"] == {"title": "Phishing wave", "severity": 3, "status": "New"}
    assert (args["incidentChanged"], args["remoteId"], args["status"]) == (True, "guid-1", 1)
    (entry,) = args["entries"]
    assert {k: entry[k] for k in ("id", "type", "contents", "format", "tags", "user", "note")} == {
        "id": "1@1", "type": 1, "contents": "contained on host A", "format": "text", "tags": ["comment"],
        "user": "admin", "note": True}
    remote = mirror.remote_incident("guid-1")
    assert (remote["Title"], remote["Severity"]) == ("Phishing wave", "High")
    assert [c["message"] for c in remote["comments"]] == ["contained on host A"]
    shown = mirror.local(1)
    assert shown["dirty"] == [] and [e["pushed"] for e in shown["entries"]] == [True, False]
    again = mirror.mirror()
    assert again.code == 0 and mirror.commands("update-remote-system") == []


def test_a_local_close_and_reopen_go_out(mirror: Mirror) -> None:
    """Given a local close with a reason, then update-remote-system gets status 2 and the classification
    (Resolved -> TruePositive) with closingUserId; a local reopen then sends status 1, an empty classification
    and an empty closingUserId, and Sentinel follows both."""
    assert mirror.host("incidents", "edit", "1", "status=Closed", "closeReason=Resolved", "closeNotes=fixed").code == 0
    mirror.mirror()
    (args,) = mirror.commands("update-remote-system")
    assert args["status"] == 2
    assert args["delta"] == {"classification": "TruePositive", "classificationComment": "fixed",
                             "closingUserId": "admin"}
    remote = mirror.remote_incident("guid-1")
    assert (remote["Status"], remote["classification"]) == ("Closed", "TruePositive")
    assert mirror.host("incidents", "edit", "1", "status=Active").code == 0
    mirror.mirror()
    (args,) = mirror.commands("update-remote-system")
    assert args["status"] == 1
    assert args["delta"] == {"classification": "", "classificationComment": "", "closingUserId": ""}
    assert mirror.remote_incident("guid-1")["Status"] == "Active"


def test_a_comment_each_way(mirror: Mirror) -> None:
    """Given a comment written locally and one written in Sentinel, then after one cycle each side has the other's,
    and the local one does not come back (the integration drops its own)."""
    assert mirror.host("incidents", "comment", "2", "from the SOC", "--tag", "comment").code == 0
    mirror.add_remote_comment("guid-2", "c9", "from Sentinel")
    assert mirror.mirror().code == 0
    assert mirror.mirror().code == 0
    remote = mirror.remote_incident("guid-2")
    assert [c["message"] for c in remote["comments"]] == ["from Sentinel", "from the SOC"]
    entries = mirror.local(2)["entries"]
    assert [(e["contents"], e["source"]) for e in entries] == [("from the SOC", "local"),
                                                               ("alice: from Sentinel", "remote")]

# endregion


# region failures

def _snapshot(host: Host) -> tuple[Any, ...]:
    with host.state() as state:
        return (state.mirror_cursor(), sorted(state.local_incidents().items()),
                [(e.id, e.pushed) for e in state.entries()])


def test_a_failed_cycle_commits_nothing(mirror: Mirror) -> None:
    """Given get-modified-remote-data answering 'skip update' and update-remote-system failing, when mirror runs,
    then the exit code is 1, the line says what failed, and the cursor, the incidents and the entries are as
    they were (the local change and the comment stay pending), and Sentinel is unchanged."""
    assert mirror.host("incidents", "edit", "1", "severity=High").code == 0
    assert mirror.host("incidents", "comment", "1", "note", "--tag", "comment").code == 0
    mirror.instance("mirror_fail: get-modified,update:guid-1\n")
    before, remote_before = _snapshot(mirror.host), mirror.remote_incident("guid-1")
    result = mirror.mirror()
    assert result.code == 1
    assert result.out.startswith("mirror 2 FAILED in ")
    assert "2 error(s), retried next cycle (nothing committed): get-modified-remote-data: skip update. error: " \
           "Sentinel answered 503" in result.out
    assert "| update-remote-system guid-1: Failed to update incident guid-1: 409 Conflict" in result.out
    assert mirror.commands("get-remote-data") == []
    assert _snapshot(mirror.host) == before
    assert mirror.remote_incident("guid-1") == remote_before


def test_a_rerun_after_failures_does_not_duplicate_entries_or_comments(mirror: Mirror) -> None:
    """Given a pull that fails for one incident and a push that fails, then the next cycles pull that incident
    again and push the comment, and each comment exists exactly once on each side."""
    mirror.add_remote_comment("guid-1", "c1", "remote note")
    mirror.add_remote_comment("guid-2", "c2", "other note")
    assert mirror.host("incidents", "comment", "2", "local note", "--tag", "comment").code == 0
    mirror.instance("mirror_fail: get-remote:guid-1,update:guid-2\n")
    failed = mirror.mirror()
    assert failed.code == 1 and "the rest committed" in failed.out
    assert _cursor(mirror.host).pending == ("guid-1",)
    assert [e["contents"] for e in mirror.local(2)["entries"]] == ["local note", "alice: other note"]
    mirror.instance()
    assert mirror.mirror().code == 0
    assert mirror.mirror().code == 0
    assert [e["contents"] for e in mirror.local(1)["entries"]] == ["alice: remote note"]
    assert [e["contents"] for e in mirror.local(2)["entries"]] == ["local note", "alice: other note"]
    assert [c["message"] for c in mirror.remote_incident("guid-2")["comments"]] == ["other note", "local note"]
    assert _cursor(mirror.host).pending == ()


def test_a_lost_commit_resends_with_the_same_entry_id(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a cycle whose push reached Sentinel but whose commit was lost (the host died), then the re-run sends
    the entry again with the same ID, so an integration keyed on it leaves one comment."""
    assert mirror.host("incidents", "comment", "1", "once", "--tag", "comment").code == 0
    real_commit = State.commit_mirror

    def crash(self: State, *args: Any, **kwargs: Any) -> int:
        raise ConcurrentChange("simulated crash before the commit")

    monkeypatch.setattr(State, "commit_mirror", crash)
    assert mirror.mirror().code == 1
    monkeypatch.setattr(State, "commit_mirror", real_commit)
    assert mirror.mirror().code == 0
    ids = [a["entries"][0]["id"] for a in mirror.commands("update-remote-system")]
    assert ids == ["1@1"]
    assert [c["message"] for c in mirror.remote_incident("guid-1")["comments"]] == ["once"]
    assert mirror.local(1)["entries"][0]["pushed"] is True


def test_api_rate_limit_stops_the_pulls_and_resumes_from_the_failed_incident(mirror: Mirror) -> None:
    """Given two modified incidents and 'API rate limit' on the first, then the second is not pulled this cycle
    and both are pulled first next cycle."""
    for ident in ("guid-1", "guid-2"):
        with mirror.remote(ident) as incident:
            incident["Title"] = f"changed {ident}"
    mirror.instance("mirror_fail: rate-limit:guid-1\n")
    result = mirror.mirror()
    assert result.code == 1 and "API rate limit" in result.out
    assert [a["id"] for a in mirror.commands("get-remote-data")] == ["guid-1"]
    assert _cursor(mirror.host).pending == ("guid-1", "guid-2")
    mirror.instance()
    assert mirror.mirror().code == 0
    assert {a["id"] for a in mirror.commands("get-remote-data")} == {"guid-1", "guid-2"}
    assert mirror.local(2)["fields"]["name"] == "changed guid-2"


def test_in_mirror_error_counts_as_a_failed_pull(mirror: Mirror) -> None:
    """Given get-remote-data answering {id, in_mirror_error}, then that incident's pull failed and is retried."""
    with mirror.remote("guid-2") as incident:
        incident["Title"] = "new"
    mirror.instance("mirror_fail: mirror-error:guid-2\n")
    result = mirror.mirror()
    assert result.code == 1
    assert "get-remote-data guid-2: in_mirror_error: Sentinel answered 403 for this incident" in result.out
    assert mirror.local(2)["fields"]["name"] == "Incident 2"
    assert _cursor(mirror.host).pending == ("guid-2",)


def test_a_mirrored_object_cannot_rekey_the_incident_or_store_odd_values(mirror: Mirror) -> None:
    """Given a mirrored object naming another ID and holding values of the wrong type, then the title is taken,
    the ID, severity, tags and description stay; an entry that is not a dict fails that incident."""
    mirror.instance("mirror_fail: get-modified-not-implemented,odd-object:guid-1,odd-object-only\n")
    assert mirror.mirror().code == 0
    fields = mirror.local(1)["fields"]
    assert (fields["name"], fields[mapping.MIRROR_ID], fields["severity"]) == ("Still mapped", "guid-1", 2)
    assert "tags" not in fields and "description" not in fields
    mirror.instance("mirror_fail: get-modified-not-implemented,odd-object:guid-1\n")
    result = mirror.mirror()
    assert result.code == 1
    assert "get-remote-data guid-1: returned [{" in result.out and "expected [mirrored incident" in result.out


def test_get_modified_not_implemented_pulls_every_incident(mirror: Mirror) -> None:
    """Given get-modified-remote-data raising NotImplementedError, then (as the platform does) every mirrored
    incident is pulled."""
    mirror.instance("mirror_fail: get-modified-not-implemented\n")
    result = mirror.mirror()
    assert result.code == 0, result.out
    assert [a["id"] for a in mirror.commands("get-remote-data")] == ["guid-1", "guid-2"]


@pytest.mark.parametrize(("extra", "fragment"), [
    pytest.param("mirror_direction: None\n", "mirroring is off (mirror_direction is None)", id="off"),
])
def test_mirror_refuses_when_mirroring_is_off(mirror: Mirror, extra: str, fragment: str) -> None:
    mirror.host.instance(extra)
    result = mirror.mirror()
    assert result.code == 2 and len(result.err.splitlines()) == 1 and fragment in result.err


def test_mirror_refuses_an_integration_that_does_not_mirror(mirror: Mirror, tmp_path: Path) -> None:
    manifest = tmp_path / "nomirror.yml"
    manifest.write_text((FIXTURES / "fake_integration.yml").read_text(encoding="utf-8")
                        .replace("isremotesyncin: true", "isremotesyncin: false")
                        .replace("isremotesyncout: true", "isremotesyncout: false"), encoding="utf-8")
    result = mirror.host("mirror", "--manifest", str(manifest))
    assert result.code == 2
    assert "sets neither script.isremotesyncin nor isremotesyncout" in result.err

# endregion


# region state

def test_a_mirror_commit_is_refused_when_an_incident_changed_meanwhile(tmp_path: Path) -> None:
    """Given a cycle that read incident 1 at version 0 while another process stored a change, then its commit
    is refused as a whole."""
    with State(tmp_path / "s.sqlite") as state:
        state.commit_fetch([{"name": "a", "dbotMirrorId": "g1"}], {"n": 1}, None)
        stale = LocalIncident(1, mapping.ACTIVE, {"name": "a"}, set(), 0.0, version=0)
        state.commit_local(LocalIncident(1, mapping.DONE, {"name": "a"}, set(), 0.0, version=0))
        with pytest.raises(ConcurrentChange):
            state.commit_mirror([stale], [], [], MirrorCursor(1.0), None, after_cycle=0)
        assert state.mirror_cursor() == MirrorCursor() and state.local_incidents()[1].status == mapping.DONE


def test_an_old_state_file_upgrades_itself(host: Host) -> None:
    """Given a state file written before mirroring (three tables only), then show, edit and mirror work on it."""
    host.state_file.parent.mkdir(parents=True)
    db = sqlite3.connect(host.state_file)
    db.executescript("""
        CREATE TABLE integration_context (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL,
                                          updated_at REAL NOT NULL);
        CREATE TABLE last_run (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, cycle INTEGER NOT NULL,
                               updated_at REAL NOT NULL);
        CREATE TABLE incidents (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT, number INTEGER, name TEXT,
                                occurred TEXT, severity REAL, raw_json TEXT, received_at REAL NOT NULL,
                                cycle INTEGER NOT NULL);
        INSERT INTO last_run VALUES (1, '{"last_number": 1}', 1, 0);
        INSERT INTO incidents VALUES (1, 'guid-1', 1, 'Incident 1', '2025-01-01T00:00:00Z', 2,
            '{"ID": "guid-1", "Title": "Incident 1", "Severity": "Medium", "mirror_direction": "Both",
              "mirror_instance": "local-instance"}', 1.0, 1);
    """)
    db.commit()
    db.close()
    shown = host("incidents", "show", "--json", "1")
    assert shown.code == 0, shown.err
    assert shown.json()["fields"][mapping.MIRROR_DIRECTION] == "Both"
    assert host("incidents", "edit", "1", "owner=bob").code == 0
    host.instance(MIRRORING + f"remote_file: {host.root / 'remote.json'}\n")
    (host.root / "remote.json").write_text(json.dumps({"incidents": {"guid-1": {
        "ID": "guid-1", "Title": "Incident 1", "Severity": "Medium", "Status": "New", "modified": 0.0,
        "comments": []}}}), encoding="utf-8")
    assert host("mirror").code == 0

# endregion


# region incidents show / edit / comment

def test_show_lists_fields_and_entries(mirror: Mirror) -> None:
    assert mirror.host("incidents", "comment", "1", "look", "here", "--tag", "comment", "--tag", "x").code == 0
    result = mirror.host("incidents", "show", "1")
    assert result.code == 0
    lines = result.lines()
    assert lines[0] == "Incident 1: Incident 1"
    assert lines[1] == "  status Active, severity Medium, dbotMirrorId guid-1, Sentinel incident 1"
    assert lines[2].startswith("  mirroring Both via local-instance, last sync ")
    assert "  dbotMirrorTags                   [\"comment\"]" in lines
    assert lines[-2].split()[2:] == ["admin", "local", "[comment,", "x]"]
    assert lines[-1] == "      look here"


@pytest.mark.parametrize(("argv", "fragment"), [
    pytest.param(["edit", "1", "sevrity=High"], "unknown field 'sevrity'. Did you mean 'severity'?",
                 id="unknown-field"),
    pytest.param(["edit", "1", "severity=Urgent"], "severity must be Unknown, Informational, Low, Medium, High or "
                                                   "Critical", id="bad-severity"),
    pytest.param(["edit", "1", "status=Resolved"], "status must be Pending, Active, Closed or Archive",
                 id="bad-status"),
    pytest.param(["edit", "1", "severity"], "'severity' is not field=value", id="not-a-pair"),
    pytest.param(["edit", "9", "severity=High"], "no incident '9'", id="no-such-incident"),
    pytest.param(["show", "guid-77"], "no incident 'guid-77'", id="no-such-mirror-id"),
    pytest.param(["comment", "1", " "], "the comment is empty", id="empty-comment"),
])
def test_incident_edit_errors_are_one_line(mirror: Mirror, argv: list[str], fragment: str) -> None:
    result = mirror.host("incidents", *argv)
    assert result.code == 2 and result.out == ""
    assert len(result.err.splitlines()) == 1 and fragment in result.err


def test_edit_parses_values_and_reports_no_change(mirror: Mirror) -> None:
    """Given severity as a name or a number, tags as a list, then fields get the platform's values; the same
    edit again changes nothing."""
    result = mirror.host("incidents", "edit", "1", "severity=0.5", "tags=a, b", "owner=bob", "Description=long text")
    assert result.lines()[0] == "incident 1: changed severity, tags, owner, description"
    fields = mirror.local(1)["fields"]
    assert (fields["severity"], fields["tags"], fields["owner"]) == (0.5, ["a", "b"], "bob")
    again = mirror.host("incidents", "edit", "1", "severity=Informational")
    assert again.lines()[0] == "incident 1: no change"


def test_mapping_fields_describe_every_outgoing_field(mirror: Mirror) -> None:
    """Given get-mapping-fields (GetMappingFieldsResponse's shape), then the scheme names every remote field the
    host's outgoing mapper writes."""
    result = mirror.host("run", "--json", "get-mapping-fields")
    (scheme,) = result.json()
    assert set(scheme) == {mapping.SCHEME}
    assert set(mapping.outgoing_field_names()) <= set(scheme[mapping.SCHEME])


def test_mirror_json_prints_one_object_per_cycle(mirror: Mirror) -> None:
    result = mirror.mirror("--json", "--cycles", "2", "--every", "0")
    reports = [json.loads(line) for line in result.lines()]
    assert [(r["cycle"], r["ok"], r["committed"]) for r in reports] == [(2, True, True), (3, True, True)]
    assert len(mirror.host.sleeps) == 1

# endregion

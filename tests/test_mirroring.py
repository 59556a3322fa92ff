"""Two-way mirroring (issue 9) tried as the platform calls it, against the loopback Sentinel emulator.

The four commands run through the platform stand-in (a fresh module per command, `demistomock` only),
with the args exactly as the platform passes them (see /work/notes/mirroring-contract.md), and their
answers are checked in the shapes CommonServerPython's helpers would hand to `demisto.results`. The
emulator runs on a FakeClock, so "modified since" and "newer than lastUpdate" are exact. The last tests
run the local host's mirror cycle (`azure-sentinel mirror`) over fetched incidents end to end.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlsplit

import pytest
import requests
import yaml

from module_helpers import only_entry, only_error
from sentinel_emulator import Emulator, FakeClock
from xsoar_local import cli
from xsoar_local.platform import Platform, run_module

REDIRECTED = [{"labelName": "Redirected", "labelType": "AutoAssigned"}]
INSTANCE = "local-instance"  # what demisto.integrationInstance() returns in the stand-in


class Sentinel:
    """The emulator on a FakeClock, and the platform calling the module against it."""

    def __init__(self, emulator: Emulator, clock: FakeClock) -> None:
        self.emu, self.clock, self.context = emulator, clock, {}
        self.params = {**emulator.params(), "close_incident": True, "close_ticket": True,
                       "mirror_direction": "Incoming And Outgoing"}

    def now(self) -> str:
        """A time strictly between what happened before and what happens after, as the platform sends it."""
        self.clock.advance(1)
        moment = datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.clock.advance(1)
        return moment

    def call(self, command: str, instance: str = INSTANCE, params: dict[str, Any] | None = None,
             **args: Any) -> Platform:
        platform = Platform(params=copy.deepcopy(params or self.params), command=command, args=args,
                            context=self.context, instance=instance)
        run_module(platform)
        self.context = platform.context  # the token cache, as the platform keeps it
        return platform

    def incident(self, title: str = "Mirrored incident", **kwargs: Any) -> str:
        return self.emu.store.add_incident(title, **kwargs)["name"]

    def props(self, name: str) -> dict[str, Any]:
        return self.emu.store.incident(name)["properties"]

    def comments(self, name: str) -> list[dict[str, Any]]:
        (entry,) = self.call("azure-sentinel-list-incident-comments", incident_id=name, limit="1000").results
        return entry["Contents"]

    def writes(self, name: str) -> list[str]:
        """The PUT requests the emulator received for this incident or its sub-resources."""
        return [r.path for r in self.emu.requests if r.method == "PUT" and f"/incidents/{name}" in unquote(r.path)]


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sentinel]:
    clock = FakeClock(time.time())
    emulator = Emulator(port=0, seed=0, clock=clock).start()
    try:
        with mock.patch.dict("os.environ", {"REQUESTS_CA_BUNDLE": emulator.ca_path}):
            yield Sentinel(emulator, clock)
    finally:
        emulator.stop()


def merge(emulator: Emulator, source: str, target: dict[str, Any]) -> None:
    """The Defender portal merges `source` into `target`: the emulator's own merge when it has one, else the
    same outcome by hand (closed Undetermined, only the Redirected label, a comment naming the target)."""
    if hasattr(emulator.store, "merge_incident"):
        emulator.store.merge_incident(source, target["name"])
        return
    emulator.store.modify_incident(source, status="Closed", classification="Undetermined", labels=REDIRECTED)
    emulator.store.add_comment(source, f"This incident was merged into incident {target['properties']['incidentNumber']}"
                                       f" ({target['properties']['title']}) by Microsoft Defender XDR correlation.")


def update(sentinel: Sentinel, remote_id: str, delta: dict[str, Any] | None = None, status: int = 1,
           entries: list[dict[str, Any]] | None = None, data: dict[str, Any] | None = None, **kwargs: Any) -> Platform:
    """update-remote-system with native values, as the platform passes them."""
    delta = delta or {}
    return sentinel.call("update-remote-system", data=data or {"title": "t", "severity": 2, "status": "Active"},
                         delta=delta, entries=entries or [], incidentChanged=bool(delta), remoteId=remote_id,
                         status=status, **kwargs)


def entry(entry_id: str, text: str, tags: list[str] | None = None) -> dict[str, Any]:
    """A war-room entry as the server hands it to update-remote-system (lower-case keys)."""
    return {"id": entry_id, "type": 1, "contents": text, "format": "text", "tags": tags or [], "user": "admin"}


def remote_data(sentinel: Sentinel, name: str, last_update: str, **kwargs: Any) -> tuple[dict[str, Any], list]:
    results = sentinel.call("get-remote-data", id=name, lastUpdate=last_update, **kwargs).results
    assert results and all(isinstance(r, dict) for r in results), results
    return results[0], results[1:]


def closes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["Contents"] for e in entries if isinstance(e.get("Contents"), dict) and e["Contents"].get("dbotIncidentClose")]


def reopens(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if isinstance(e.get("Contents"), dict) and e["Contents"].get("dbotIncidentReopen")]


def notes(entries: list[dict[str, Any]]) -> list[str]:
    return [e["Contents"] for e in entries if e.get("Note")]


# region get-modified-remote-data

def test_modified_ids_are_exactly_those_modified_since_last_update_across_pages(tmp_path):
    """Given 1,100 incidents of which 1,050 change after lastUpdate (more than one page of 1,000), when
    get-modified-remote-data runs, then its one entry lists exactly those 1,050, each once, read over
    two pages filtered by lastModifiedTimeUtc."""
    clock = FakeClock(time.time())
    with Emulator(port=0, seed=0, clock=clock) as emulator, \
            mock.patch.dict("os.environ", {"REQUESTS_CA_BUNDLE": emulator.ca_path}):
        sentinel = Sentinel(emulator, clock)
        names = [sentinel.incident(f"bulk {i}") for i in range(1100)]
        last_update = sentinel.now()
        for name in names[50:]:
            emulator.store.modify_incident(name, severity="High")
        entry_ = only_entry(sentinel.call("get-modified-remote-data", lastUpdate=last_update))
        lists = [r for r in emulator.requests if r.method == "GET" and r.path.endswith("/incidents")]
    assert set(entry_) == {"Type", "ContentsFormat", "Contents"}
    assert (entry_["Type"], entry_["ContentsFormat"]) == (1, "json")
    assert sorted(entry_["Contents"]) == sorted(names[50:]) and len(entry_["Contents"]) == 1050
    assert len(lists) == 2
    assert lists[0].query["$filter"].startswith("properties/lastModifiedTimeUtc ge ")


@pytest.mark.parametrize("shape", ["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S.%f000+00:00",
                                   "%Y-%m-%d %H:%M:%S.%fz", "epoch"])
def test_last_update_is_read_leniently(sentinel, shape):
    """Given lastUpdate as RFC 3339 with Z, with a 9-digit fraction and an offset, with a space and a
    lower-case z, or as epoch seconds, when get-modified-remote-data runs, then an incident changed after
    it is listed and one changed before it is not."""
    before, after = sentinel.incident("changed before"), sentinel.incident("changed after")
    sentinel.clock.advance(1)
    moment = datetime.fromtimestamp(sentinel.clock(), timezone.utc)
    sentinel.clock.advance(1)
    sentinel.emu.store.modify_incident(after, severity="Low")
    text = f"{moment.timestamp():.6f}" if shape == "epoch" else moment.strftime(shape)
    ids = only_entry(sentinel.call("get-modified-remote-data", lastUpdate=text))["Contents"]
    assert after in ids and before not in ids


@pytest.mark.parametrize("value", ["yesterday", "2025-13-45T00:00:00Z", "", "{}"])
def test_a_bad_last_update_is_a_skip_update_error(sentinel, value):
    """Given a lastUpdate that is no time, when get-modified-remote-data runs, then one error entry says
    'skip update' (the platform then skips this round) and names the argument."""
    message = only_error(sentinel.call("get-modified-remote-data", lastUpdate=value))
    assert "skip update" in message and "lastUpdate" in message


def test_throttling_is_reported_as_api_rate_limit(sentinel):
    """Given Sentinel answering every list with 429, when get-modified-remote-data runs, then after the
    retries the error entry contains 'API rate limit' (the platform backs off)."""
    sentinel.emu.set_faults("list:429=1,retry_after=0")
    try:
        message = only_error(sentinel.call("get-modified-remote-data", lastUpdate=sentinel.now()))
    finally:
        sentinel.emu.set_faults("")
    assert "API rate limit" in message

# endregion


# region get-remote-data

def test_the_mirrored_object_has_the_fetch_keys_and_the_selected_additional_info(sentinel):
    """Given an incident with a label, an owner and an alert, and Alerts selected as additional info, when
    get-remote-data runs, then the first result is the incident with the keys the incoming mapper reads
    (as fetch formats them) plus its alerts, and no null values."""
    name = sentinel.incident("Formatted", severity="High", status="Active", labels=["vip"], alerts=1,
                             owner={"email": "ada@contoso.com", "assignedTo": "Ada"})
    params = {**sentinel.params, "fetch_additional_info": ["Alerts"]}
    mirrored, _ = remote_data(sentinel, name, sentinel.now(), params=params)
    assert (mirrored["ID"], mirrored["Title"], mirrored["Severity"], mirrored["Status"]) == (
        name, "Formatted", "High", "Active")
    assert mirrored["tags"] == ["vip"] and mirrored["owner"]["email"] == "ada@contoso.com"
    assert mirrored["Etag"] == sentinel.emu.store.incident(name)["etag"]
    assert len(mirrored["alerts"]) == 1
    assert None not in mirrored.values()


def test_closed_as_true_positive_yields_a_resolved_close_entry(sentinel):
    """Given an incident closed in Sentinel as TruePositive with a comment, and close_incident set, when
    get-remote-data runs, then a dbotIncidentClose entry has closeReason Resolved and closeNotes that say
    it was closed in Sentinel, with the comment; no reopen entry."""
    name = sentinel.incident("Closed there")
    since = sentinel.now()
    sentinel.emu.store.modify_incident(name, status="Closed", classification="TruePositive",
                                       classificationReason="SuspiciousActivity", classificationComment="confirmed")
    _, entries = remote_data(sentinel, name, since)
    (close,) = closes(entries)
    assert close["closeReason"] == "Resolved"
    assert "Closed in Microsoft Sentinel as TruePositive" in close["closeNotes"] and "confirmed" in close["closeNotes"]
    assert reopens(entries) == []
    (raw,) = [e for e in entries if e["Contents"] is close]
    assert (raw["Type"], raw["ContentsFormat"]) == (1, "json")


@pytest.mark.parametrize(("classification", "reason"), [("FalsePositive", "False Positive"),
                                                        ("BenignPositive", "Resolved"), ("Undetermined", "Other")])
def test_close_reasons_follow_the_classification(sentinel, classification, reason):
    """Given an incident closed with another classification, then the close entry's reason maps it."""
    name = sentinel.incident("Closed", status="Closed", classification=classification)
    (close,) = closes(remote_data(sentinel, name, sentinel.now())[1])
    assert close["closeReason"] == reason


def test_without_close_incident_a_closed_incident_yields_no_close_entry(sentinel):
    """Given close_incident off, when a closed incident is mirrored in, then there is no close entry."""
    name = sentinel.incident("Closed", status="Closed", classification="TruePositive")
    params = {**sentinel.params, "close_incident": False}
    _, entries = remote_data(sentinel, name, sentinel.now(), params=params)
    assert closes(entries) == [] and reopens(entries) == []


@pytest.mark.parametrize("status", ["New", "Active"])
def test_an_open_incident_yields_a_reopen_entry(sentinel, status):
    """Given an incident that is New or Active in Sentinel, then get-remote-data adds a dbotIncidentReopen
    entry (the platform reopens the incident if it was closed) and no close entry."""
    name = sentinel.incident("Open", status=status)
    _, entries = remote_data(sentinel, name, sentinel.now())
    assert reopens(entries) == [{"Type": 1, "ContentsFormat": "json", "Contents": {"dbotIncidentReopen": True}}]
    assert closes(entries) == []


def test_comments_newer_than_last_update_come_in_as_untagged_notes(sentinel):
    """Given a comment made before lastUpdate and one after, when get-remote-data runs, then only the newer
    one comes in: a note entry with its author and message, with no tag (so it is never mirrored out)."""
    name = sentinel.incident("Commented")
    sentinel.emu.store.add_comment(name, "old news")
    since = sentinel.now()
    sentinel.emu.store.add_comment(name, "found the phishing mail")
    _, entries = remote_data(sentinel, name, since)
    (text,) = notes(entries)
    assert "found the phishing mail" in text and "Ada Analyst" in text
    (note_entry,) = [e for e in entries if e.get("Note")]
    assert note_entry["Tags"] == [] and note_entry["Type"] == 1


def test_comments_mirrored_out_do_not_come_back(sentinel):
    """Given an entry mirrored out as a comment, when the incident is mirrored in again from before that,
    then the comment is not returned (no echo), while another instance's mirrored comment and an analyst's
    comment are."""
    name = sentinel.incident("No echo")
    since = sentinel.now()
    assert update(sentinel, name, entries=[entry("5@1", "from this SOAR", ["comment"])]).results == [name]
    sentinel.clock.advance(1)
    update(sentinel, name, entries=[entry("5@1", "from the other SOAR", ["comment"])], instance="other-instance")
    sentinel.clock.advance(1)
    sentinel.emu.store.add_comment(name, "from an analyst")
    texts = notes(remote_data(sentinel, name, since)[1])
    assert len(texts) == 2 and "from the other SOAR" in texts[0] and "from an analyst" in texts[1]


def test_a_merged_incident_is_closed_as_a_duplicate(sentinel):
    """Given an incident the Defender portal merged (closed as Undetermined, labelled Redirected, with a
    comment naming the target), when get-remote-data runs, then the close entry says Duplicate and that it
    was merged in the Defender portal into that incident, not an ordinary resolution."""
    target = sentinel.emu.store.add_incident("Merge target")
    name = sentinel.incident("Merged away")
    since = sentinel.now()
    merge(sentinel.emu, name, target)
    _, entries = remote_data(sentinel, name, since)
    (close,) = closes(entries)
    assert close["closeReason"] == "Duplicate"
    assert f"incident {target['properties']['incidentNumber']}" in close["closeNotes"]
    assert "Defender portal" in close["closeNotes"] and "Closed in Microsoft Sentinel" not in close["closeNotes"]


def test_a_missing_incident_is_an_in_mirror_error(sentinel):
    """Given an ID Sentinel does not know, when get-remote-data runs, then the mirrored object carries the
    ID and an in_mirror_error naming the 404 (the platform shows it and tries again later)."""
    (result,) = sentinel.call("get-remote-data", id="no-such-incident", lastUpdate="0").results
    assert result["id"] == "no-such-incident" and "404" in result["in_mirror_error"]


def test_throttled_remote_data_is_an_api_rate_limit_error(sentinel):
    """Given Sentinel answering 429 to every read, then get-remote-data returns an error entry containing
    'API rate limit', so the platform resumes from this incident next time."""
    name = sentinel.incident("Throttled")
    sentinel.emu.set_faults("get:429=1,retry_after=0")
    try:
        message = only_error(sentinel.call("get-remote-data", id=name, lastUpdate="0"))
    finally:
        sentinel.emu.set_faults("")
    assert "API rate limit" in message

# endregion


# region update-remote-system

@contextmanager
def concurrent_change(sentinel: Sentinel, name: str, **props: Any) -> Iterator[list[int]]:
    """An analyst changes the incident in Sentinel right after the module first reads it (before its PUT)."""
    real = requests.Session.request
    statuses: list[int] = []

    def request(self, method, url, *args, **kwargs):
        response = real(self, method, url, *args, **kwargs)
        if urlsplit(url).path.endswith(f"/incidents/{name}"):
            statuses.append(response.status_code)
            if method == "GET" and len(statuses) == 1:
                sentinel.emu.store.modify_incident(name, **props)
        return response

    with mock.patch.object(requests.Session, "request", request):
        yield statuses


def test_title_and_severity_survive_a_concurrent_change_and_the_remote_id_is_returned(sentinel):
    """Given a new title and severity 3 from the SOAR while an analyst changes the description and the
    owner in Sentinel between the module's read and its write, when update-remote-system runs, then the
    stale write gets 409, the delta is re-applied on a fresh read, both changes survive, and the result
    is the remote incident ID."""
    name = sentinel.incident("Original", severity="Low", description="old")
    with concurrent_change(sentinel, name, description="Changed in Sentinel",
                           owner={"email": "bob@contoso.com"}) as statuses:
        result = update(sentinel, name, {"title": "Retitled in XSOAR", "severity": 3})
    assert result.results == [name]
    assert statuses == [200, 409, 200, 200]  # GET, stale PUT, GET again, PUT
    props = sentinel.props(name)
    assert (props["title"], props["severity"]) == ("Retitled in XSOAR", "High")
    assert props["description"] == "Changed in Sentinel" and props["owner"]["email"] == "bob@contoso.com"


def test_only_the_delta_is_written(sentinel):
    """Given data that differs from Sentinel in every field but a delta of only the description, when
    update-remote-system runs, then only the description changes (data never overwrites Sentinel)."""
    name = sentinel.incident("Keep me", severity="Medium")
    update(sentinel, name, {"description": "new description"},
           data={"title": "Stale title", "severity": 1, "status": "New", "description": "new description"})
    props = sentinel.props(name)
    assert (props["title"], props["severity"], props["status"], props["description"]) == (
        "Keep me", "Medium", "New", "new description")


@pytest.mark.parametrize(("level", "severity"), [(0.5, "Informational"), (1, "Low"), (2, "Medium"), (3, "High"),
                                                 (4, "High"), ("3", "High"), ("Low", "Low")])
def test_severity_numbers_become_names(sentinel, level, severity):
    """Given a severity from the platform (a number, its text, or a name), then Sentinel gets the name."""
    name = sentinel.incident("Severity", severity="Medium" if severity != "Medium" else "Low")
    update(sentinel, name, {"severity": level})
    assert sentinel.props(name)["severity"] == severity


def test_status_owner_labels_and_activity_times_are_applied(sentinel):
    """Given a delta with status, owner, tags and both activity times, then each is applied: the tags are
    added to the existing labels, the owner assigned."""
    name = sentinel.incident("Fields", labels=["existing"])
    update(sentinel, name, {"status": "Active", "owner": "carol@contoso.com", "tags": ["existing", "phishing"],
                            "firstActivityTimeUtc": "2025-01-02T03:04:05Z",
                            "lastActivityTimeUtc": "2025-01-03T03:04:05.123+02:00"})
    props = sentinel.props(name)
    assert props["status"] == "Active" and props["owner"]["email"] == "carol@contoso.com"
    assert [label["labelName"] for label in props["labels"]] == ["existing", "phishing"]
    assert props["firstActivityTimeUtc"].startswith("2025-01-02T03:04:05")
    assert props["lastActivityTimeUtc"].startswith("2025-01-03T01:04:05.123")


def test_a_tagged_entry_becomes_exactly_one_comment_even_when_sent_twice(sentinel):
    """Given an entry tagged with comment_tag and an untagged one, when update-remote-system runs twice with
    the same entries (a retry), then Sentinel has exactly one comment, with the tagged entry's text and an
    ID derived from the entry."""
    name = sentinel.incident("Comments out")
    entries = [entry("7@3", "Blocked the sender", ["comment"]), entry("8@3", "private note")]
    for _ in range(2):
        assert update(sentinel, name, entries=entries).results == [name]
    (comment,) = sentinel.comments(name)
    assert comment["properties"]["message"].startswith("Blocked the sender")
    assert comment["name"].startswith("xsoar-")


def test_a_long_entry_becomes_a_comment_of_exactly_30000_characters_ending_with_the_footer(sentinel):
    """Given a tagged entry of 40,000 characters, when it is mirrored out, then the Sentinel comment is cut to
    Sentinel's limit of 30,000 characters, the footer that says where it came from kept at its end."""
    name = sentinel.incident("Long comment")
    update(sentinel, name, entries=[entry("9@3", "x" * 40000, ["comment"])])
    (comment,) = sentinel.comments(name)
    message = comment["properties"]["message"]
    assert len(message) == 30000 and message.endswith("\n\n(Mirrored from Cortex XSOAR by admin.)")


def test_the_comment_tag_param_chooses_the_entries(sentinel):
    """Given comment_tag 'sentinel', then only entries with that tag are mirrored out."""
    name = sentinel.incident("Custom tag")
    params = {**sentinel.params, "comment_tag": "sentinel"}
    update(sentinel, name, entries=[entry("1@1", "not this", ["comment"]), entry("2@1", "this", ["sentinel"])],
           params=params)
    assert [c["properties"]["message"].split("\n")[0] for c in sentinel.comments(name)] == ["this"]


@pytest.mark.parametrize(("delta", "data", "expected"), [
    ({"classification": "FalsePositive", "classificationComment": "noise"}, {},
     ("FalsePositive", "InaccurateData", "noise")),
    ({"classification": "TruePositive"}, {}, ("TruePositive", "SuspiciousActivity", "Closed in Cortex XSOAR.")),
    ({"classification": "BenignPositive"}, {}, ("BenignPositive", "SuspiciousButExpected", "Closed in Cortex XSOAR.")),
    ({"classification": "FalsePositive", "classificationReason": "IncorrectAlertLogic"}, {},
     ("FalsePositive", "IncorrectAlertLogic", "Closed in Cortex XSOAR.")),
    ({"closingUserId": "admin"}, {"classification": "TruePositive", "classificationComment": "from data"},
     ("TruePositive", "SuspiciousActivity", "from data")),
], ids=["false-positive", "true-positive", "benign-positive", "given-reason-wins", "classification-from-data"])
def test_closing_in_the_soar_closes_sentinel_with_the_classification(sentinel, delta, data, expected):
    """Given the SOAR incident closed (status 2) with close_ticket set, when update-remote-system runs, then
    the Sentinel incident is Closed with the classification (delta first, then data), its comment and a
    reason: the given one, or the one that fits the classification."""
    name = sentinel.incident("To close", status="Active")
    update(sentinel, name, {"closingUserId": "admin", **delta}, status=2,
           data={"title": "To close", "severity": 2, "status": "Active", **data})
    props = sentinel.props(name)
    assert props["status"] == "Closed"
    assert (props["classification"], props.get("classificationReason"), props["classificationComment"]) == expected


def test_without_close_ticket_the_sentinel_incident_stays_open(sentinel):
    """Given close_ticket off, when the SOAR incident closes, then Sentinel keeps its status (the other
    fields of the delta still apply)."""
    name = sentinel.incident("Stays open", status="Active")
    params = {**sentinel.params, "close_ticket": False}
    update(sentinel, name, {"classification": "TruePositive", "title": "Renamed"}, status=2, params=params)
    assert (sentinel.props(name)["status"], sentinel.props(name)["title"]) == ("Active", "Renamed")


def test_a_reopen_in_the_soar_sets_the_sentinel_incident_active(sentinel):
    """Given a Sentinel incident closed as TruePositive and the SOAR incident reopened (status 1, cleared
    classification), when update-remote-system runs, then Sentinel's incident is Active again."""
    name = sentinel.incident("Reopen", status="Closed", classification="TruePositive",
                             classification_reason="SuspiciousActivity")
    update(sentinel, name, {"classification": "", "classificationComment": "", "closingUserId": ""}, status=1)
    props = sentinel.props(name)
    assert props["status"] == "Active" and "classification" not in props


def test_an_owner_alone_is_written(sentinel):
    """Given a delta of only the owner, when update-remote-system runs, then Sentinel's owner is set."""
    name = sentinel.incident("Owner only")
    update(sentinel, name, {"owner": "dave@contoso.com"})
    assert sentinel.props(name)["owner"]["email"] == "dave@contoso.com"


def test_a_delta_with_nothing_sentinel_keeps_writes_nothing(sentinel):
    """Given a delta of only fields Sentinel has no place for, when update-remote-system runs, then nothing
    is written and the result is still the remote incident ID."""
    name = sentinel.incident("Nothing to write")
    result = update(sentinel, name, {"customField": "x", "runStatus": "waiting"})
    assert result.results == [name] and sentinel.writes(name) == []


def test_json_strings_and_string_flags_are_accepted(sentinel):
    """Given every argument as text (JSON objects and lists, 'true', '2'), then it works as with objects."""
    name = sentinel.incident("Texts", status="Active")
    result = sentinel.call("update-remote-system", data="{}", delta=json.dumps({"classification": "FalsePositive"}),
                           entries=json.dumps([entry("9@9", "as text", ["comment"])]), incidentChanged="true",
                           remoteId=name, status="2")
    assert result.results == [name]
    assert sentinel.props(name)["status"] == "Closed" and len(sentinel.comments(name)) == 1


@pytest.mark.parametrize(("args", "words"), [
    ({"remoteId": "x", "delta": "{not json"}, "'delta'"),
    ({"remoteId": "x", "entries": "[1,"}, "'entries'"),
    ({"delta": {"title": "t"}, "incidentChanged": True}, "'remoteId' is required"),
    ({"remoteId": "../x"}, "'../x' is not valid"),
    ({"remoteId": "x", "status": "closed"}, "'status'"),
])
def test_malformed_arguments_are_one_clear_error(sentinel, args, words):
    """Given malformed update-remote-system arguments, then one error entry names the argument."""
    assert words in only_error(sentinel.call("update-remote-system", **args))


def test_a_failed_update_is_an_error_entry_so_the_platform_retries(sentinel):
    """Given an incident Sentinel does not know, when update-remote-system runs, then it returns an error
    entry (not the ID), so the platform keeps the change and sends it again."""
    message = only_error(update(sentinel, "no-such-incident", {"title": "x"}))
    assert "404" in message


def test_nothing_is_written_back_to_a_merged_incident(sentinel):
    """Given an incident the Defender portal merged, when the SOAR sends field changes, a reopen and a
    tagged entry, then nothing is written to Sentinel (no PUT at all) and the remote ID is returned, so
    the platform does not retry."""
    name = sentinel.incident("Merged")
    merge(sentinel.emu, name, sentinel.emu.store.add_incident("Merge target"))
    before = sentinel.props(name)
    for delta, status in (({"title": "Renamed", "classification": "", "closingUserId": ""}, 1), ({}, 1)):
        result = update(sentinel, name, delta, status=status, entries=[entry("3@4", "a comment", ["comment"])])
        assert result.results == [name]
    assert sentinel.writes(name) == [] and sentinel.props(name) == before
    assert any("merged" in message for _, message in result.logs)

# endregion


# region get-mapping-fields and fetch

def test_mapping_fields_describe_the_mirrorable_fields(sentinel):
    """Given get-mapping-fields, then it returns the scheme 'Microsoft Sentinel Incident' whose fields
    include title, severity, status and classification, each with a description."""
    (result,) = sentinel.call("get-mapping-fields").results
    assert list(result) == ["Microsoft Sentinel Incident"]
    fields = result["Microsoft Sentinel Incident"]
    assert {"title", "description", "severity", "status", "tags", "owner", "firstActivityTimeUtc",
            "lastActivityTimeUtc", "classification", "classificationComment", "classificationReason",
            "etag"} == set(fields)
    assert all(isinstance(text, str) and text.endswith(".") for text in fields.values())


def test_fetched_incidents_carry_the_mirroring_fields(sentinel):
    """Given mirroring Incoming And Outgoing and comment_tag 'to-sentinel', when fetch runs, then each
    rawJSON carries mirror_direction Both, the instance and mirror_tags ['to-sentinel']."""
    params = {**sentinel.params, "comment_tag": "to-sentinel", "isFetch": True, "limit": "5"}
    platform = sentinel.call("fetch-incidents", params=params)
    raw = json.loads(platform.incidents[0]["rawJSON"])
    assert (raw["mirror_direction"], raw["mirror_instance"], raw["mirror_tags"]) == ("Both", INSTANCE, ["to-sentinel"])

# endregion


# region through the local host: azure-sentinel mirror

@pytest.fixture
def host_sentinel(tmp_path, monkeypatch, capsys) -> Iterator[tuple[Emulator, Any]]:
    """A real-clock emulator (the host's times are real), an instance file that mirrors both ways, and
    one fetch; yields the emulator and a CLI runner returning (exit code, stdout)."""
    with Emulator(port=0, seed=3) as emulator:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_path)
        monkeypatch.chdir(tmp_path)
        instance = {**emulator.params(), "isFetch": True, "fetch_time": "30 days", "mirror_direction":
                    "Incoming And Outgoing", "close_incident": True, "close_ticket": True}
        (tmp_path / "instance.yml").write_text(yaml.safe_dump(instance), encoding="utf-8")

        def cli_run(*argv: str) -> tuple[int, str]:
            capsys.readouterr()
            code = cli.main(list(argv))
            return code, capsys.readouterr().out

        assert cli_run("fetch")[0] == 0
        yield emulator, cli_run


def shown(cli_run: Any, seq: int) -> dict[str, Any]:
    code, out = cli_run("incidents", "show", "--json", str(seq))
    assert code == 0, out
    return json.loads(out)


def test_the_mirror_cycle_round_trip_through_the_cli(host_sentinel):
    """Given fetched incidents, one edited and commented (tagged) locally and another changed and commented
    in Sentinel, when `azure-sentinel mirror` runs, then the local change and comment reach Sentinel, the
    Sentinel change and comment reach the local incident; a second cycle brings nothing back (no echo) and
    adds no second comment."""
    emulator, cli_run = host_sentinel
    out_id, in_id = shown(cli_run, 1)["fields"]["dbotMirrorId"], shown(cli_run, 2)["fields"]["dbotMirrorId"]
    assert cli_run("incidents", "edit", "1", "name=Handled in XSOAR", "severity=Low")[0] == 0
    assert cli_run("incidents", "comment", "1", "Escalated to the IR team", "--tag", "comment")[0] == 0
    emulator.store.modify_incident(in_id, title="Renamed in Sentinel", severity="Informational")
    emulator.store.add_comment(in_id, "Sentinel analyst: this host is a honeypot")

    code, out = cli_run("mirror", "--json")
    report = json.loads(out.splitlines()[0])
    assert code == 0 and report["ok"], out
    props = emulator.store.incident(out_id)["properties"]
    assert (props["title"], props["severity"]) == ("Handled in XSOAR", "Low")
    local = shown(cli_run, 2)
    assert (local["fields"]["name"], local["fields"]["severity"]) == ("Renamed in Sentinel", 0.5)
    assert any("this host is a honeypot" in e["contents"] for e in local["entries"])

    code, out = cli_run("mirror", "--json")
    second = json.loads(out.splitlines()[0])
    assert code == 0 and second["ok"] and second["entries_in"] == 0 and second["pushed"] == 0, out
    comments = [r for r in emulator.requests if r.method == "PUT" and "/comments/" in r.path]
    assert len(comments) == 1


def test_a_merge_closes_the_local_incident_as_duplicate_and_stops_writes(host_sentinel):
    """Given a fetched incident that the Defender portal then merges, when mirror runs, then the local
    incident is closed with closeReason Duplicate; a later local edit mirrors out without writing to it."""
    emulator, cli_run = host_sentinel
    remote_id = shown(cli_run, 3)["fields"]["dbotMirrorId"]
    merge(emulator, remote_id, emulator.store.incident(shown(cli_run, 1)["fields"]["dbotMirrorId"]))
    code, out = cli_run("mirror", "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["closed"] == 1, out
    local = shown(cli_run, 3)
    assert local["fields"]["closeReason"] == "Duplicate" and "incident 1" in local["fields"]["closeNotes"]

    before = emulator.store.incident(remote_id)
    assert cli_run("incidents", "edit", "3", "name=Still working on it", "status=Active")[0] == 0
    code, out = cli_run("mirror", "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["pushed"] == 1, out
    assert emulator.store.incident(remote_id) == before

# endregion


def test_the_demo_shows_both_directions(monkeypatch, tmp_path, capsys):
    """Given the real module and the emulator, when `azure-sentinel demo` runs, then after its fetch one mirror
    cycle sends a local edit and comment to Sentinel and brings a Sentinel change and comment in."""
    for var in ("AZURE_SENTINEL_MODULE", "AZURE_SENTINEL_MANIFEST", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out.split("\nMirroring: ", 1)[1].splitlines()
    assert out[1].startswith("mirror 1 ok in ") and "1 pushed (2 fields, 1 entries out)" in out[1]
    assert out[2].startswith("  out: #1 -> Sentinel: title 'Phishing wave (triaged in XSOAR)'")
    assert "comment 'XSOAR: blocked the sender domain.'" in out[2]
    assert "name 'Confirmed in Sentinel', severity 3" in out[3] and "'Sentinel: the host was isolated.'" in out[3]


def test_comment_ids_written_out_carry_the_instance_hash(sentinel):
    """Given a tagged entry mirrored out, then its Sentinel comment ID starts with 'xsoar-', the first 8 hex
    digits of the SHA-256 of the instance name and a dash (how get-remote-data knows its own comments)."""
    import hashlib

    name = sentinel.incident("Comment ID")
    update(sentinel, name, entries=[entry("11@3", "hello", ["comment"])])
    (comment,) = sentinel.comments(name)
    assert comment["name"].startswith(f"xsoar-{hashlib.sha256(INSTANCE.encode()).hexdigest()[:8]}-")


def test_a_blank_owner_unassigns(sentinel):
    """Given an assigned incident and a delta whose owner is blank, then Sentinel's incident has no owner."""
    name = sentinel.incident("Unassign", owner={"email": "erin@contoso.com"})
    update(sentinel, name, {"owner": "   "})
    owner = sentinel.props(name)["owner"]
    assert owner == {"email": None, "assignedTo": None, "objectId": None, "userPrincipalName": None,
                     "ownerType": "Unknown"}  # no owner at all, rather than one with a blank email and UPN

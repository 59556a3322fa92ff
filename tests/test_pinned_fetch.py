"""Pinned contract: fetch-incidents' lastRun, stats, the one listing, checkpoints and enrichment, literally.

The incident list is answered by a small stand-in (requests-mock) that evaluates the fetch's $filter and
$orderby with the emulator's OData evaluator and cuts at $top, so each test states what arrives and what
lastRun records for a given set of incidents, not how the filter is spelled (except where it says so).
"""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests_mock

from module_helpers import WS_URL, arm_requests, base_params, incident, mock_login, query, run
from sentinel_emulator import odata

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bitmap(*offsets: int) -> str:
    """lastRun's `emitted` format: bit i is number floor + 1 + i, little-endian bytes, zlib level 9, base64."""
    bits = sum(1 << i for i in offsets)
    return base64.b64encode(zlib.compress(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), 9)).decode()


class Sentinel:
    """The incident list of one workspace: filtered, ordered and cut at $top like Sentinel's."""

    def __init__(self, m):
        self.incidents: dict[int, dict[str, Any]] = {}
        self.queries: list[dict[str, str]] = []
        m.get(f"{WS_URL}/incidents", json=self._answer)

    def add(self, number: int, created: datetime, modified: datetime | None = None, **props: Any) -> dict:
        item = incident(f"inc-{number}", number, createdTimeUtc=stamp(created),
                        lastModifiedTimeUtc=stamp(modified or created), **props)
        self.incidents[number] = item
        return item

    def _answer(self, request, _context):
        q = query(request)
        self.queries.append(q)
        keep = odata.parse_filter(q["$filter"])
        items = [self.incidents[n] for n in sorted(self.incidents) if keep(self.incidents[n])]
        (key,) = odata.parse_orderby(q["$orderby"])
        items.sort(key=lambda i: odata.default_resolver(i, key.path), reverse=key.descending)
        return {"value": items[:int(q["$top"])]}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def m(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    with requests_mock.Mocker() as mocker:
        mock_login(mocker)
        yield mocker


def fetch(last_run: dict | None = None, **params: Any):
    """One fetch run: (incidents handed over, the new lastRun, the stats logged)."""
    platform = run("fetch-incidents", params=base_params(isFetch=True, **params), last_run=last_run or {})
    assert platform.results == [], platform.results
    info = [msg for level, msg in platform.logs if level == "info" and msg.startswith("fetch-incidents: ")]
    stats = json.loads(info[0].split(": ", 1)[1]) if info else None
    return platform.incidents, platform.new_last_run, stats


def numbers(incidents: list[dict]) -> list[int]:
    return [json.loads(i["rawJSON"])["IncidentNumber"] for i in incidents]


def state(cursor: int, floor: int, modified_since: datetime, emitted: str = "", marks=()) -> dict:
    return {"version": 1, "window_start": "2020-01-01T00:00:00.000000Z", "cursor": cursor, "floor": floor,
            "modified_since": modified_since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "emitted": emitted,
            "marks": [list(mark) for mark in marks]}


def as_lists(last_run: dict) -> dict:
    return json.loads(json.dumps(last_run))


# -- stats -------------------------------------------------------------------------------------


def test_the_stats_count_one_retry_after_a_503(m):
    """Given the first incident list answers 503 once, when the first fetch runs, then the incident arrives
    and the stats say exactly: 1 incident, 1 new, cursor 1, 1 retry, no failures, nothing skipped."""
    sentinel = Sentinel(m)
    sentinel.add(1, NOW - timedelta(hours=1))
    answer = m.get(f"{WS_URL}/incidents", [{"status_code": 503, "json": {"error": {"code": "Busy"}}},
                                            {"json": sentinel._answer}])
    incidents, last_run, stats = fetch()
    assert numbers(incidents) == [1] and answer.call_count == 2
    assert stats == {"incidents": 1, "escalated": 0, "new": 1, "cursor": 1, "retries": 1, "enrichment_failures": 0,
                     "skipped": 0, "last_run_bytes": len(json.dumps(last_run))}


def test_a_first_fetch_hands_over_the_platform_fields_and_a_small_state(m):
    """Given two incidents in the window, when the first fetch runs, then both arrive oldest number first
    with the official name, severity and mirror ID, and lastRun records cursor 2 and both numbers."""
    sentinel = Sentinel(m)
    created = NOW - timedelta(hours=2)
    sentinel.add(1, created, severity="High")
    sentinel.add(2, created + timedelta(minutes=1), severity="Informational", title="")
    incidents, last_run, stats = fetch()
    assert [(i["name"], i["severity"], i["dbotMirrorId"], i["occurred"]) for i in incidents] == [
        ("[Microsoft Sentinel] #1 Incident 1", 3, "inc-1", stamp(created)),
        ("[Microsoft Sentinel] #2", 0.5, "inc-2", stamp(created + timedelta(minutes=1)))]
    minute = int((created + timedelta(minutes=1)).timestamp() // 60)
    assert as_lists(last_run) == {**as_lists(last_run), "version": 1, "cursor": 2, "floor": 0,
                                  "emitted": bitmap(0, 1), "marks": [[2, minute]]}
    assert stats["new"] == 2 and stats["escalated"] == 0


# -- behind the cursor: escalations and late arrivals ---------------------------------------------


def test_escalations_at_limit_1_arrive_one_per_run_and_the_mark_moves_once_all_were_read(m):
    """Given numbers 9 and 10 below the cursor were never emitted and were modified 2 h and 1 h ago, when
    fetch runs three times with limit 1, then 9 arrives, then 10, then nothing; the high-water mark stays
    until a run has read everything behind the cursor, then becomes 10's modified time."""
    sentinel = Sentinel(m)
    t9, t10 = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    sentinel.add(9, NOW - timedelta(days=1), modified=t9, status="Active")
    sentinel.add(10, NOW - timedelta(days=1), modified=t10, status="Active")
    start = state(cursor=10, floor=8, modified_since=NOW - timedelta(hours=3))
    incidents, last_run, stats = fetch(start, limit="1")
    assert numbers(incidents) == [9] and stats["escalated"] == 1 and stats["new"] == 0
    assert as_lists(last_run) == {"version": 1, "window_start": "2020-01-01T00:00:00.000000Z", "cursor": 10,
                                  "floor": 8, "modified_since": start["modified_since"], "emitted": bitmap(0),
                                  "marks": [], "behind_read": 1}
    assert len(sentinel.queries) == 1, "one listing per run"

    incidents, last_run, _ = fetch(last_run, limit="1")
    assert numbers(incidents) == [10]
    assert last_run["modified_since"] == start["modified_since"] and last_run["emitted"] == bitmap(0, 1)

    incidents, last_run, _ = fetch(last_run, limit="1")
    assert numbers(incidents) == [] and last_run["modified_since"] == stamp(t10) and last_run["behind_read"] == 2


def test_the_listing_selects_new_escalated_and_late_incidents_in_one_filter(m):
    """Given a state with cursor 10, floor 8 and a mark 3 h ago, when fetch runs, then its one request asks,
    in number order, for numbers above 10 created since the window start, or, created within the 7-day
    horizon, numbers 9..10 modified since 15 minutes before the mark or never emitted (9..10)."""
    sentinel = Sentinel(m)
    mark = NOW - timedelta(hours=3)
    fetch(state(cursor=10, floor=8, modified_since=mark))
    (sent,) = sentinel.queries
    since = (mark - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    pattern = (r"\(\(properties/incidentNumber gt 10 and properties/createdTimeUtc ge 2020-01-01T00:00:00.000000Z\)"
               r" or \(properties/createdTimeUtc ge (\S+) and \(\(properties/incidentNumber gt 8 and "
               r"properties/incidentNumber le 10 and properties/lastModifiedTimeUtc ge " + re.escape(since) +
               r"\) or \(properties/incidentNumber ge 9 and properties/incidentNumber le 10\)\)\)\)")
    match = re.fullmatch(pattern, sent["$filter"])
    assert match, sent["$filter"]
    horizon = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(horizon - (datetime.now(timezone.utc) - timedelta(days=7))) < timedelta(minutes=1)
    assert sent["$orderby"] == "properties/incidentNumber asc"
    assert sent["$top"] == "100", "the limit (50) plus 50 of room for incidents behind the cursor"


def test_a_single_late_number_is_named_alone_and_the_first_page_grows_by_what_was_read_behind(m):
    """Given 9 was emitted and 10 was not, and the last run read 30 incidents behind the cursor, when fetch
    runs, then the late clause names 10 alone and the first page asks for 50 + 30 + 50 incidents."""
    sentinel = Sentinel(m)
    fetch({**state(cursor=10, floor=8, modified_since=NOW, emitted=bitmap(0)), "behind_read": 30})
    (sent,) = sentinel.queries
    assert sent["$filter"].endswith(" or properties/incidentNumber eq 10)))") and sent["$top"] == "130"


def test_without_numbers_behind_the_cursor_only_new_incidents_are_asked_for(m):
    """Given cursor and floor are both 10, when fetch runs, then the filter asks only for numbers above 10
    created since the window start."""
    sentinel = Sentinel(m)
    fetch(state(cursor=10, floor=10, modified_since=NOW))
    assert sentinel.queries[0]["$filter"] == (
        "(properties/incidentNumber gt 10 and properties/createdTimeUtc ge 2020-01-01T00:00:00.000000Z)")


def test_an_escalation_older_than_the_horizon_is_not_revived_by_the_overlap(m):
    """Given number 9 (never emitted) was created 10 days ago, when the new-incident pass re-reads below
    the cursor, then 9 is not handed over (late arrivals count only inside the 7-day horizon)."""
    sentinel = Sentinel(m)
    sentinel.add(9, NOW - timedelta(days=10))
    sentinel.add(11, NOW - timedelta(hours=1))
    incidents, last_run, _ = fetch(state(cursor=10, floor=8, modified_since=NOW - timedelta(hours=1)))
    assert numbers(incidents) == [11] and last_run["cursor"] == 11


def test_a_late_arrival_inside_the_horizon_is_handed_over_once(m):
    """Given number 9 (never emitted) was created 1 day ago and became visible late, when fetch runs twice,
    then it arrives in the first run only."""
    sentinel = Sentinel(m)
    sentinel.add(9, NOW - timedelta(days=1))
    first, last_run, _ = fetch(state(cursor=10, floor=8, modified_since=NOW))
    second, _, _ = fetch(last_run)
    assert numbers(first) == [9] and numbers(second) == []


# -- checkpoints -------------------------------------------------------------------------------


def test_checkpoint_marks_stay_bounded_in_a_burst(m):
    """Given five fetch runs, each with a new incident created a minute after the last, when they run,
    then lastRun keeps the one mark of the first run (a new mark needs 6 hours of created time)."""
    sentinel = Sentinel(m)
    start = NOW - timedelta(hours=1)
    last_run = None
    for number in range(1, 6):
        sentinel.add(number, start + timedelta(minutes=number))
        _, last_run, _ = fetch(last_run)
    assert last_run["cursor"] == 5
    assert as_lists(last_run)["marks"] == [[1, int((start + timedelta(minutes=1)).timestamp() // 60)]]


@pytest.mark.parametrize("gap_minutes, marks", [(359, 1), (360, 2)])
def test_a_new_mark_comes_after_exactly_6_hours_of_created_time(m, gap_minutes, marks):
    """Given a mark, when the next incident was created 359 or 360 minutes after it, then only the
    360-minute one adds a second mark."""
    sentinel = Sentinel(m)
    first = NOW - timedelta(days=1)
    sentinel.add(1, first)
    _, last_run, _ = fetch()
    sentinel.add(2, first + timedelta(minutes=gap_minutes))
    _, last_run, _ = fetch(last_run)
    assert len(last_run["marks"]) == marks


def test_marks_older_than_the_horizon_raise_the_floor(m):
    """Given a mark at number 5 created 9 days ago (past the 7-day horizon plus 1 day of margin), when fetch
    runs, then the floor rises to 5, the bitmap drops those numbers and the mark is dropped."""
    Sentinel(m)  # no incidents: only the state moves
    old_minute = int((NOW - timedelta(days=9)).timestamp() // 60)
    young_minute = int((NOW - timedelta(days=2)).timestamp() // 60)
    last = state(cursor=6, floor=0, modified_since=NOW, emitted=bitmap(0, 1, 2, 3, 4, 5),
                 marks=[(5, old_minute), (6, young_minute)])
    _, last_run, _ = fetch(last)
    assert as_lists(last_run) == {**as_lists(last_run), "cursor": 6, "floor": 5, "emitted": bitmap(0),
                                  "marks": [[6, young_minute]]}


# -- enrichment --------------------------------------------------------------------------------


def test_enrichment_hands_over_the_alerts_entities_comments_and_relations_themselves(m):
    """Given an incident with one alert, entity, comment and relation, when fetch runs with all four
    enrichments, then rawJSON carries exactly those objects under alerts, entities, comments, relations."""
    sentinel = Sentinel(m)
    sentinel.add(1, NOW - timedelta(hours=1))
    url = f"{WS_URL}/incidents/inc-1"
    alert = {"name": "a-1", "kind": "SecurityAlert", "properties": {"systemAlertId": "a-1"}}
    entity = {"name": "e-1", "kind": "Account", "properties": {"accountName": "admin"}}
    comment = {"name": "c-1", "properties": {"message": "hello"}}
    relation = {"name": "r-1", "properties": {"relatedResourceName": "b-1", "relatedResourceKind": "Bookmark"}}
    m.post(f"{url}/alerts", json={"value": [alert]})
    m.post(f"{url}/entities", json={"entities": [entity], "metaData": [{"entityKind": "Account", "count": 1}]})
    m.get(f"{url}/comments", json={"value": [comment]})
    m.get(f"{url}/relations", json={"value": [relation]})
    incidents, _, stats = fetch(fetch_additional_info="Alerts,Entities,Comments,Relations")
    raw = json.loads(incidents[0]["rawJSON"])
    assert (raw["alerts"], raw["entities"], raw["comments"], raw["relations"]) == ([alert], [entity], [comment],
                                                                                  [relation])
    assert "enrichment_errors" not in raw and stats["enrichment_failures"] == 0
    comment_calls = [r for r in arm_requests(m) if r.path.endswith("/comments")]
    assert query(comment_calls[0])["$top"] == "500"


def test_a_failed_enrichment_is_named_and_counted_and_the_incident_kept(m):
    """Given the entities call answers 403, when fetch runs with Entities, then the incident still arrives
    with entities [] and the error under enrichment_errors, and the stats count one failure."""
    sentinel = Sentinel(m)
    sentinel.add(1, NOW - timedelta(hours=1))
    m.post(f"{WS_URL}/incidents/inc-1/entities", status_code=403,
           json={"error": {"code": "Forbidden", "message": "No."}})
    incidents, _, stats = fetch(fetch_additional_info="Entities")
    raw = json.loads(incidents[0]["rawJSON"])
    assert raw["entities"] == []
    assert raw["enrichment_errors"] == {"entities": (
        "POST /incidents/inc-1/entities failed with HTTP 403 Forbidden: No. What to do: give the app registration "
        "or managed identity the Microsoft Sentinel Contributor (or Responder) role on the workspace.")}
    assert stats["enrichment_failures"] == 1


def test_the_fetched_context_carries_the_official_mapper_fields(m):
    """Given an incident with labels, an owner, rule IDs and a classification, when fetch runs, then rawJSON
    carries tags, owner, the rule IDs' last segments, the classification fields and the mirroring fields."""
    sentinel = Sentinel(m)
    sentinel.add(1, NOW - timedelta(hours=1), labels=[{"labelName": "vip", "labelType": "User"}],
                 owner={"assignedTo": "Ann", "email": "ann@example.com"},
                 relatedAnalyticRuleIds=["/subscriptions/s/alertRules/rule-1", 7],
                 classification="TruePositive", classificationComment="seen", classificationReason="SuspiciousActivity")
    incidents, _, _ = fetch(mirror_direction="Incoming", comment_tag="note")
    raw = json.loads(incidents[0]["rawJSON"])
    assert {k: raw[k] for k in ("tags", "owner", "relatedAnalyticRuleIds", "classification", "classificationComment",
                                "classificationReason", "mirror_direction", "mirror_instance", "mirror_tags")} == {
        "tags": ["vip"], "owner": {"assignedTo": "Ann", "email": "ann@example.com"},
        "relatedAnalyticRuleIds": ["rule-1"], "classification": "TruePositive", "classificationComment": "seen",
        "classificationReason": "SuspiciousActivity", "mirror_direction": "In", "mirror_instance": "local-instance",
        "mirror_tags": ["note"]}
    assert raw["Label"] == [{"Name": "vip", "Type": "User"}] and raw["AssigneeName"] == "Ann"


# -- continuing after the official integration -------------------------------------------------


@pytest.mark.parametrize("number", [7, "7", " 7 "])
def test_the_official_incident_number_is_the_cursor_and_the_floor(m, number):
    """Given the official integration's lastRun with last_incident_number 7 (a number or its text), when our
    first fetch runs, then 8 arrives and 7 does not: everything up to 7 counts as fetched."""
    sentinel = Sentinel(m)
    sentinel.add(7, NOW - timedelta(hours=2))
    sentinel.add(8, NOW - timedelta(hours=1))
    incidents, last_run, _ = fetch({"last_fetch_time": stamp(NOW - timedelta(days=1)), "last_incident_number": number})
    assert numbers(incidents) == [8] and (last_run["cursor"], last_run["floor"]) == (8, 7)


def test_the_official_time_cursor_starts_the_window_when_it_never_fetched_by_number(m):
    """Given the official lastRun with only last_fetch_time (6 hours ago), when our first fetch runs, then
    incidents created after that time arrive and older ones (inside the 3-day default window) do not."""
    sentinel = Sentinel(m)
    sentinel.add(1, NOW - timedelta(hours=12))
    sentinel.add(2, NOW - timedelta(hours=1))
    incidents, last_run, _ = fetch({"last_fetch_time": stamp(NOW - timedelta(hours=6)), "last_fetch_ids": []})
    assert numbers(incidents) == [2]
    assert last_run["window_start"] == (NOW - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("number", [-1, 1.5, True])
def test_an_official_incident_number_that_is_not_a_whole_number_is_damage(m, number):
    """Given the official lastRun with last_incident_number -1, 1.5 or true, then fetch fails with the
    damaged-state error naming the value, and nothing is handed over."""
    Sentinel(m).add(1, NOW - timedelta(hours=1))
    with pytest.raises(Exception) as caught:  # a failed fetch is the one thing main() lets the platform see
        run("fetch-incidents", params=base_params(isFetch=True), last_run={"last_incident_number": number})
    assert f"(lastRun) is damaged (last_incident_number {number!r} is not a whole number)" in str(caught.value)
    assert arm_requests(m) == []


# -- the late-arrival numbers and the first page ------------------------------------------------


def test_late_arrivals_are_looked_for_in_the_100_numbers_below_the_cursor(m):
    """Given cursor 150 and nothing emitted above floor 0, when fetch runs, then the late clause names
    exactly the numbers 51..150."""
    sentinel = Sentinel(m)
    fetch(state(cursor=150, floor=0, modified_since=NOW))
    assert "(properties/incidentNumber ge 51 and properties/incidentNumber le 150)" in sentinel.queries[0]["$filter"]
    assert "incidentNumber ge 50 " not in sentinel.queries[0]["$filter"]


def test_joined_late_ranges_make_room_on_the_first_page_for_the_emitted_numbers_they_hold(m):
    """Given cursor 20, floor 0 and the even numbers emitted, when fetch runs, then the ten single odd numbers
    are named in 8 ranges (the first ones joined: 1..5 holds the emitted 2 and 4) and the first page asks
    for 50 + those 2 + 50."""
    sentinel = Sentinel(m)
    fetch(state(cursor=20, floor=0, modified_since=NOW, emitted=bitmap(*range(1, 20, 2))))
    (sent,) = sentinel.queries
    assert "(properties/incidentNumber ge 1 and properties/incidentNumber le 5) or properties/incidentNumber eq 7" \
        in sent["$filter"]
    assert sent["$filter"].count("properties/incidentNumber eq ") == 7
    assert sent["$top"] == "102"


def test_a_new_mark_is_measured_from_the_latest_mark(m):
    """Given marks at 7 h and 2 h before an incident's creation, when it is fetched, then no mark is added
    (the latest mark is less than 6 hours older)."""
    sentinel = Sentinel(m)
    created = NOW - timedelta(hours=1)
    sentinel.add(11, created)
    minute = int(created.timestamp() // 60)
    last = state(cursor=10, floor=0, modified_since=NOW, emitted=bitmap(*range(10)),
                 marks=[(5, minute - 7 * 60), (10, minute - 2 * 60)])
    _, last_run, _ = fetch(last)
    assert as_lists(last_run)["marks"] == [[5, minute - 7 * 60], [10, minute - 2 * 60]]

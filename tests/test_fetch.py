"""fetch-incidents, one situation at a time, against the emulator (real MSAL, real TLS), each run
committed by the local host's fetch cycle exactly as `azure-sentinel fetch` does."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from sentinel_emulator import Emulator
from xsoar_local import host
from xsoar_local.platform import MODULE_PATH, Platform, run_module
from xsoar_local.state import State


@pytest.fixture()
def emu(monkeypatch):
    emulator = Emulator(port=0, seed=0).start()
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    try:
        yield emulator
    finally:
        emulator.stop()


class Fetcher:
    def __init__(self, emulator: Emulator, tmp_path, **params):
        self.emulator = emulator
        self.params = {**emulator.params(), "isFetch": True, **params}
        self.env = {"REQUESTS_CA_BUNDLE": emulator.ca_path}
        self.state = State(tmp_path / "state.sqlite")

    def cycle(self) -> host.FetchReport:
        return host.fetch_cycle(MODULE_PATH, self.state, self.params, self.env)

    def numbers(self) -> list[int]:
        return [i.number for i in self.state.incidents()]

    def received(self) -> list[dict]:
        return [json.loads(i.raw_json) for i in self.state.incidents()]


def ago(**delta) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def test_first_run_takes_the_window_and_filters_on_the_server(emu, tmp_path):
    """Given incidents before and inside the 3-day window at every severity, when the first fetch runs
    with min_severity=Medium, then only the Medium/High ones inside the window arrive, oldest number first."""
    store = emu.store
    old = store.add_incident("too old", "High", created=ago(days=4))
    wanted = [store.add_incident(f"in window {s}", s, created=ago(days=2))
              for s in ("Informational", "Low", "Medium", "High")]
    fetcher = Fetcher(emu, tmp_path, min_severity="Medium", fetch_time="3 days")
    assert fetcher.cycle().ok
    numbers = {i["properties"]["incidentNumber"] for i in wanted[2:]}
    assert fetcher.numbers() == sorted(numbers)
    assert old["properties"]["incidentNumber"] not in fetcher.numbers()
    lists = [r for r in emu.requests if r.method == "GET" and r.path.endswith("/incidents")]
    assert all("properties/severity eq 'Medium'" in r.query.get("$filter", "") for r in lists)


def test_limit_is_honoured_across_runs_without_gaps_or_repeats(emu, tmp_path):
    """Given 130 qualifying incidents, when fetching with limit=50, then three runs deliver 50, 50 and 30,
    in number order, each exactly once."""
    for i in range(130):
        emu.store.add_incident(f"incident {i}", "High", created=ago(hours=10, minutes=-i))
    fetcher = Fetcher(emu, tmp_path, limit="50")
    counts = [fetcher.cycle().incidents for _ in range(4)]
    assert counts == [50, 50, 30, 0]
    assert fetcher.numbers() == list(range(emu.store.incidents()[0]["properties"]["incidentNumber"], 131))[-130:]


def test_an_escalated_incident_is_fetched_once_when_it_qualifies(emu, tmp_path):
    """Given a Low incident behind the cursor, when it is raised to High, then the next run emits it, and
    later changes to it (retitle, close) do not emit it again."""
    store = emu.store
    low = store.add_incident("starts low", "Low", created=ago(hours=5))
    store.add_incident("high", "High", created=ago(hours=4))
    fetcher = Fetcher(emu, tmp_path, min_severity="Medium")
    assert fetcher.cycle().incidents == 1
    store.modify_incident(low["name"], severity="High")
    assert fetcher.cycle().incidents == 1
    store.modify_incident(low["name"], title="retitled", status="Closed", classification="TruePositive",
                          classificationReason="SuspiciousActivity")
    assert fetcher.cycle().incidents == 0
    assert fetcher.numbers().count(low["properties"]["incidentNumber"]) == 1


def test_a_status_change_into_the_fetched_statuses_is_an_escalation(emu, tmp_path):
    """Given statuses_to_fetch=Active, when a New incident becomes Active, then it is emitted once."""
    incident = emu.store.add_incident("new one", "High", "New", created=ago(hours=3))
    emu.store.add_incident("active one", "High", "Active", created=ago(hours=2))
    fetcher = Fetcher(emu, tmp_path, statuses_to_fetch=["Active"])
    assert fetcher.cycle().incidents == 1
    emu.store.modify_incident(incident["name"], status="Active")
    assert fetcher.cycle().incidents == 1
    assert incident["properties"]["incidentNumber"] in fetcher.numbers()


def test_escalations_older_than_the_horizon_are_not_fetched(emu, tmp_path):
    """Given escalation_horizon_days=1, when an incident created 2 days ago is escalated, then it is not
    emitted (it is older than the horizon), while a recent one is."""
    store = emu.store
    old_low = store.add_incident("old low", "Low", created=ago(days=2))
    new_low = store.add_incident("new low", "Low", created=ago(hours=2))
    store.add_incident("anchor", "High", created=ago(hours=1))
    fetcher = Fetcher(emu, tmp_path, min_severity="Medium", escalation_horizon_days="1")
    assert fetcher.cycle().incidents == 1
    for incident in (old_low, new_low):
        store.modify_incident(incident["name"], severity="High")
    fetcher.cycle()
    assert new_low["properties"]["incidentNumber"] in fetcher.numbers()
    assert old_low["properties"]["incidentNumber"] not in fetcher.numbers()


def test_a_lower_number_that_becomes_visible_late_is_fetched(emu, tmp_path):
    """Given incident N is invisible while N+1 is fetched, when N becomes visible, then the next run
    emits N (once)."""
    late = emu.store.add_incident("late", "High", created=ago(minutes=30), hidden=True)
    emu.store.add_incident("on time", "High", created=ago(minutes=29))
    fetcher = Fetcher(emu, tmp_path)
    assert fetcher.cycle().incidents == 1
    emu.store.reveal(late["name"])
    assert fetcher.cycle().incidents == 1
    assert fetcher.cycle().incidents == 0
    assert sorted(fetcher.numbers()) == [late["properties"]["incidentNumber"],
                                         late["properties"]["incidentNumber"] + 1]


def test_created_time_out_of_number_order_loses_nothing(emu, tmp_path):
    """Given a new incident whose createdTimeUtc is older than incidents already fetched, when the next
    run happens, then it is emitted (the cursor is the incident number, not the time)."""
    emu.store.add_incident("recent", "High", created=ago(minutes=5))
    fetcher = Fetcher(emu, tmp_path)
    assert fetcher.cycle().incidents == 1
    backdated = emu.store.add_incident("backdated", "High", created=ago(days=1))
    assert fetcher.cycle().incidents == 1
    assert backdated["properties"]["incidentNumber"] in fetcher.numbers()


def test_a_failed_run_changes_nothing_and_the_next_run_recovers(emu, tmp_path):
    """Given an outage, when a fetch runs, then it fails and commits nothing; after the outage the same
    incidents arrive once."""
    for i in range(3):
        emu.store.add_incident(f"incident {i}", "High", created=ago(hours=1))
    fetcher = Fetcher(emu, tmp_path)
    emu.set_outage(True)
    report = fetcher.cycle()
    assert not report.ok and "503" in report.error
    assert fetcher.state.last_run() == {} and fetcher.numbers() == []
    emu.set_outage(False)
    assert fetcher.cycle().incidents == 3
    assert fetcher.cycle().incidents == 0


def test_throttling_and_server_errors_are_retried_within_the_run(emu, tmp_path):
    """Given list calls answered 429 (Retry-After) or 500 half of the time, when fetching, then the run
    still succeeds and delivers everything once."""
    for i in range(20):
        emu.store.add_incident(f"incident {i}", "High", created=ago(hours=2))
    emu.set_faults("list:429=0.3,list:500=0.2,retry_after=2,seed=3")
    fetcher = Fetcher(emu, tmp_path, limit="5")
    for _ in range(5):
        assert fetcher.cycle().ok
    assert sorted(fetcher.numbers()) == list(range(1, 21))
    assert any(r.fault == "429" for r in emu.requests) and any(r.fault == "500" for r in emu.requests)


def test_incident_shape_matches_the_official_mapper(emu, tmp_path):
    """Given a High incident with labels and an owner, when fetched, then the platform incident carries
    name (number + title), occurred, severity 3, dbotMirrorId and rawJSON with the official keys."""
    incident = emu.store.add_incident("Suspicious sign-in", "High", created=ago(hours=1), labels=["vip"],
                                      owner={"email": "ada@contoso.com", "assignedTo": "Ada"})
    fetcher = Fetcher(emu, tmp_path, mirror_direction="Incoming And Outgoing")
    assert fetcher.cycle().ok
    received = fetcher.state.incidents()[0]
    raw = json.loads(received.raw_json)
    number = incident["properties"]["incidentNumber"]
    assert received.name == f"[Microsoft Sentinel] #{number} Suspicious sign-in"
    assert received.severity == 3 and received.id == incident["name"]
    assert received.occurred == raw["CreatedTimeUTC"] and received.occurred.endswith("Z")
    assert raw["ID"] == incident["name"] and raw["Title"] == "Suspicious sign-in"
    assert raw["tags"] == ["vip"] and raw["owner"]["email"] == "ada@contoso.com"
    assert raw["mirror_direction"] == "Both" and raw["mirror_instance"]
    for key in ("Severity", "Status", "IncidentNumber", "Etag", "IncidentUrl", "classification", "relatedAnalyticRuleIds"):
        assert key in raw


def test_enrichment_failure_keeps_the_incident(emu, tmp_path, monkeypatch):
    """Given alerts can be read but the entities call always fails, when fetching with Alerts and
    Entities, then the incident still arrives with its alerts and says which enrichment is missing."""
    emu.store.add_incident("with alerts", "High", created=ago(hours=1), alerts=2)
    real = requests.Session.request

    def entities_unreachable(self, method, url, *args, **kwargs):
        if url.endswith("/entities"):
            raise requests.ConnectionError("connection reset by peer")
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", entities_unreachable)
    fetcher = Fetcher(emu, tmp_path, fetch_additional_info=["Alerts", "Entities"])
    report = fetcher.cycle()
    assert report.ok and report.incidents == 1
    raw = fetcher.received()[0]
    assert list(raw["enrichment_errors"]) == ["entities"] and "ConnectionError" in raw["enrichment_errors"]["entities"]
    assert len(raw["alerts"]) == 2 and raw["entities"] == []


def test_enrichment_attaches_alerts_entities_comments_relations(emu, tmp_path):
    """Given an incident with alerts and comments, when fetching with every enrichment, then rawJSON has
    the four lists the official mapper expects."""
    incident = emu.store.add_incident("rich", "High", created=ago(hours=1), alerts=2)
    emu.store.add_comment(incident["name"], "first look")
    fetcher = Fetcher(emu, tmp_path, fetch_additional_info=["Alerts", "Entities", "Comments", "Relations"])
    assert fetcher.cycle().ok
    raw = fetcher.received()[0]
    assert len(raw["alerts"]) == 2 and raw["comments"][0]["properties"]["message"] == "first look"
    assert isinstance(raw["entities"], list) and isinstance(raw["relations"], list)
    assert "enrichment_errors" not in raw


def test_continues_after_the_official_integrations_last_run(emu, tmp_path):
    """Given the lastRun the official integration left (last_incident_number=3), when our fetch runs,
    then it continues with number 4 and does not re-deliver 1..3."""
    for i in range(5):
        emu.store.add_incident(f"incident {i}", "High", created=ago(hours=1))
    platform = Platform(params={**emu.params(), "isFetch": True}, command="fetch-incidents",
                        last_run={"last_fetch_time": "2026-01-01T00:00:00Z", "last_incident_number": 3,
                                  "last_fetch_ids": ["a", "b"]})
    with host.environment({"REQUESTS_CA_BUNDLE": emu.ca_path}):
        run_module(platform)
    assert [json.loads(i["rawJSON"])["IncidentNumber"] for i in platform.incidents] == [4, 5]
    assert platform.new_last_run["cursor"] == 5


def test_test_module_runs_a_dry_fetch_that_validates_fetch_params(emu):
    """Given fetching is on with an OData filter the server rejects, when test-module runs, then it fails
    naming the problem, and emits nothing."""
    platform = Platform(params={**emu.params(), "isFetch": True, "odata_filter": "properties/nosuch eq 1"},
                        command="test-module")
    with host.environment({"REQUESTS_CA_BUNDLE": emu.ca_path}):
        run_module(platform)
    assert platform.errors and "400" in platform.errors[0]
    assert platform.incidents is None and platform.new_last_run is None
    good = Platform(params={**emu.params(), "isFetch": True, "odata_filter": "properties/title ne 'x'"},
                    command="test-module")
    with host.environment({"REQUESTS_CA_BUNDLE": emu.ca_path}):
        run_module(good)
    assert good.results == ["ok"] and good.incidents is None

"""How few requests a fetch needs, with nothing lost: one list request per run in a backlog and in steady
state (new, escalated and late incidents come from one listing), escalations beyond the limit spread over
runs exactly once, and enrichment paced under ARM's read bucket instead of being answered 429.

Against the emulator (real MSAL, real TLS), each run committed by the local host's fetch cycle; the pacing
test drives the module directly on a simulated clock shared with the emulator.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from module_helpers import load_module
from sentinel_emulator import Emulator, FakeClock
from sentinel_emulator.throttle import Limit
from xsoar_local import host
from xsoar_local.platform import MODULE_PATH
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

    def cycle(self) -> tuple[int, int]:
        """One run: (incidents committed, list requests it sent)."""
        before = len(self.emulator.requests)
        report = host.fetch_cycle(MODULE_PATH, self.state, self.params, self.env)
        assert report.ok, report.error
        lists = [r for r in self.emulator.requests[before:] if r.method == "GET" and r.path.endswith("/incidents")]
        return report.incidents, len(lists)

    def numbers(self) -> list[int]:
        return [i.number for i in self.state.incidents()]


def ago(**delta) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def number(incident: dict) -> int:
    return incident["properties"]["incidentNumber"]


def test_a_backlog_at_limit_1000_takes_one_list_request_per_run(emu, tmp_path):
    """Given 2,500 incidents, when fetching at limit 1000, then the runs deliver 1000, 1000, 500 and 0, each
    with one list request (the numbers re-read below the cursor are only those never emitted)."""
    for i in range(2500):
        emu.store.new_incident(f"backlog {i}", "High", created=ago(hours=20, seconds=-i))
    fetcher = Fetcher(emu, tmp_path, limit="1000")
    assert [fetcher.cycle() for _ in range(4)] == [(1000, 1), (1000, 1), (500, 1), (0, 1)]
    assert fetcher.numbers() == list(range(1, 2501))


def test_new_escalated_and_late_incidents_come_from_one_list_request(emu, tmp_path):
    """Given a fetched workspace, when a new incident arrives, a Low one behind the cursor is raised to High,
    a fetched one is retitled and a lower number becomes visible late, then the next run emits the new, the
    escalated and the late one with one list request, and the run after that emits nothing."""
    store = emu.store
    low = store.add_incident("starts low", "Low", created=ago(hours=3))
    store.add_incident("fetched", "High", created=ago(hours=2))
    late = store.add_incident("late", "High", created=ago(minutes=20), hidden=True)
    fetched = store.add_incident("fetched too", "High", created=ago(minutes=19))
    fetcher = Fetcher(emu, tmp_path, min_severity="Medium")
    assert fetcher.cycle() == (2, 1)
    new = store.add_incident("new", "Medium", created=ago(minutes=1))
    store.modify_incident(low["name"], severity="High")
    store.modify_incident(fetched["name"], title="retitled")
    store.reveal(late["name"])
    assert fetcher.cycle() == (3, 1)
    assert fetcher.cycle() == (0, 1)
    assert sorted(fetcher.numbers()) == [1, 2, 3, 4, 5] and number(new) == 5  # each once, the retitled one too


def test_a_late_number_among_many_gaps_is_still_fetched(emu, tmp_path):
    """Given High incidents interleaved with Low ones (more gaps below the cursor than the filter names one
    by one) and one High incident invisible at first, when it becomes visible, then the next run emits it."""
    store = emu.store
    hidden = None
    for i in range(40):
        store.add_incident(f"low {i}", "Low", created=ago(hours=2, seconds=-i))
        incident = store.add_incident(f"high {i}", "High", created=ago(hours=2, seconds=-i), hidden=i == 30)
        hidden = incident if i == 30 else hidden
    fetcher = Fetcher(emu, tmp_path, min_severity="Medium")
    assert fetcher.cycle() == (39, 1)
    store.reveal(hidden["name"])
    assert fetcher.cycle() == (1, 1)
    assert number(hidden) in fetcher.numbers() and len(set(fetcher.numbers())) == 40


def test_a_last_run_without_the_page_hint_continues_and_gains_it(emu, tmp_path):
    """Given a lastRun as releases before `behind_read` wrote it (version 1 without that key), when the next
    run happens, then it continues from it (the new incident arrives, nothing fetched before comes again)
    and the lastRun it writes has version 1 and the hint."""
    for i in range(3):
        emu.store.add_incident(f"incident {i}", "High", created=ago(hours=1, seconds=-i))
    fetcher = Fetcher(emu, tmp_path)
    assert fetcher.cycle() == (3, 1)
    older = {k: v for k, v in fetcher.state.last_run().items() if k != "behind_read"}
    fetcher.state.commit_fetch([], older, None)
    emu.store.add_incident("new", "High", created=ago(minutes=1))
    assert fetcher.cycle() == (1, 1)
    assert sorted(fetcher.numbers()) == [1, 2, 3, 4]
    last_run = fetcher.state.last_run()
    assert last_run["version"] == 1 and last_run["behind_read"] == 0


def direct_client(mod, settings, clock):
    """The module's client for one run, on the simulated clock."""
    session = mod.new_session(settings)
    retry = mod.RetryPolicy(now=clock, sleep=clock.advance)
    credential = mod.Credential(settings, session, {}, retry=retry, now=clock)
    return mod.Client(mod.Transport(session, credential, settings.cloud.arm, retry),
                      settings.subscription_id, settings.resource_group, settings.workspace)


def test_more_escalations_than_the_limit_arrive_over_runs_exactly_once(monkeypatch):
    """Given 25 Low incidents far behind the cursor, when 11-25 are raised to High and an hour later 1-10 are
    too, and fetching runs with limit 10, then the runs deliver 10, 10, 5 and 0, each incident once: a run
    that could not read every escalation keeps the modified-time mark, so the earlier ones are not skipped."""
    start = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    clock = FakeClock(start)
    emulator = Emulator(port=0, seed=0, clock=clock).start()
    emulator.throttle.enabled = False
    try:
        for name, value in emulator.env().items():
            monkeypatch.setenv(name, value)
        store = emulator.store
        lows = [store.add_incident(f"low {i}", "Low", created=start - timedelta(hours=3, seconds=-i))
                for i in range(25)]
        for i in range(150):  # moves the cursor far past the Low ones
            store.new_incident(f"high {i}", "High", created=start - timedelta(hours=2, seconds=-i))
        mod = load_module()
        params = {**emulator.params(), "isFetch": True, "min_severity": "Medium"}

        def run(last_run: dict, limit: str) -> tuple[list[int], dict]:
            settings = mod.settings_from_params({**params, "limit": limit})
            incidents, next_run, _ = mod.fetch_incidents(direct_client(mod, settings, clock), settings, last_run,
                                                         datetime.fromtimestamp(clock(), timezone.utc), "inst")
            return [json.loads(i["rawJSON"])["IncidentNumber"] for i in incidents], next_run

        first, last_run = run({}, "1000")
        assert first == list(range(26, 176))
        clock.set(start + timedelta(minutes=10))
        for incident in lows[10:]:
            store.modify_incident(incident["name"], severity="High")
        clock.set(start + timedelta(minutes=70))
        for incident in lows[:10]:
            store.modify_incident(incident["name"], severity="High")
        emitted = []
        for minute in range(71, 75):
            clock.set(start + timedelta(minutes=minute))
            numbers, last_run = run(last_run, "10")
            emitted.append(numbers)
    finally:
        emulator.stop()
    assert [len(numbers) for numbers in emitted] == [10, 10, 5, 0]
    assert sorted(n for numbers in emitted for n in numbers) == list(range(1, 26))


def test_enrichment_is_paced_below_the_read_bucket(monkeypatch):
    """Given an ARM read bucket of 40 calls refilled at 4 a second and a pacer of 30 calls then 3 a second,
    when 20 incidents are fetched with all four enrichments (80 calls), then no call was answered 429, every
    incident has its four lists, and the pacer made the run wait."""
    clock = FakeClock(datetime.now(timezone.utc))
    emulator = Emulator(port=0, seed=0, clock=clock, reads=Limit(40, 4.0)).start()
    try:
        for name, value in emulator.env().items():
            monkeypatch.setenv(name, value)
        for i in range(20):
            record = emulator.store.new_incident(f"enriched {i}", "High", alerts=1,
                                                 created=datetime.now(timezone.utc) - timedelta(hours=1))
            emulator.store.attach_comment(record, "a note")
        mod = load_module()
        monkeypatch.setattr(mod, "ENRICH_BURST", 30)
        monkeypatch.setattr(mod, "ENRICH_RATE", 3.0)
        settings = mod.settings_from_params({**emulator.params(), "isFetch": True, "limit": "50",
                                             "fetch_additional_info": ["Alerts", "Entities", "Comments", "Relations"]})
        started = clock()
        client = direct_client(mod, settings, clock)
        incidents, _, stats = mod.fetch_incidents(client, settings, {}, datetime.now(timezone.utc), "inst")
    finally:
        emulator.stop()

    assert [r for r in emulator.requests if r.status == 429] == []
    assert len(incidents) == 20 and stats["enrichment_failures"] == 0
    for incident in incidents:
        raw = json.loads(incident["rawJSON"])
        assert len(raw["alerts"]) == 1 and len(raw["comments"]) == 1 and raw["relations"]
    assert clock() - started >= (80 - 30) / 3.0 - 1, "the pacer never waited"


def test_the_pacer_lets_a_burst_through_then_spaces_calls_at_its_rate():
    """Given a pacer of 3 calls then 2 a second on a clock that stands still, when 5 calls wait, then the
    first 3 do not sleep and the 4th and 5th sleep until their turn (0.5 s and 1 s)."""
    mod = load_module()
    sleeps: list[float] = []
    pacer = mod.Pacer(3, 2.0, now=lambda: 100.0, sleep=sleeps.append)
    for _ in range(5):
        pacer.wait()
    assert sleeps == [0.5, 1.0]

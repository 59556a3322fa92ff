"""Fetching exactly once, end to end: the unmodified module, run by the local host's fetch cycle
(SQLite commit of incidents + lastRun), against the emulator over real HTTPS with real MSAL.

The scenario of issue 4: a 3,000-incident backlog, then 24 cycles during which new incidents
arrive (some created earlier than incidents already fetched, some before the first-fetch window,
some visible only a cycle after higher-numbered ones), Low/Informational incidents are escalated,
fetched ones are retitled or closed; ~8% of list calls answer 429 and ~4% answer 500, and one
cycle is a total outage. min_severity=Medium, limit=200, fetch_time=3 days.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from sentinel_emulator import Emulator
from xsoar_local import host
from xsoar_local.platform import MODULE_PATH
from xsoar_local.state import State

QUALIFYING = {"Medium", "High"}
SEVERITIES = ["Informational", "Low", "Medium", "High"]
OUTAGE_CYCLE = 9
CYCLES = 24
QUIET_CYCLES = 3  # the last cycles add nothing, so whatever is pending can be drained


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "")[:26]).replace(tzinfo=timezone.utc)


@pytest.fixture()
def emulator():
    emu = Emulator(port=0, seed=0).start()
    emu.throttle.enabled = False  # this test injects its own 429s; ARM buckets are tested elsewhere
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture()
def no_real_sleep(monkeypatch):
    """Retries wait through time.sleep; the waits are recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def test_every_qualifying_incident_is_emitted_exactly_once(emulator, no_real_sleep, tmp_path):
    """Given a backlog, arrivals, late visibility, escalations, faults and an outage,
    when 24 fetch cycles run, then each incident created in the first-fetch window that reached
    Medium or High was committed exactly once, nothing else was, failed cycles committed nothing,
    and lastRun stayed under 16 KB."""
    store, rng = emulator.store, random.Random(4)
    now = datetime.now(timezone.utc)
    severity: dict[int, str] = {}  # incident number -> highest severity reached while visible
    created: dict[int, datetime] = {}
    names: dict[int, str] = {}

    def add(title: str, level: str, when: datetime, hidden: bool = False) -> int:
        incident = store.add_incident(title, severity=level, created=when, hidden=hidden)
        number = incident["properties"]["incidentNumber"]
        severity[number], created[number], names[number] = level, when, incident["name"]
        return number

    span = timedelta(days=4) - timedelta(minutes=10)  # a quarter of the backlog predates the window
    for i in range(3000):
        add(f"backlog {i}", rng.choice(SEVERITIES), now - timedelta(days=4) + span * i / 3000)

    params = {**emulator.params(), "isFetch": True, "min_severity": "Medium", "limit": "200",
              "fetch_time": "3 days"}
    env = {"REQUESTS_CA_BUNDLE": emulator.ca_path}
    emulator.set_faults("list:429=0.08,list:500=0.04,retry_after=1,seed=11")

    committed: list[int] = []
    hidden: list[int] = []
    window_start: datetime | None = None
    with State(tmp_path / "state.sqlite") as state:
        for cycle in range(1, CYCLES + 1):
            for number in hidden:  # late-visible incidents show up one cycle later
                store.reveal(names[number])
            hidden = []
            if cycle <= CYCLES - QUIET_CYCLES:
                clock = datetime.now(timezone.utc)
                for j in range(rng.randint(5, 15)):
                    when = clock - timedelta(minutes=rng.randint(0, 3))
                    if j == 0:
                        when = clock - timedelta(days=2)  # earlier than incidents already fetched
                    if j == 1:
                        when = clock - timedelta(days=3, hours=6)  # before the first-fetch window
                    late = j == 2
                    number = add(f"new {cycle}.{j}", rng.choice(SEVERITIES), when, hidden=late)
                    if late:
                        hidden.append(number)
                lows = [n for n, s in severity.items() if s not in QUALIFYING and n not in hidden]
                for number in rng.sample(lows, 6):  # escalations, backlog and recent alike
                    level = rng.choice(["Medium", "High"])
                    store.modify_incident(names[number], severity=level)
                    severity[number] = level
                for number in rng.sample(committed, min(4, len(committed))):  # changes after fetching
                    store.modify_incident(names[number], title=f"retitled {number}", status="Closed",
                                          classification="FalsePositive",
                                          classificationReason="InaccurateData")
            emulator.set_outage(cycle == OUTAGE_CYCLE)
            before = (state.last_run(), len(state.incidents()))
            report = host.fetch_cycle(MODULE_PATH, state, params, env)
            if cycle == OUTAGE_CYCLE:
                assert not report.ok, "the outage cycle must fail"
                assert (state.last_run(), len(state.incidents())) == before, "a failed cycle changed state"
                continue
            assert report.ok, f"cycle {cycle} failed: {report.error}"
            assert report.last_run_bytes < 16 * 1024
            window_start = window_start or parse(state.last_run()["window_start"])
            committed = [i.number for i in state.incidents()]

    expected = {n for n, level in severity.items() if level in QUALIFYING and created[n] >= window_start}
    duplicates = sorted(n for n in set(committed) if committed.count(n) > 1)
    assert not duplicates, f"emitted more than once: {duplicates[:20]}"
    assert set(committed) - expected == set(), "emitted incidents that do not qualify"
    assert expected - set(committed) == set(), "qualifying incidents were never emitted"
    faults = [r for r in emulator.requests if r.fault in ("429", "500")]
    assert len(faults) >= 5, "the fault injection did not fire"
    assert no_real_sleep, "retries never waited"

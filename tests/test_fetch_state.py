"""The fetch state over weeks of simulated time: it stays small (the emitted-number bitmap is pruned
past the escalation horizon) while every qualifying incident is still emitted exactly once.

The module's fetch is a function of (client, settings, lastRun, now), so the test drives it directly
with a simulated `now`, against the emulator running on the same simulated clock.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from module_helpers import load_module
from sentinel_emulator import Emulator, FakeClock

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture()
def world(monkeypatch):
    clock = FakeClock(START)
    emulator = Emulator(port=0, seed=0, clock=clock).start()
    emulator.throttle.enabled = False
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    try:
        yield emulator, clock
    finally:
        emulator.stop()


def test_state_stays_small_over_weeks_and_nothing_is_emitted_twice(world):
    """Given 100 incidents a day for 30 days (a quarter of the Low ones escalated within two days), when a
    fetch runs every 12 hours, then lastRun stays under 16 KB, the bitmap floor moves past old numbers, and
    each incident that reached Medium within its first days is emitted exactly once."""
    emulator, clock = world
    mod = load_module()
    settings = mod.settings_from_params({**emulator.params(), "isFetch": True, "min_severity": "Medium",
                                         "limit": "1000", "fetch_time": "1 day"})
    rng = random.Random(9)
    context: dict = {}
    last_run: dict = {}
    emitted: list[int] = []
    pending: list[tuple[datetime, str]] = []  # (when to escalate, incident name)
    qualifying: set[int] = set()
    sizes: list[int] = []

    for step in range(30 * 2):
        now = START + timedelta(hours=12 * (step + 1))
        for i in range(50):  # this half-day's arrivals
            created = now - timedelta(hours=12) + timedelta(minutes=14 * i)
            clock.set(created)
            level = rng.choice(["Informational", "Low", "Medium", "High"])
            incident = emulator.store.add_incident(f"step {step} #{i}", level, created=created)
            number = incident["properties"]["incidentNumber"]
            if level in ("Medium", "High"):
                qualifying.add(number)
            elif rng.random() < 0.25:
                pending.append((created + timedelta(hours=rng.randint(1, 48)), incident["name"]))
        clock.set(now - timedelta(minutes=1))
        for when, name in [p for p in pending if p[0] <= now]:
            qualifying.add(emulator.store.modify_incident(name, severity="High")["properties"]["incidentNumber"])
        pending = [p for p in pending if p[0] > now]
        clock.set(now)

        session = mod.new_session(settings)
        retry = mod.RetryPolicy(now=clock, sleep=clock.advance)
        credential = mod.Credential(settings, session, context, retry=retry, now=clock)
        transport = mod.Transport(session, credential, settings.cloud.arm, retry)
        client = mod.Client(transport, settings.subscription_id, settings.resource_group, settings.workspace)
        incidents, last_run, _stats = mod.fetch_incidents(client, settings, last_run, now, "inst")
        emitted += [json.loads(i["rawJSON"])["IncidentNumber"] for i in incidents]
        sizes.append(len(json.dumps(last_run)))

    assert len(emitted) == len(set(emitted)), "an incident was emitted twice"
    assert set(emitted) == qualifying, (len(qualifying - set(emitted)), len(set(emitted) - qualifying))
    assert max(sizes) < 16 * 1024, max(sizes)
    assert last_run["floor"] > 100 * 20, "the bitmap was never pruned past the horizon"
    assert sizes[-1] <= 2 * sizes[len(sizes) // 2], "lastRun keeps growing"

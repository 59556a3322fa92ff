"""A backlog as issue 11 measures it: list paths that scan stored records in number order give the same
pages as a full sort would; every seeded incident has its enrichment endpoints; throttling stays
observable in the request log. (Timing goals live in benchmarks/, not here.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.test import Client

from sentinel_emulator import Emulator, FakeClock, Limit

from test_emulator_api import Arm

START = datetime(2026, 4, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def backlog():
    """600 seeded incidents, 20 hidden ones among them, and the ARM app reachable in-process."""
    clock = FakeClock(START)
    emu = Emulator(seed=600, clock=clock)
    for n in range(20):
        emu.store.add_incident(f"hidden {n}", hidden=True, created=START - timedelta(hours=n))
    with emu:
        emu.throttle.enabled = False
        arm = Arm(emu)
        client = Client(emu.app)
        prefix = arm.ws.removeprefix(emu.base_url)

        def get(path: str, **params: str) -> dict:
            response = client.get(f"{prefix}{path}", query_string={"api-version": "2025-12-01", **params},
                                  headers={"Authorization": f"Bearer {arm.token}"}, base_url=emu.base_url)
            assert response.status_code == 200, response.get_data(as_text=True)
            return response.get_json()

        def post(path: str) -> dict:
            response = client.post(f"{prefix}{path}", query_string={"api-version": "2025-12-01"},
                                   headers={"Authorization": f"Bearer {arm.token}"}, base_url=emu.base_url)
            assert response.status_code == 200, response.get_data(as_text=True)
            return response.get_json()

        emu.get, emu.post = get, post
        yield emu


def pages(emu, **params: str) -> list[dict]:
    """Every page, following each nextLink's query (its path is the list's own)."""
    body = emu.get("/incidents", **params)
    items = list(body["value"])
    while body.get("nextLink"):
        query = {k: v for k, v in parse_qsl(urlsplit(body["nextLink"]).query) if k != "api-version"}
        body = emu.get("/incidents", **query)
        items += body["value"]
    return items


def visible(emu) -> list[dict]:
    return [i for i in emu.store.incidents() if not i["properties"]["title"].startswith("hidden")]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_number_ordered_pages_match_a_full_sort(backlog, direction):
    """Given the backlog, paging by incidentNumber with a filter returns exactly the matching visible
    incidents, once each, in number order (either direction)."""
    expression = "properties/severity ne 'Informational' and properties/createdTimeUtc ge 2026-03-30T00:00:00Z"
    items = pages(backlog, **{"$filter": expression, "$orderby": f"properties/incidentNumber {direction}",
                              "$top": "97"})
    cutoff = "2026-03-30T00:00:00"
    expected = sorted((i for i in visible(backlog) if i["properties"]["severity"] != "Informational"
                       and i["properties"]["createdTimeUtc"] >= cutoff),
                      key=lambda i: i["properties"]["incidentNumber"], reverse=direction == "desc")
    assert [i["name"] for i in items] == [i["name"] for i in expected]
    assert len(items) > 97


def test_other_orders_and_derived_paths_still_sort_and_filter(backlog):
    items = pages(backlog, **{"$filter": "properties/owner/assignedTo eq 'Ada Analyst' and "
                                         "properties/additionalData/alertsCount ge 2",
                              "$orderby": "properties/lastModifiedTimeUtc desc", "$top": "50"})
    expected = [i for i in visible(backlog) if i["properties"]["owner"]["assignedTo"] == "Ada Analyst"
                and i["properties"]["additionalData"]["alertsCount"] >= 2]
    expected.sort(key=lambda i: i["name"])
    expected.sort(key=lambda i: i["properties"]["lastModifiedTimeUtc"], reverse=True)
    assert [i["name"] for i in items] == [i["name"] for i in expected] and expected


def test_every_seeded_incident_has_its_enrichment(backlog):
    """Given the backlog, alerts, entities, comments and relations answer for every visible incident,
    with at least one alert, the seeded entities, and one relation per alert."""
    for incident in visible(backlog):
        name = incident["name"]
        alerts = backlog.post(f"/incidents/{name}/alerts")["value"]
        entities = backlog.post(f"/incidents/{name}/entities")["entities"]
        comments = backlog.get(f"/incidents/{name}/comments")["value"]
        relations = backlog.get(f"/incidents/{name}/relations")["value"]
        assert alerts and len(entities) >= 3
        assert len(comments) == incident["properties"]["additionalData"]["commentsCount"]
        alert_relations = {r["properties"]["relatedResourceName"] for r in relations
                           if r["properties"].get("relatedResourceKind") == "SecurityAlert"}
        assert alert_relations == {a["name"] for a in alerts}


def test_throttled_answers_are_counted_in_the_request_log():
    """Given a read bucket of 2, when 5 reads are made without the clock moving, then the request log
    holds 3 answers of 429 that no fault injected."""
    with Emulator(seed=1, clock=FakeClock(), reads=Limit(2, 1.0)) as emu:
        arm = Arm(emu)
        statuses = [arm.call("GET", "/incidents").status_code for _ in range(5)]
        assert statuses == [200, 200, 429, 429, 429]
        throttled = [r for r in emu.requests if r.status == 429]
        assert len(throttled) == 3 and all(r.fault is None and r.principal == emu.client_id for r in throttled)

"""Defender portal era data: Microsoft XDR incidents, incident merges as the Defender portal does them,
the live feed's analyst and correlation activity, and comment authors."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from sentinel_emulator import Emulator, FakeClock
from sentinel_emulator.seed import LiveFeed
from sentinel_emulator.testing import trusting_session

from test_emulator_api import Arm, assert_spec

CORRELATION = "Microsoft Defender XDR - alert correlation"


def test_seeded_incidents_come_from_both_portals():
    """Given a seeded workspace, some incidents are Defender's (providerName Microsoft XDR, a Defender
    incident ID and its portal URL), the rest Sentinel's (the incident number as provider ID)."""
    emu = Emulator(seed=40)
    incidents = emu.store.incidents()
    providers = Counter(i["properties"]["providerName"] for i in incidents)
    assert set(providers) == {"Azure Sentinel", "Microsoft XDR"} and min(providers.values()) >= 5
    defender_ids = []
    for incident in incidents:
        assert_spec(incident, "Incidents.json", "Incident")
        props = incident["properties"]
        if props["providerName"] == "Microsoft XDR":
            defender_ids.append(int(props["providerIncidentId"]))
            assert props["additionalData"]["providerIncidentUrl"] == (
                f"https://security.microsoft.com/incidents/{props['providerIncidentId']}?tid={emu.tenant_id}")
        else:
            assert props["providerIncidentId"] == str(props["incidentNumber"])
    assert defender_ids == sorted(set(defender_ids)), "Defender incident IDs are unique and increasing"


def test_add_incident_can_make_a_defender_incident():
    emu = Emulator(seed=0)
    made = emu.store.add_incident("From Defender", provider_name="Microsoft XDR", provider_incident_id="9876")
    assert made["properties"]["providerIncidentId"] == "9876"
    assert made["properties"]["additionalData"]["providerIncidentUrl"].startswith(
        "https://security.microsoft.com/incidents/9876")


# region merges


@pytest.fixture()
def merged():
    """Two open incidents; the newer one is merged into the older one a minute later."""
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=timezone.utc))
    emu = Emulator(seed=0, clock=clock)
    store = emu.store
    target = store.add_incident("Phishing on WS-1", "Medium", alerts=1, labels=["phish"], rule_names=["rule-a"],
                                provider_name="Microsoft XDR")
    source = store.add_incident("Suspicious process on WS-1", "High", "Active", alerts=2, labels=["vip"],
                                rule_names=["rule-b"], provider_name="Microsoft XDR")
    store.add_entity(source["name"], "Host", hostName="WS-1")
    store.add_comment(source["name"], "Looked at the process tree.")
    before = {"source": store.incident(source["name"]), "target": store.incident(target["name"])}
    clock.advance(60)
    result = store.merge_incident(source["name"], target["name"])
    return emu, before, result


def test_merge_closes_the_source_as_redirected_with_a_comment(merged):
    emu, before, _ = merged
    source = emu.store.incident(before["source"]["name"])
    props = source["properties"]
    assert props["status"] == "Closed" and props["classification"] == "Undetermined"
    assert props["labels"] == [{"labelName": "Redirected", "labelType": "AutoAssigned"}]
    assert props["lastModifiedTimeUtc"] > before["source"]["properties"]["lastModifiedTimeUtc"]
    assert source["etag"] != before["source"]["etag"]
    comments = Arm(emu.start()).call("GET", f"/incidents/{source['name']}/comments").json()["value"]
    emu.stop()
    merge_notes = [c for c in comments if c["properties"]["author"]["name"] == CORRELATION]
    assert len(merge_notes) == 1
    target_number = before["target"]["properties"]["incidentNumber"]
    assert f"merged into incident {target_number}" in merge_notes[0]["properties"]["message"]
    assert any(c["properties"]["message"] == "Looked at the process tree." for c in comments), "comments stay"
    assert_spec(source, "Incidents.json", "Incident")


def test_merge_moves_alerts_entities_labels_and_rules_to_the_target(merged):
    emu, before, result = merged
    target = result["properties"]
    assert target["additionalData"]["alertsCount"] == 3
    assert {label["labelName"] for label in target["labels"]} == {"phish", "vip"}
    assert [r.rsplit("/", 1)[-1] for r in target["relatedAnalyticRuleIds"]] == ["rule-a", "rule-b"]
    assert target["status"] == "New" and target["title"] == before["target"]["properties"]["title"]
    assert result["etag"] != before["target"]["etag"]
    with emu:
        arm = Arm(emu)
        target_alerts = arm.call("POST", f"/incidents/{result['name']}/alerts").json()["value"]
        source_alerts = arm.call("POST", f"/incidents/{before['source']['name']}/alerts").json()["value"]
        entities = arm.call("POST", f"/incidents/{result['name']}/entities").json()["entities"]
        relations = arm.call("GET", f"/incidents/{result['name']}/relations", params={
            "$filter": "properties/relatedResourceKind eq 'SecurityAlert'"}).json()["value"]
    assert len(target_alerts) == 3 and source_alerts == []
    assert any(e["properties"].get("hostName") == "WS-1" for e in entities)
    assert {r["properties"]["relatedResourceName"] for r in relations} == {a["name"] for a in target_alerts}


def test_closed_incidents_and_self_merges_are_refused():
    emu = Emulator(seed=0)
    a = emu.store.add_incident("A")["name"]
    b = emu.store.add_incident("B", status="Closed", classification="FalsePositive")["name"]
    with pytest.raises(ValueError):
        emu.store.merge_incident(a, b)
    with pytest.raises(ValueError):
        emu.store.merge_incident(a, a)


# endregion

# region live feed


def test_live_feed_does_what_analysts_and_the_defender_portal_do():
    """Given a live feed stepped 300 times on a fake clock, it creates, escalates, closes with a
    classification, renames, comments as Sentinel users, reassigns and merges."""
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=timezone.utc))
    emu = Emulator(seed=20, clock=clock)
    feed = LiveFeed(emu.store, seed=20)
    actions = []
    for _ in range(300):
        clock.advance(5)
        actions.append(feed.step())
    assert set(actions) == set(LiveFeed.ACTIONS)
    incidents = emu.store.incidents()
    assert len(incidents) == 20 + actions.count("create")
    redirected = [i for i in incidents if {"labelName": "Redirected", "labelType": "AutoAssigned"}
                  in i["properties"]["labels"]]
    assert len(redirected) == actions.count("merge")
    assert all(i["properties"]["status"] == "Closed" for i in redirected)
    closed = [i["properties"] for i in incidents if i["properties"]["status"] == "Closed" and i not in redirected]
    assert closed and all(p.get("classification") and p.get("classificationReason") for p in closed)
    assert any(i["properties"]["title"].startswith("Multi-stage incident involving") for i in incidents)
    owners = {i["properties"]["owner"]["assignedTo"] for i in incidents}
    assert {"Ada Analyst", "Sam Responder"} <= owners
    with emu:
        arm = Arm(emu)
        authors = Counter(c["properties"]["author"]["name"] for i in incidents
                          for c in arm.call("GET", f"/incidents/{i['name']}/comments").json()["value"])
    assert authors["Ada Analyst"] and authors["Sam Responder"] and authors[CORRELATION] == actions.count("merge")


# endregion

# region comment authors


def test_comments_put_through_the_api_are_authored_by_the_caller():
    """Given a comment PUT with an app registration's token and one with a user-assigned managed
    identity's token, each comment's author is that identity, as Sentinel shows it."""
    with Emulator(seed=1) as emu:
        incident = emu.store.incidents()[0]["name"]
        app = Arm(emu)
        by_app = app.call("PUT", f"/incidents/{incident}/comments/c-app", json={"properties": {"message": "app"}})
        assert by_app.json()["properties"]["author"]["name"] == "Sentinel Emulator App"
        mi = trusting_session(emu.ca_path).get(
            f"{emu.base_url}/msi/token", params={"api-version": "2019-08-01", "resource": emu.base_url,
                                                 "client_id": emu.mi_client_id},
            headers={"X-IDENTITY-HEADER": emu.identity.identity_header}).json()["access_token"]
        by_mi = Arm(emu, token=mi).call("PUT", f"/incidents/{incident}/comments/c-mi",
                                        json={"properties": {"message": "mi"}})
        author = by_mi.json()["properties"]["author"]
        assert author["name"] == "sentinel-connector" and author["objectId"]
        assert_spec(by_mi.json(), "Incidents.json", "IncidentComment")


def test_store_comments_carry_their_author():
    emu = Emulator(seed=0)
    name = emu.store.add_incident("x")["name"]
    comment = emu.store.add_comment(name, "hello")
    assert comment["properties"]["author"]["name"] == "Ada Analyst"
    assert comment["properties"]["author"]["email"] == "ada.analyst@contoso.com"


# endregion

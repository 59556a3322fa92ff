"""The emulated Sentinel incidents API, exercised by a client written only from the 2025-12-01 spec."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sentinel_emulator import Emulator, FakeClock
from sentinel_emulator.testing import spec_validator, trusting_session

API = "2025-12-01"


class Arm:
    """A minimal ARM client: token from the v2.0 token endpoint, then bearer calls."""

    def __init__(self, emu: Emulator, token: str | None = None) -> None:
        self.emu = emu
        self.session = trusting_session(emu.ca_path)
        self.token = token or self.fetch_token()
        self.ws = (f"{emu.base_url}/subscriptions/{emu.subscription_id}/resourceGroups/{emu.resource_group}"
                   f"/providers/Microsoft.OperationalInsights/workspaces/{emu.workspace_name}"
                   "/providers/Microsoft.SecurityInsights")

    def fetch_token(self) -> str:
        response = self.session.post(f"{self.emu.base_url}/{self.emu.tenant_id}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": self.emu.client_id,
            "client_secret": self.emu.client_secret, "scope": f"{self.emu.base_url}/.default"})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def call(self, method: str, path: str, *, params: dict | None = None, json: object = None,
             api_version: str | None = API, auth: bool = True, url: str | None = None) -> requests.Response:
        query = dict(params or {})
        if api_version:
            query["api-version"] = api_version
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        target = url or (path if path.startswith("http") else f"{self.ws}{path}")
        return self.session.request(method, target, params=None if url else query, json=json, headers=headers)

    def all_pages(self, path: str, params: dict) -> tuple[list[dict], list[str]]:
        response = self.call("GET", path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items, links = list(body["value"]), []
        while body.get("nextLink"):
            links.append(body["nextLink"])
            response = self.call("GET", "", url=body["nextLink"])
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["value"]
        return items, links


def assert_spec(value: object, file: str, definition: str) -> None:
    problems = spec_validator().check(value, file, definition)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def seeded():
    with Emulator(seed=12) as emu:
        yield emu


@pytest.fixture(scope="module")
def arm(seeded):
    return Arm(seeded)


# region shapes


def test_incident_list_matches_the_spec(arm):
    """Given a seeded workspace, when incidents are listed, then every one is a spec-shaped Incident."""
    response = arm.call("GET", "/incidents", params={"$top": 50})
    assert response.status_code == 200
    body = response.json()
    assert_spec(body, "Incidents.json", "IncidentList")
    assert len(body["value"]) == 12
    for incident in body["value"]:
        assert set(incident) == {"id", "name", "type", "etag", "properties"}
        props = incident["properties"]
        assert incident["type"] == "Microsoft.SecurityInsights/incidents"
        assert incident["id"] == f"{urlsplit(arm.ws).path}/incidents/{incident['name']}"
        assert incident["etag"].startswith('"') and incident["etag"].endswith('"')
        if props["providerName"] == "Azure Sentinel":
            assert props["providerIncidentId"] == str(props["incidentNumber"])
            assert "providerIncidentUrl" not in props["additionalData"]
        else:
            assert props["providerName"] == "Microsoft XDR"
            assert props["additionalData"]["providerIncidentUrl"] == (
                f"https://security.microsoft.com/incidents/{props['providerIncidentId']}?tid={arm.emu.tenant_id}")
        assert props["createdTimeUtc"].endswith("Z") and len(props["createdTimeUtc"].split(".")[1]) == 8
        assert props["incidentUrl"].endswith(incident["id"])
        assert props["additionalData"]["alertsCount"] >= 1
        assert {"alertsCount", "commentsCount", "bookmarksCount", "alertProductNames", "tactics"} <= set(
            props["additionalData"])
    numbers = sorted(i["properties"]["incidentNumber"] for i in body["value"])
    assert numbers == list(range(1, 13))


def test_incident_children_match_the_spec(arm, seeded):
    """Given an incident, alerts/entities/bookmarks POSTs and comments/relations/tasks lists are spec-shaped."""
    incident = seeded.store.incidents()[0]
    name = incident["name"]
    bookmark = next(seeded.store.records("bookmarks"))
    bookmark_id = f"{urlsplit(arm.ws).path}/bookmarks/{bookmark.name}"
    assert arm.call("PUT", f"/incidents/{name}/relations/rel-bookmark-1",
                    json={"properties": {"relatedResourceId": bookmark_id}}).status_code == 201
    assert arm.call("PUT", f"/incidents/{name}/tasks/task-1",
                    json={"properties": {"title": "Isolate host", "status": "New"}}).status_code == 201
    seeded.store.add_comment(name, "seeded for the shape test")

    alerts = arm.call("POST", f"/incidents/{name}/alerts")
    assert alerts.status_code == 200
    assert_spec(alerts.json(), "Incidents.json", "IncidentAlertList")
    assert alerts.json()["value"] and all(a["kind"] == "SecurityAlert" for a in alerts.json()["value"])

    entities = arm.call("POST", f"/incidents/{name}/entities").json()
    assert_spec(entities, "Incidents.json", "IncidentEntitiesResponse")
    kinds = [e["kind"] for e in entities["entities"]]
    assert {m["entityKind"]: m["count"] for m in entities["metaData"]} == {k: kinds.count(k) for k in kinds}

    bookmarks = arm.call("POST", f"/incidents/{name}/bookmarks").json()
    assert_spec(bookmarks, "Incidents.json", "IncidentBookmarkList")
    assert [b["name"] for b in bookmarks["value"]] == [bookmark.name]

    comments = arm.call("GET", f"/incidents/{name}/comments").json()
    assert_spec(comments, "Incidents.json", "IncidentCommentList")
    relations = arm.call("GET", f"/incidents/{name}/relations").json()
    assert_spec(relations, "Incidents.json", "RelationList")
    related = {r["name"]: r["properties"] for r in relations["value"]}
    assert related["rel-bookmark-1"]["relatedResourceType"] == "Microsoft.SecurityInsights/bookmarks"
    alert_relations = [r for r in related.values() if r.get("relatedResourceKind") == "SecurityAlert"]
    assert sorted(r["relatedResourceName"] for r in alert_relations) == sorted(
        a["name"] for a in alerts.json()["value"])
    tasks = arm.call("GET", f"/incidents/{name}/tasks").json()
    assert_spec(tasks, "Incidents.json", "IncidentTaskList")

    after = arm.call("GET", f"/incidents/{name}").json()
    assert_spec(after, "Incidents.json", "Incident")
    data = after["properties"]["additionalData"]
    assert data["bookmarksCount"] == 1
    assert data["commentsCount"] == len(comments["value"])
    assert data["alertsCount"] == len(alerts.json()["value"])


def test_comment_put_get_delete(arm, seeded):
    """Given an incident, a comment PUT creates (201), re-PUT updates (200), DELETE gives 200 then 204."""
    name = seeded.store.incidents()[1]["name"]
    path = f"/incidents/{name}/comments/5d8a7e55-4a9f-4f5b-9c1e-0b6a8f2c1d3e"
    created = arm.call("PUT", path, json={"properties": {"message": "Investigating"}})
    assert created.status_code == 201
    body = created.json()
    assert_spec(body, "Incidents.json", "IncidentComment")
    assert body["properties"]["message"] == "Investigating"
    assert body["properties"]["author"]["objectId"]
    assert body["properties"]["author"]["name"] == "Sentinel Emulator App"
    updated = arm.call("PUT", path, json={"properties": {"message": "Contained"}, "etag": body["etag"]})
    assert updated.status_code == 200
    assert updated.json()["properties"]["createdTimeUtc"] == body["properties"]["createdTimeUtc"]
    assert updated.json()["etag"] != body["etag"]
    assert arm.call("GET", path).json()["properties"]["message"] == "Contained"
    assert arm.call("PUT", path, json={"properties": {}}).status_code == 400
    assert arm.call("DELETE", path).status_code == 200
    assert arm.call("DELETE", path).status_code == 204
    assert arm.call("GET", path).status_code == 404


# endregion

# region paging


@pytest.fixture()
def paging_emu():
    with Emulator(seed=0, clock=FakeClock(datetime(2026, 3, 1, tzinfo=timezone.utc))) as emu:
        for day in range(1, 24):
            emu.store.add_incident(f"Incident {day:02d}", "Medium",
                                   created=datetime(2026, 2, day, 12, tzinfo=timezone.utc))
        yield emu


def test_next_link_pages_cover_everything_once(paging_emu):
    """Given 23 incidents, when paging with $top=5, then nextLinks are absolute, same-origin, keep the
    query, and the pages neither overlap nor skip."""
    arm = Arm(paging_emu)
    params = {"$top": 5, "$filter": "properties/severity eq 'Medium'", "$orderby": "properties/createdTimeUtc asc"}
    items, links = arm.all_pages("/incidents", params)
    titles = [i["properties"]["title"] for i in items]
    assert titles == [f"Incident {d:02d}" for d in range(1, 24)]
    assert len(links) == 4
    for link in links:
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == paging_emu.base_url
        query = parse_qs(parts.query)
        assert query["api-version"] == [API]
        assert query["$top"] == ["5"]
        assert query["$filter"] == [params["$filter"]]
        assert query["$orderby"] == [params["$orderby"]]
        assert query["$skipToken"]


def test_pages_stay_consistent_when_incidents_arrive_between_pages(paging_emu):
    """Given a paged listing in progress, when incidents are added before, inside and after the
    remaining range, then no incident is returned twice and none of the original ones is skipped."""
    arm = Arm(paging_emu)
    first = arm.call("GET", "/incidents", params={"$top": 5, "$orderby": "properties/createdTimeUtc asc"}).json()
    store = paging_emu.store
    store.add_incident("Late but old", created=datetime(2026, 1, 15, tzinfo=timezone.utc))
    store.add_incident("Inside the rest", created=datetime(2026, 2, 10, 18, tzinfo=timezone.utc))
    store.add_incident("Newest", created=datetime(2026, 2, 28, tzinfo=timezone.utc))
    seen = [i["properties"]["title"] for i in first["value"]]
    link = first["nextLink"]
    while link:
        page = arm.call("GET", "", url=link).json()
        seen += [i["properties"]["title"] for i in page["value"]]
        link = page.get("nextLink")
        if link and len(seen) == 10:
            store.add_incident("Added mid-way", created=datetime(2026, 2, 27, tzinfo=timezone.utc))
    assert len(seen) == len(set(seen))
    assert {f"Incident {d:02d}" for d in range(1, 24)} <= set(seen)
    assert {"Inside the rest", "Newest", "Added mid-way"} <= set(seen)
    assert "Late but old" not in seen  # it sorts before the position already returned


def test_default_page_size_is_50_and_top_is_capped_at_1000():
    """Given 60 incidents and no $top, the first page has 50; $top above 1000 is a 400."""
    with Emulator(seed=60) as emu:
        arm = Arm(emu)
        first = arm.call("GET", "/incidents").json()
        assert len(first["value"]) == 50 and first["nextLink"]
        too_big = arm.call("GET", "/incidents", params={"$top": 1001})
        assert too_big.status_code == 400
        assert too_big.json()["error"]["code"] in ("BadRequest", "InvalidParameter")


def test_a_skip_token_from_another_query_is_rejected(paging_emu):
    arm = Arm(paging_emu)
    link = arm.call("GET", "/incidents", params={"$top": 2}).json()["nextLink"]
    token = parse_qs(urlsplit(link).query)["$skipToken"][0]
    response = arm.call("GET", "/incidents", params={"$top": 2, "$orderby": "name asc", "$skipToken": token})
    assert response.status_code == 400


# endregion

# region OData $filter / $orderby

FILTER_CASES = [
    pytest.param("properties/severity eq 'High'", {"A"}, id="eq"),
    pytest.param("properties/severity ne 'High'", {"B", "C", "D"}, id="ne"),
    pytest.param("properties/incidentNumber gt 2", {"C", "D"}, id="gt-number"),
    pytest.param("properties/incidentNumber ge 2 and properties/incidentNumber le 3", {"B", "C"}, id="ge-le"),
    pytest.param("properties/createdTimeUtc ge 2026-01-02T00:00:00Z", {"B", "C", "D"}, id="datetime-unquoted"),
    pytest.param("properties/createdTimeUtc lt '2026-01-02T00:00:00.0000000Z'", {"A"}, id="datetime-quoted"),
    pytest.param("properties/lastModifiedTimeUtc gt 2026-01-04T00:00:00Z", {"B"}, id="last-modified"),
    pytest.param("properties/status eq 'New' or properties/status eq 'Active'", {"A", "B", "D"}, id="or"),
    pytest.param("not (properties/status eq 'Closed')", {"A", "B", "D"}, id="not-parens"),
    pytest.param("(properties/severity eq 'High' or properties/severity eq 'Low') and properties/status ne 'Closed'",
                 {"A"}, id="nested"),
    pytest.param("contains(properties/title,'lpha')", {"A", "C"}, id="contains"),
    pytest.param("contains(properties/title, 'alpha') eq false", {"A", "B", "D"}, id="contains-eq-false"),
    pytest.param("startswith(properties/title,'Gam')", {"C"}, id="startswith"),
    pytest.param("search.in(properties/severity, 'High,Low', ',')", {"A", "C"}, id="search.in"),
    pytest.param("properties/title eq 'Alpha it''s here'", {"A"}, id="quote-escape"),
    pytest.param("properties/additionalData/alertsCount gt 1", {"A"}, id="nested-path"),
    pytest.param("properties/classification eq 'FalsePositive'", {"C"}, id="classification"),
    pytest.param("properties/owner/assignedTo eq null", {"A", "B", "C", "D"}, id="null"),
]


@pytest.fixture(scope="module")
def filter_emu():
    clock = FakeClock(datetime(2026, 1, 3, 12, tzinfo=timezone.utc))
    with Emulator(seed=0, clock=clock) as emu:
        store = emu.store
        a = store.add_incident("Alpha it's here", "High", "New", alerts=2,
                               created=datetime(2026, 1, 1, 10, tzinfo=timezone.utc))
        b = store.add_incident("Beta", "Medium", "Active", created=datetime(2026, 1, 2, tzinfo=timezone.utc))
        store.add_incident("Gamma alpha", "Low", "Closed", classification="FalsePositive",
                           created=datetime(2026, 1, 3, tzinfo=timezone.utc))
        store.add_incident("Delta", "Informational", "New", created=datetime(2026, 1, 4, tzinfo=timezone.utc))
        clock.set(datetime(2026, 1, 5, tzinfo=timezone.utc))
        store.modify_incident(b["name"], description="touched")
        emu.labels = {"Alpha it's here": "A", "Beta": "B", "Gamma alpha": "C", "Delta": "D", a["name"]: "A"}
        yield emu


@pytest.mark.parametrize("expression, expected", FILTER_CASES)
def test_filter_expressions(filter_emu, expression, expected):
    """Given four known incidents, when listing with a $filter, then exactly the matching ones come back."""
    response = Arm(filter_emu).call("GET", "/incidents", params={"$filter": expression})
    assert response.status_code == 200, response.text
    assert {filter_emu.labels[i["properties"]["title"]] for i in response.json()["value"]} == expected


@pytest.mark.parametrize("expression", [
    pytest.param("properties/severity eq", id="missing-operand"),
    pytest.param("properties/severity = 'High'", id="bad-operator"),
    pytest.param("contains(properties/title 'x')", id="missing-comma"),
    pytest.param("properties/severity eq 'High' and", id="dangling-and"),
    pytest.param("properties/title eq 'unterminated", id="unterminated-string"),
    pytest.param("(properties/severity eq 'High'", id="unbalanced"),
    pytest.param("properties/severty eq 'High'", id="unknown-property"),
    pytest.param("properties/severity eq 'High' properties/status eq 'New'", id="missing-and"),
])
def test_invalid_filters_are_400_with_a_clear_message(filter_emu, expression):
    response = Arm(filter_emu).call("GET", "/incidents", params={"$filter": expression})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert "$filter" in error["message"] or "property" in error["message"]


def test_orderby_with_several_keys(filter_emu):
    arm = Arm(filter_emu)
    body = arm.call("GET", "/incidents", params={"$orderby": "properties/status asc, properties/incidentNumber desc"})
    order = [filter_emu.labels[i["properties"]["title"]] for i in body.json()["value"]]
    assert order == ["B", "C", "D", "A"]  # Active, Closed, New (4 then 1)
    assert arm.call("GET", "/incidents", params={"$orderby": "properties/title sideways"}).status_code == 400


# endregion

# region writes, etags and errors


def test_stale_etag_is_409_and_no_etag_is_last_writer_wins(arm):
    """Given an incident, a PUT with its etag succeeds, a PUT with the old etag is a 409, a PUT without one wins."""
    path = "/incidents/0b4c5d6e-7f80-4a91-b2c3-d4e5f6a7b8c9"
    body = {"properties": {"title": "Created by test", "severity": "Low", "status": "New"}}
    created = arm.call("PUT", path, json=body)
    assert created.status_code == 201
    first = created.json()
    assert_spec(first, "Incidents.json", "Incident")
    assert first["properties"]["incidentNumber"] > 12

    fresh = arm.call("PUT", path, json={"etag": first["etag"], "properties": {
        "title": "Escalated", "severity": "High", "status": "Active"}})
    assert fresh.status_code == 200
    assert fresh.json()["etag"] != first["etag"]
    assert fresh.json()["properties"]["lastModifiedTimeUtc"] >= first["properties"]["lastModifiedTimeUtc"]

    stale = arm.call("PUT", path, json={"etag": first["etag"], "properties": {
        "title": "Lost update", "severity": "Low", "status": "New"}})
    assert stale.status_code == 409
    incident_id = first["id"]
    assert stale.json() == {"error": {"code": "Conflict",
                                      "message": f"Newer version of resource '{incident_id}' exists. "
                                                 "Data was not saved"}}
    assert arm.call("GET", path).json()["properties"]["title"] == "Escalated"

    blind = arm.call("PUT", path, json={"properties": {"title": "Blind", "severity": "Medium", "status": "Active"}})
    assert blind.status_code == 200 and blind.json()["properties"]["title"] == "Blind"


@pytest.mark.parametrize("properties, fragment", [
    pytest.param({"severity": "High", "status": "New"}, "title", id="no-title"),
    pytest.param({"title": "x", "status": "New"}, "severity", id="no-severity"),
    pytest.param({"title": "x", "severity": "High"}, "status", id="no-status"),
    pytest.param({"title": "x", "severity": "Critical", "status": "New"}, "severity", id="bad-severity"),
    pytest.param({"title": "x", "severity": "High", "status": "Closed"}, "classification", id="close-unclassified"),
])
def test_incident_put_validation(arm, properties, fragment):
    response = arm.call("PUT", "/incidents/a6f0c7d2-1111-4b2b-9c3c-5d5e6f708192", json={"properties": properties})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_read_only_properties_in_a_put_are_ignored(arm):
    response = arm.call("PUT", "/incidents/b7a1d8e3-2222-4c3c-8d4d-6e6f70819203", json={"properties": {
        "title": "x", "severity": "High", "status": "New", "incidentNumber": 999999, "madeUp": 1}})
    assert response.status_code == 201
    assert response.json()["properties"]["incidentNumber"] != 999999
    assert "madeUp" not in response.json()["properties"]


def test_delete_incident(arm, seeded):
    name = seeded.store.add_incident("To delete")["name"]
    assert arm.call("DELETE", f"/incidents/{name}").status_code == 200
    assert arm.call("GET", f"/incidents/{name}").status_code == 404
    assert arm.call("DELETE", f"/incidents/{name}").status_code == 204


def test_api_version_is_required_and_checked(arm):
    missing = arm.call("GET", "/incidents", api_version=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    wrong = arm.call("GET", "/incidents", api_version="2019-01-01-preview")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "InvalidApiVersionParameter"
    for version in ("2024-03-01", "2025-06-01", "2025-09-01", "2025-12-01"):
        assert arm.call("GET", "/incidents", api_version=version, params={"$top": 1}).status_code == 200


@pytest.mark.parametrize("header, code", [
    pytest.param(None, "AuthenticationFailed", id="missing"),
    pytest.param("Basic abc", "AuthenticationFailed", id="wrong-scheme"),
    pytest.param("Bearer not-a-token", "InvalidAuthenticationToken", id="unknown-token"),
])
def test_bad_or_missing_bearer_is_401(arm, header, code):
    headers = {"Authorization": header} if header else {}
    response = arm.session.get(f"{arm.ws}/incidents", params={"api-version": API}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_expired_token_is_401():
    clock = FakeClock()
    with Emulator(seed=1, clock=clock) as emu:
        arm = Arm(emu)
        assert arm.call("GET", "/incidents").status_code == 200
        clock.advance(3601)
        response = arm.call("GET", "/incidents")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert "expiry" in response.json()["error"]["message"]


def test_token_for_another_audience_is_401(arm):
    response = arm.session.post(f"{arm.emu.base_url}/{arm.emu.tenant_id}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": arm.emu.client_id,
        "client_secret": arm.emu.client_secret, "scope": "https://graph.microsoft.com/.default"})
    other = Arm(arm.emu, token=response.json()["access_token"])
    assert other.call("GET", "/incidents").status_code == 401


def test_unknown_workspace_and_incident_are_404(arm):
    wrong_ws = arm.ws.replace(f"/workspaces/{arm.emu.workspace_name}/", "/workspaces/nope-ws/")
    response = arm.call("GET", f"{wrong_ws}/incidents")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceNotFound"
    missing = arm.call("GET", "/incidents/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "error" in missing.json()


def test_fixed_path_segments_are_case_insensitive(arm):
    url = arm.ws.replace("resourceGroups", "resourcegroups").replace("Microsoft.OperationalInsights",
                                                                     "microsoft.operationalinsights")
    url = url.replace("/providers/Microsoft.SecurityInsights", "/PROVIDERS/microsoft.securityinsights")
    assert arm.call("GET", f"{url}/Incidents", params={"$top": 1}).status_code == 200


def test_hidden_incidents_take_a_number_but_stay_invisible_until_revealed(seeded, arm):
    hidden = seeded.store.add_incident("Late arrival", hidden=True)
    later = seeded.store.add_incident("Visible sooner")
    assert later["properties"]["incidentNumber"] == hidden["properties"]["incidentNumber"] + 1
    assert arm.call("GET", f"/incidents/{hidden['name']}").status_code == 404
    listed = arm.call("GET", "/incidents", params={"$filter": "contains(properties/title,'Late arrival')"})
    assert listed.json()["value"] == []
    seeded.store.reveal(hidden["name"])
    assert arm.call("GET", f"/incidents/{hidden['name']}").status_code == 200


def test_request_log_names_the_principal_and_never_the_token(seeded, arm):
    arm.call("GET", "/incidents", params={"$top": 1})
    record = seeded.requests[-1]
    assert record.principal == seeded.client_id
    assert record.status == 200 and record.method == "GET" and record.path.endswith("/incidents")
    assert record.query["$top"] == "1"
    assert all(arm.token not in repr(r) for r in seeded.requests)
    assert all(seeded.client_secret not in repr(r) for r in seeded.requests)


def test_http_mode_serves_plain_http_on_loopback():
    with Emulator(seed=2, tls=False) as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert emu.ca_path is None and "REQUESTS_CA_BUNDLE" not in emu.env()
        assert Arm(emu).call("GET", "/incidents").status_code == 200


# endregion

# region seeding


def test_seeding_is_deterministic():
    def summary(emu: Emulator) -> list[tuple]:
        return [(i["name"], i["properties"]["title"], i["properties"]["severity"], i["properties"]["status"],
                 i["properties"]["createdTimeUtc"], i["properties"]["additionalData"]["alertsCount"])
                for i in emu.store.incidents()]

    clock = FakeClock()
    assert summary(Emulator(seed=9, clock=clock)) == summary(Emulator(seed=9, clock=clock))
    assert summary(Emulator(seed=9, clock=clock)) != summary(Emulator(seed=10, clock=clock))[:9]


def test_live_feed_creates_and_escalates():
    from sentinel_emulator.seed import LiveFeed

    emu = Emulator(seed=5, clock=FakeClock())
    feed = LiveFeed(emu.store, seed=5)
    actions = [feed.step() for _ in range(40)]
    assert {"create", "escalate", "status"} <= set(actions)
    assert len(emu.store.incidents()) == 5 + actions.count("create")
    assert all(i["properties"]["severity"] in ("High", "Medium", "Low", "Informational")
               for i in emu.store.incidents())


# endregion


def test_live_mode_runs_a_background_feed_and_stops_with_the_emulator():
    """Given live=True, the workspace changes on its own; stop() ends the feed thread."""
    import threading

    with Emulator(seed=2, live=True, live_interval=0.01) as emu:
        before = [(i["name"], i["etag"]) for i in emu.store.incidents()]
        changed = threading.Event()
        for _ in range(500):
            if [(i["name"], i["etag"]) for i in emu.store.incidents()] != before:
                changed.set()
                break
            changed.wait(0.01)
        assert changed.is_set()
        feed = emu._live
    assert emu._live is None and not feed._thread.is_alive()

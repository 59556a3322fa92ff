"""The Log Analytics query API on its own origin: its own token audience (and ARM refuses it), the
workspace customerId, the timespan, SecurityIncident/SecurityAlert over the emulator's state, the
error shapes of the real service, partial results, and one request log for both hosts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from sentinel_emulator import Emulator, FakeClock
from sentinel_emulator.testing import trusting_session

from test_emulator_api import Arm

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def emu():
    clock = FakeClock(START)
    with Emulator(seed=0, clock=clock) as emulator:
        store = emulator.store
        clock.set(START - timedelta(days=3))
        store.add_incident("Old one", "High", alerts=1, tactics=["Impact"])
        clock.set(START - timedelta(hours=2))
        store.add_incident("Recent high", "High", alerts=2, tactics=["Execution"], product_name="Microsoft Defender "
                                                                                                "for Endpoint")
        store.add_incident("Recent low", "Low", "Active", alerts=1, labels=["vip"])
        store.add_incident("Not yet visible", "High", hidden=True)
        clock.set(START)
        yield emulator


def token_for(emu: Emulator, audience: str) -> str:
    response = trusting_session(emu.ca_path).post(f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
        "scope": f"{audience}/.default"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def query(emu):
    session = trusting_session(emu.ca_path)
    token = token_for(emu, emu.query_url)

    def post(text: str, timespan: str | None = None, workspace: str | None = None, bearer: str | None = token):
        body = {"query": text} if timespan is None else {"query": text, "timespan": timespan}
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return session.post(f"{emu.query_url}/v1/workspaces/{workspace or emu.workspace.customer_id}/query",
                            json=body, headers=headers)

    post.token = token
    return post


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.text
    table = response.json()["tables"][0]
    assert table["name"] == "PrimaryResult"
    names = [c["name"] for c in table["columns"]]
    return [dict(zip(names, row)) for row in table["rows"]]


# region origin and tokens


def test_the_query_api_has_its_own_origin_and_is_in_the_params(emu):
    assert urlsplit(emu.query_url).hostname == "127.0.0.1"
    assert emu.query_url != emu.base_url and not emu.query_url.endswith("/")
    assert emu.params()["log_analytics_url"] == emu.query_url
    assert emu.certificate_params()["log_analytics_url"] == emu.query_url


def test_each_token_works_only_on_its_own_host(emu, query):
    """Given an ARM token and a query token, each works on its own host and is refused by the other one."""
    arm_token = token_for(emu, emu.base_url)
    refused_here = query("SecurityIncident | take 1", bearer=arm_token)
    assert refused_here.status_code == 403
    assert refused_here.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    assert rows_of(query("SecurityIncident | take 1"))
    arm_with_query_token = Arm(emu, token=query.token)
    refused_by_arm = arm_with_query_token.call("GET", "/incidents")
    assert refused_by_arm.status_code == 401
    assert refused_by_arm.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert Arm(emu, token=arm_token).call("GET", "/incidents").status_code == 200


def test_managed_identity_gets_a_query_token_by_resource(emu, query):
    session = trusting_session(emu.ca_path)
    response = session.get(f"{emu.base_url}/msi/token", params={"api-version": "2019-08-01", "resource": emu.query_url},
                           headers={"X-IDENTITY-HEADER": emu.identity.identity_header})
    assert response.status_code == 200
    assert rows_of(query("SecurityIncident | count", bearer=response.json()["access_token"])) == [{"Count": 3}]


@pytest.mark.parametrize(("bearer", "status", "code"), [
    pytest.param(None, 401, "AuthenticationFailed", id="no-token"),
    pytest.param("not-a-token", 403, "InvalidAuthenticationToken", id="unknown-token"),
])
def test_bad_tokens(query, bearer, status, code):
    response = query("SecurityIncident", bearer=bearer)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_the_request_log_names_the_host_and_never_the_token(emu, query):
    query("SecurityIncident | take 1")
    record = emu.requests[-1]
    assert record.host == urlsplit(emu.query_url).netloc and record.endpoint == "query"
    assert record.status == 200 and record.principal == emu.client_id
    assert all(query.token not in repr(r) for r in emu.requests)


# endregion

# region workspace, body, timespan


def test_unknown_and_malformed_workspaces_are_404(query):
    unknown = query("SecurityIncident", workspace=str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "WorkspaceNotFoundError"
    malformed = query("SecurityIncident", workspace="sentinel-ws")
    assert malformed.status_code == 404 and malformed.json()["error"]["code"] == "PathNotFoundError"


def test_get_with_query_string(emu, query):
    response = trusting_session(emu.ca_path).get(
        f"{emu.query_url}/v1/workspaces/{emu.workspace.customer_id}/query",
        params={"query": "SecurityIncident | project Title | sort by Title asc", "timespan": "PT3H"},
        headers={"Authorization": f"Bearer {query.token}"})
    assert [r["Title"] for r in rows_of(response)] == ["Recent high", "Recent low"]


@pytest.mark.parametrize(("timespan", "expected"), [
    pytest.param(None, {"Old one", "Recent high", "Recent low"}, id="none"),
    pytest.param("P1D", {"Recent high", "Recent low"}, id="duration"),
    pytest.param("PT1H", set(), id="short-duration"),
    pytest.param("2026-02-25T00:00:00Z/2026-02-27T00:00:00Z", {"Old one"}, id="interval"),
    pytest.param("2026-02-25T00:00:00Z/P1D", {"Old one"}, id="start-and-duration"),
    pytest.param("P1D/2026-03-01T00:00:00Z", {"Recent high", "Recent low"}, id="duration-and-end"),
])
def test_timespan_applies_to_time_generated(query, timespan, expected):
    assert {r["Title"] for r in rows_of(query("SecurityIncident | project Title", timespan))} == expected


@pytest.mark.parametrize("body", [
    pytest.param({"query": "SecurityIncident", "timespan": "yesterday"}, id="bad-timespan"),
    pytest.param({"timespan": "P1D"}, id="no-query"),
    pytest.param({"query": ["SecurityIncident"]}, id="query-not-a-string"),
    pytest.param(["SecurityIncident"], id="body-not-an-object"),
])
def test_bad_bodies_are_bad_argument_errors(emu, query, body):
    response = trusting_session(emu.ca_path).post(
        f"{emu.query_url}/v1/workspaces/{emu.workspace.customer_id}/query", json=body,
        headers={"Authorization": f"Bearer {query.token}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadArgumentError"


# endregion

# region tables over the state


def test_security_incident_rows_follow_the_store(emu, query):
    """Given the store's incidents, the SecurityIncident rows carry their fields with LA column types."""
    response = query("SecurityIncident | where Severity == 'High' | sort by IncidentNumber asc")
    table = response.json()["tables"][0]
    types = {c["name"]: c["type"] for c in table["columns"]}
    assert types["TimeGenerated"] == "datetime" and types["IncidentNumber"] == "int"
    assert types["Owner"] == types["Labels"] == types["AlertIds"] == "dynamic"
    rows = rows_of(response)
    assert [r["Title"] for r in rows] == ["Old one", "Recent high"], "hidden incidents are not in the table"
    stored = {i["name"]: i for i in emu.store.incidents()}
    first = rows[0]
    incident = stored[first["IncidentName"]]["properties"]
    assert first["IncidentNumber"] == incident["incidentNumber"]
    assert first["ProviderName"] == incident["providerName"]
    assert first["IncidentUrl"] == incident["incidentUrl"]
    assert first["AlertIds"].startswith("[") and first["CreatedTime"].endswith("Z")


def test_security_alert_rows(query):
    rows = rows_of(query("SecurityAlert | where ProductName == 'Microsoft Defender for Endpoint' "
                         "| project AlertName, AlertSeverity, Tactics, ProviderName, Entities"))
    assert len(rows) == 2
    assert all(r["AlertName"] == "Recent high" and r["AlertSeverity"] == "High" for r in rows)
    assert rows[0]["Tactics"] == "Execution" and rows[0]["ProviderName"] == "MDATP"


def test_summarize_over_the_state(query):
    rows = rows_of(query("SecurityIncident | summarize count() by Severity"))
    assert {r["Severity"]: r["count_"] for r in rows} == {"High": 2, "Low": 1}


def test_queries_see_changes_at_once():
    with Emulator(seed=1) as emu:
        emu.store.add_incident("Brand new", "Informational")
        response = trusting_session(emu.ca_path).post(
            f"{emu.query_url}/v1/workspaces/{emu.workspace.customer_id}/query",
            json={"query": "SecurityIncident | where Title == 'Brand new' | project Severity"},
            headers={"Authorization": f"Bearer {token_for(emu, emu.query_url)}"})
        assert rows_of(response) == [{"Severity": "Informational"}]


# endregion

# region errors and partial results


def test_a_syntax_error_has_the_service_shape(query):
    response = query("SecurityIncident | where Severity == 'High' | extend x = 1")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "The request had some invalid properties" and error["code"] == "BadArgumentError"
    uuid.UUID(error["correlationId"])
    assert error["innererror"]["code"] == "SyntaxError"
    assert error["innererror"]["message"] == "A recognition error occurred in the query."
    assert error["innererror"]["innererror"] == {
        "code": "SYN0002", "message": "Query could not be parsed at 'extend' on line [1,46]",
        "line": 1, "pos": 46, "token": "extend"}


def test_an_unknown_column_is_a_semantic_error(query):
    response = query("SecurityIncident | where Sevrity == 'High'")
    assert response.status_code == 400
    inner = response.json()["error"]["innererror"]
    assert inner["code"] == "SemanticError" and inner["innererror"]["code"] == "SEM0100"
    assert "'Sevrity'" in inner["innererror"]["message"]


def test_partial_results_carry_the_rows_and_a_partial_error(emu, query):
    emu.set_query_partial(True)
    try:
        response = query("SecurityIncident | take 2")
    finally:
        emu.set_query_partial(False)
    assert response.status_code == 200
    body = response.json()
    assert len(body["tables"][0]["rows"]) == 2
    assert body["error"]["code"] == "PartialError" and body["error"]["details"][0]["code"] == "EngineError"
    assert "error" not in query("SecurityIncident | take 2").json()


def test_query_scoped_faults_hit_only_the_query_host():
    with Emulator(seed=2, faults="query:503=1,retry_after=4") as emu:
        token = token_for(emu, emu.query_url)
        response = trusting_session(emu.ca_path).post(
            f"{emu.query_url}/v1/workspaces/{emu.workspace.customer_id}/query", json={"query": "SecurityIncident"},
            headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "4"
        assert Arm(emu).call("GET", "/incidents").status_code == 200
        emu.set_faults("query:partial=1")
        partial = trusting_session(emu.ca_path).post(
            f"{emu.query_url}/v1/workspaces/{emu.workspace.customer_id}/query", json={"query": "SecurityIncident"},
            headers={"Authorization": f"Bearer {token}"})
        assert partial.status_code == 200 and partial.json()["error"]["code"] == "PartialError"
        assert emu.requests[-1].fault == "partial"


# endregion

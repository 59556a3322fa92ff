"""The emulator answers as ARM and the 2025-12-01 spec say: DELETE shapes, empty answers, request
bodies checked against the spec's request schemas, malformed names in the path refused, and one
direction of dependencies between state, views and store."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sentinel_emulator
from sentinel_emulator import Emulator, routing
from sentinel_emulator.schema import spec_validator

from test_emulator_api import Arm

PACKAGE = Path(sentinel_emulator.__file__).resolve().parent
INCIDENT = {"title": "Conformance", "severity": "High", "status": "New"}
AUTOMATION_RULE = {"properties": {
    "displayName": "Rule", "order": 3,
    "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created"},
    "actions": [{"order": 1, "actionType": "ModifyProperties", "actionConfiguration": {"severity": "High"}}]}}


@pytest.fixture(scope="module")
def emu():
    with Emulator(seed=4) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def arm(emu):
    return Arm(emu)


@pytest.fixture(scope="module")
def incident(emu):
    return emu.store.incidents()[0]["name"]


# region DELETE and empty answers


def test_automation_rule_delete_answers_the_spec_shape(arm):
    """Given an automation rule, when it is deleted, then 200 carries the JSON object the spec declares
    (`{}`, which Microsoft's SDK parses); deleting it again is 204 with no body and no content type."""
    assert arm.call("PUT", "/automationRules/rule-to-delete", json=AUTOMATION_RULE).status_code == 201
    first = arm.call("DELETE", "/automationRules/rule-to-delete")
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.json() == {}
    again = arm.call("DELETE", "/automationRules/rule-to-delete")
    assert again.status_code == 204
    assert again.content == b"" and "Content-Type" not in again.headers


@pytest.mark.parametrize("path", [
    pytest.param("/incidents/3a0e7a1c-0000-4000-8000-00000000dead", id="incident"),
    pytest.param("/bookmarks/3a0e7a1c-0000-4000-8000-00000000dead", id="bookmark"),
    pytest.param("/alertRules/3a0e7a1c-0000-4000-8000-00000000dead", id="alert-rule"),
    pytest.param("/watchlists/noSuchWatchlist", id="watchlist"),
    pytest.param("/threatIntelligence/main/indicators/3a0e7a1c-0000-4000-8000-00000000dead", id="indicator"),
])
def test_every_204_is_empty_without_a_content_type(arm, path):
    """Given a resource that does not exist, when it is deleted, then 204 has no body and no Content-Type."""
    response = arm.call("DELETE", path)
    assert response.status_code == 204
    assert response.content == b"" and "Content-Type" not in response.headers


def test_an_empty_200_has_no_content_type(arm, emu):
    """Given an indicator, when tags are appended (200 without a schema), then no text/plain type is sent."""
    name = next(emu.store.records("indicators")).name
    response = arm.call("POST", f"/threatIntelligence/main/indicators/{name}/appendTags",
                        json={"threatIntelligenceTags": ["conformance"]})
    assert response.status_code == 200
    assert response.content == b"" and "Content-Type" not in response.headers


# endregion

# region request bodies


BAD_BODIES = [
    pytest.param("/incidents/{incident}", {"properties": {**INCIDENT, "title": {"text": "x"}}},
                 "InvalidRequestContent", "properties.title", id="object-for-string"),
    pytest.param("/incidents/{incident}", {"properties": {**INCIDENT, "severity": "Critical"}},
                 "BadRequest", "properties.severity", id="unknown-enum"),
    pytest.param("/incidents/{incident}", {"properties": {**INCIDENT, "owner": {"ownerType": 7}}},
                 "InvalidRequestContent", "properties.owner.ownerType", id="nested-type"),
    pytest.param("/incidents/{incident}", {"properties": {**INCIDENT, "labels": [{"labelName": ["a"]}]}},
                 "InvalidRequestContent", "properties.labels[0].labelName", id="array-item-type"),
    pytest.param("/incidents/{incident}", {"properties": {**INCIDENT, "firstActivityTimeUtc": "yesterday"}},
                 "InvalidRequestContent", "properties.firstActivityTimeUtc", id="date-time"),
    pytest.param("/incidents/{incident}", {"properties": {"severity": "High", "status": "New"}},
                 "BadRequest", "properties.title", id="missing-required"),
    pytest.param("/incidents/{incident}", ["not", "an", "object"], "InvalidRequestContent", "request body",
                 id="array-body"),
    pytest.param("/incidents/{incident}/comments/c-1", {"properties": {"message": 42}},
                 "InvalidRequestContent", "properties.message", id="comment-number"),
    pytest.param("/incidents/{incident}/tasks/t-1", {"properties": {"title": "x", "status": "Done"}},
                 "BadRequest", "properties.status", id="task-status"),
    pytest.param("/automationRules/r-1", {"properties": {**AUTOMATION_RULE["properties"], "triggeringLogic": {
        "isEnabled": "yes", "triggersOn": "Incidents", "triggersWhen": "Created"}}},
                 "InvalidRequestContent", "properties.triggeringLogic.isEnabled", id="automation-nested-bool"),
    pytest.param("/alertRules/r-1", {"kind": "Scheduled", "properties": {
        "displayName": "x", "enabled": True, "severity": "High", "query": "T", "queryFrequency": "every hour",
        "queryPeriod": "P1D", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionEnabled": False, "suppressionDuration": "PT1H"}},
                 "InvalidRequestContent", "properties.queryFrequency", id="duration"),
    pytest.param("/alertRules/r-1", {"kind": "Sometimes", "properties": {}}, "BadRequest", "kind",
                 id="unknown-kind"),
    pytest.param("/watchlists/wl1", {"properties": {"displayName": "x", "itemsSearchKey": "k"}},
                 "BadRequest", "properties.provider", id="watchlist-missing-provider"),
    pytest.param("/threatIntelligence/main/queryIndicators", {"pageSize": "ten"}, "InvalidRequestContent",
                 "pageSize", id="query-criteria-type"),
    pytest.param("/threatIntelligence/main/queryIndicators", {"sortBy": [{"itemKey": "x", "sortOrder": "up"}]},
                 "BadRequest", "sortBy[0].sortOrder", id="query-criteria-enum"),
]


@pytest.mark.parametrize(("path", "body", "code", "where"), BAD_BODIES)
def test_request_bodies_are_checked_against_the_spec(arm, incident, path, body, code, where):
    """Given a body that does not fit the operation's request schema, when it is sent, then ARM's 400
    comes back, naming the property and why, and nothing is stored."""
    target = path.format(incident=incident)
    before = arm.call("GET", target).json() if "{incident}" in path and path.endswith("}") else None
    method = "POST" if target.endswith("queryIndicators") else "PUT"
    response = arm.call(method, target, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert where in error["message"]
    if before is not None:
        assert arm.call("GET", target).json() == before


def test_read_only_and_unknown_properties_in_a_request_are_ignored(arm, incident):
    """Given an incident read back with its read-only fields and an unknown one, when it is PUT again, then 200."""
    current = arm.call("GET", f"/incidents/{incident}").json()
    current["properties"]["notInTheSpec"] = {"any": "thing"}
    response = arm.call("PUT", f"/incidents/{incident}", json=current)
    assert response.status_code == 200, response.text


def test_replace_tags_without_kind_is_accepted(arm, emu):
    """Given the official integration's replaceTags body (no kind: the body is the indicator subtype), then 200."""
    name = next(emu.store.records("indicators")).name
    response = arm.call("POST", f"/threatIntelligence/main/indicators/{name}/replaceTags",
                        json={"properties": {"threatIntelligenceTags": ["replaced"]}})
    assert response.status_code == 200, response.text


def test_every_spec_body_operation_is_checked():
    """Given the routes, every PUT/POST the spec gives a body schema is bound to that operation."""
    _, routes = routing.build_map({})
    bound = {r.operation.operation_id for r in routes.values() if r.operation is not None and r.operation.body}
    with_body = {op.operation_id for op in spec_validator().operations() if op.body is not None}
    assert with_body - bound == {"Incidents_RunPlaybook", "Entities_RunPlaybook"}


# endregion

# region names in the path


@pytest.mark.parametrize(("path", "code"), [
    pytest.param("/incidents/abc\x01def", "InvalidResourceName", id="control-character"),
    pytest.param("/incidents/abc\x7f", "InvalidResourceName", id="delete-character"),
    pytest.param("/bookmarks/a<script>", "InvalidResourceName", id="angle-bracket"),
    pytest.param("/watchlists/a:b", "InvalidResourceName", id="colon"),
    pytest.param("/watchlists/trailing.", "InvalidResourceName", id="trailing-dot"),
    pytest.param("/incidents/{incident}/relations/ab", "BadRequest", id="relation-pattern"),
    pytest.param("/incidents/{incident}/comments/%25", "InvalidResourceName", id="percent"),
])
def test_malformed_names_in_the_path_are_400(arm, incident, path, code):
    """Given a resource name ARM would refuse, when it is used in a path, then 400 names it (escaped)."""
    response = arm.call("GET", path.format(incident=incident)) if "%" not in path else arm.session.get(
        f"{arm.ws}{path.format(incident=incident)}", params={"api-version": "2025-12-01"},
        headers={"Authorization": f"Bearer {arm.token}"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "\x01" not in error["message"] and "\x7f" not in error["message"]


def test_malformed_subscription_and_group_are_400(arm, emu):
    bad_sub = arm.call("GET", arm.ws.replace(emu.subscription_id, "not-a-guid") + "/incidents")
    assert bad_sub.status_code == 400 and bad_sub.json()["error"]["code"] == "InvalidSubscriptionId"
    bad_group = arm.call("GET", arm.ws.replace(f"/{emu.resource_group}/", "/my group/") + "/incidents")
    assert bad_group.status_code == 400 and bad_group.json()["error"]["code"] == "InvalidResourceGroup"


# endregion

# region module structure


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_state_views_and_store_depend_one_way():
    """state <- views <- store: the data never imports its renderers, the renderers never the store."""
    assert not {"views", "store"} & _imports("state")
    assert "store" not in _imports("views")
    assert {"state", "views"} <= _imports("store")


# endregion

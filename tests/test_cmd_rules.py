"""Analytics (alert) rules, rule templates and automation rules, through the platform stand-in.

Recorded payloads come from the spec's AlertRules/AutomationRules examples (AzureSentinel/test_data);
writes go to a small fake ARM collection that keeps etags and answers 409 to a stale one, as ARM does.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from module_helpers import WS_URL, arm_requests, context_value, load_json, only_entry, only_error, query, run
from sentinel_emulator import Emulator
from xsoar_local import cli

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = {c["name"]: c for c in yaml.safe_load(
    (ROOT / "AzureSentinel" / "AzureSentinel.yml").read_text(encoding="utf-8"))["script"]["commands"]}
RULE_ID = "73e01a99-5cd7-4139-a149-9f2736ff2ab5"
RULE_URL = f"{WS_URL}/alertRules/{RULE_ID}"
FUSION_URL = f"{WS_URL}/alertRules/myFirstFusionRule"
AUTO_URL = f"{WS_URL}/automationRules/{RULE_ID}"
ALERT_RULE = "AzureSentinel.AlertRule("
AUTOMATION_RULE = "AzureSentinel.AutomationRule("
NOT_FOUND = {"status_code": 404, "json": {"error": {"code": "NotFound", "message": "Resource not found."}}}
SCHEDULED_ARGS = {
    "rule_name": RULE_ID, "kind": "scheduled", "displayName": "My scheduled rule", "enabled": "yes",
    "query": "Heartbeat", "query_frequency": "pt1h", "query_period": "P2DT1H30M", "severity": "high",
    "suppression_duration": "PT1H", "suppression_enabled": "no", "trigger_operator": "greater_than",
    "trigger_threshold": "0", "tactics": "Persistence,LateralMovement",
}


@pytest.fixture
def sleeps(monkeypatch):
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


class Resource:
    """One ARM resource with an etag: GET returns it (404 when absent), PUT with a stale etag gets 409.

    `concurrent` is applied to the stored properties right after the first GET (another writer)."""

    def __init__(self, m, url: str, stored: dict[str, Any] | None, concurrent: dict[str, Any] | None = None):
        self.stored, self.concurrent, self.puts = copy.deepcopy(stored), concurrent, []
        self.versions = itertools.count(2)
        self.get = m.get(url, json=self._get)
        m.put(url, json=self._put)

    def _get(self, request, context):
        if self.stored is None:
            context.status_code = 404
            return NOT_FOUND["json"]
        answer = copy.deepcopy(self.stored)
        if self.concurrent:
            self.stored["properties"].update(self.concurrent)
            self.stored["etag"], self.concurrent = f'"v{next(self.versions)}"', None
        return answer

    def _put(self, request, context):
        body = request.json()
        self.puts.append(body)
        if self.stored is not None and body.get("etag") != self.stored.get("etag"):
            context.status_code = 409
            return {"error": {"code": "Conflict", "message": "Newer version of resource exists. Data was not saved"}}
        context.status_code = 200 if self.stored else 201
        self.stored = {"name": urlsplit(request.url).path.rsplit("/", 1)[-1], **body,
                       "etag": f'"v{next(self.versions)}"'}
        return self.stored


def scheduled_rule(etag: str = '"v1"') -> dict[str, Any]:
    rule = load_json("alert_rule_scheduled.json")
    rule["etag"] = etag
    return rule


# -- listing alert rules and templates ---------------------------------------------------------------------


def test_list_alert_rules_puts_the_raw_rules_in_context_keyed_by_name(m):
    """Given three rules, when list-alert-rule runs, then the context holds the raw ARM objects under AlertRule."""
    m.get(f"{WS_URL}/alertRules", json=load_json("alert_rules_list.json"))
    entry = only_entry(run("azure-sentinel-list-alert-rule", {}))
    assert list(entry["EntryContext"]) == ["AzureSentinel.AlertRule(val.name && val.name == obj.name)"]
    rules = context_value(entry, ALERT_RULE)
    assert rules == load_json("alert_rules_list.json")["value"]
    assert [r["kind"] for r in rules] == ["Scheduled", "MicrosoftSecurityIncidentCreation", "Fusion"]
    assert rules[0]["properties"]["queryFrequency"] == "PT1H"
    assert "### Azure Sentinel Alert Rules (3 results)" in entry["HumanReadable"]
    assert "|Scheduled|My scheduled rule|High|True|" in entry["HumanReadable"]
    assert "$top" not in query(arm_requests(m)[0])  # the API takes no $top for alert rules


def test_list_alert_rules_follows_pages_until_the_limit_and_returns_the_next_link(m):
    """Given two pages of rules, when list-alert-rule asks for 2, then both pages are read and the rest is a NextLink."""
    rules = load_json("alert_rules_list.json")["value"]
    page2 = f"{WS_URL}/alertRules?$skipToken=p2"
    page3 = f"{WS_URL}/alertRules?$skipToken=p3"
    m.get(f"{WS_URL}/alertRules", [{"json": {"value": rules[:1], "nextLink": page2}},
                                   {"json": {"value": rules[1:2], "nextLink": page3}}])
    entry = only_entry(run("azure-sentinel-list-alert-rule", {"limit": "2"}))
    assert [r["name"] for r in context_value(entry, ALERT_RULE)] == [rules[0]["name"], rules[1]["name"]]
    assert [query(r).get("$skipToken") for r in arm_requests(m)] == [None, "p2"]
    assert context_value(entry, "AzureSentinel.NextLink")["URL"].startswith(f"{WS_URL}/alertRules?")
    assert "More remain" in entry["HumanReadable"]


def test_list_alert_rules_continues_from_a_next_link_and_refuses_one_for_another_collection(m):
    """Given a next_link of this collection, then it is followed; given one of another collection, it is refused."""
    m.get(f"{WS_URL}/alertRules", json={"value": load_json("alert_rules_list.json")["value"][2:]})
    entry = only_entry(run("azure-sentinel-list-alert-rule", {"next_link": f"{WS_URL}/alertRules?$skipToken=p2"}))
    assert [r["name"] for r in context_value(entry, ALERT_RULE)] == ["myFirstFusionRule"]
    assert query(arm_requests(m)[0])["$skipToken"] == "p2"
    message = only_error(run("azure-sentinel-list-alert-rule", {"next_link": f"{WS_URL}/incidents?$skipToken=x"}))
    assert "Refusing the link" in message and len(arm_requests(m)) == 1


def test_list_alert_rule_by_id_gets_that_rule(m):
    """Given rule_id, when list-alert-rule runs, then that one rule is read (no listing) and put in context."""
    m.get(RULE_URL, json=load_json("alert_rule_scheduled.json"))
    entry = only_entry(run("azure-sentinel-list-alert-rule", {"rule_id": RULE_ID}))
    assert [r.path for r in arm_requests(m)] == [urlsplit(RULE_URL).path.lower()]
    assert context_value(entry, ALERT_RULE) == [load_json("alert_rule_scheduled.json")]
    assert "(1 results)" in entry["HumanReadable"]


def test_list_alert_rule_templates_and_one_template(m):
    """Given the templates, when list-alert-rule-template runs with and without template_id, then the raw
    templates are in AlertRuleTemplate context."""
    m.get(f"{WS_URL}/alertRuleTemplates", json=load_json("alert_rule_templates.json"))
    m.get(f"{WS_URL}/alertRuleTemplates/65360bb0-8986-4ade-a89d-af3cf44d28aa",
          json=load_json("alert_rule_template_get.json"))
    listed = context_value(only_entry(run("azure-sentinel-list-alert-rule-template", {})), "AzureSentinel.AlertRuleTemplate(")
    assert [t["kind"] for t in listed] == ["Scheduled", "Fusion", "MicrosoftSecurityIncidentCreation"]
    one = only_entry(run("azure-sentinel-list-alert-rule-template", {"template_id": "65360bb0-8986-4ade-a89d-af3cf44d28aa"}))
    assert context_value(one, "AzureSentinel.AlertRuleTemplate(")[0]["properties"]["version"] == "1.0.2"
    assert "Changes to Amazon VPC settings" in one["HumanReadable"]


@pytest.mark.parametrize("rule_id", ["../incidents", "a/b", "x?y", "%2e%2e"])
def test_a_rule_id_that_would_leave_the_collection_is_refused_before_sending(m, rule_id):
    """Given a rule_id with a path separator or traversal, then it is one clear error and nothing is sent."""
    message = only_error(run("azure-sentinel-list-alert-rule", {"rule_id": rule_id}))
    assert f"The ID {rule_id!r} is not valid" in message
    assert arm_requests(m) == []


# -- deleting -------------------------------------------------------------------------------------------------


def test_delete_alert_rule_marks_it_deleted_and_says_when_it_did_not_exist(m):
    """Given a rule that exists and then no longer does, when delete-alert-rule runs twice, then the first marks
    it Deleted in context and the second says it does not exist (ARM answers 204)."""
    m.delete(RULE_URL, [{"status_code": 200, "json": {}}, {"status_code": 204}])
    first = only_entry(run("azure-sentinel-delete-alert-rule", {"rule_id": RULE_ID}))
    assert context_value(first, ALERT_RULE) == {"name": RULE_ID, "ID": RULE_ID, "Deleted": True}
    assert first["HumanReadable"] == f"Alert rule {RULE_ID} was deleted successfully."
    second = only_entry(run("azure-sentinel-delete-alert-rule", {"rule_id": RULE_ID}))
    assert second["HumanReadable"] == f"Alert rule {RULE_ID} does not exist." and second["EntryContext"] == {}


# -- creating alert rules -------------------------------------------------------------------------------------


def test_create_scheduled_rule_sends_the_api_values_of_the_official_arguments(m):
    """Given the official scheduled-rule arguments, when create-alert-rule runs, then the PUT body carries the
    API's spellings (Scheduled, High, GreaterThan, booleans, a number, upper-case durations)."""
    rule = Resource(m, RULE_URL, None)
    entry = only_entry(run("azure-sentinel-create-alert-rule", SCHEDULED_ARGS))
    assert rule.puts == [{"kind": "Scheduled", "properties": {
        "displayName": "My scheduled rule", "enabled": True, "query": "Heartbeat", "queryFrequency": "PT1H",
        "queryPeriod": "P2DT1H30M", "severity": "High", "suppressionDuration": "PT1H", "suppressionEnabled": False,
        "triggerOperator": "GreaterThan", "triggerThreshold": 0, "tactics": ["Persistence", "LateralMovement"]}}]
    assert context_value(entry, ALERT_RULE)["etag"] == '"v2"'
    assert "Azure Sentinel Alert Rule successfully created" in entry["HumanReadable"]


def test_create_incident_creation_rule_spells_the_product_and_severities_as_the_api(m):
    """Given product_filter and severity_filter, then they become the API's product name and severity values."""
    rule = Resource(m, f"{WS_URL}/alertRules/mcas", None)
    only_entry(run("azure-sentinel-create-alert-rule", {
        "rule_name": "mcas", "kind": "microsoft_security_incident_creation", "displayName": "From IoT",
        "enabled": "no", "product_filter": "azure_security_center_for_iot", "severity_filter": "high,medium",
        "name_include_filter": "A,B", "name_exclude_filter": "C"}))
    assert rule.puts[0] == {"kind": "MicrosoftSecurityIncidentCreation", "properties": {
        "enabled": False, "displayName": "From IoT", "productFilter": "Azure Security Center for IoT",
        "displayNamesExcludeFilter": ["C"], "displayNamesFilter": ["A", "B"], "severitiesFilter": ["High", "Medium"]}}


def test_create_fusion_rule_from_its_template(m):
    """Given a fusion rule's template and enabled, then the body is the kind, the template and enabled."""
    rule = Resource(m, FUSION_URL, None)
    only_entry(run("azure-sentinel-create-alert-rule", {"rule_name": "myFirstFusionRule", "kind": "fusion",
                                                         "template_name": "f71aba3d", "enabled": "yes"}))
    assert rule.puts == [{"kind": "Fusion", "properties": {"alertRuleTemplateName": "f71aba3d", "enabled": True}}]


@pytest.mark.parametrize("args,message", [
    pytest.param({"displayName": "x", "enabled": "yes"}, 'The "kind" argument is required for alert rule.',
                 id="no-kind"),
    pytest.param({"kind": "fusion", "enabled": "yes"}, '"template_name" is required for "fusion" alert rule.',
                 id="fusion-template"),
    pytest.param({"kind": "microsoft_security_incident_creation", "displayName": "x", "enabled": "yes"},
                 '"product_filter" is required for "microsoft_security_incident_creation" alert rule.', id="product"),
    pytest.param({**SCHEDULED_ARGS, "query": None}, '"query" is required for "scheduled" alert rule.', id="query"),
    pytest.param({**SCHEDULED_ARGS, "enabled": None}, '"enabled" is required for "scheduled" alert rule.',
                 id="enabled"),
])
def test_create_alert_rule_applies_the_official_per_kind_validation_before_sending(m, args, message):
    """Given a missing argument the kind needs, then the official message is the error and nothing is sent."""
    args = {"rule_name": RULE_ID, **{k: v for k, v in args.items() if v is not None}}
    assert only_error(run("azure-sentinel-create-alert-rule", args)).endswith(message)
    assert arm_requests(m) == []


@pytest.mark.parametrize("args,named", [
    pytest.param({"query_frequency": "5 hours"}, "query_frequency", id="duration"),
    pytest.param({"suppression_duration": "P"}, "suppression_duration", id="empty-duration"),
    pytest.param({"trigger_threshold": "many"}, "trigger_threshold", id="threshold"),
    pytest.param({"severity": "critical"}, "severity", id="severity"),
    pytest.param({"enabled": "maybe"}, "enabled", id="enabled"),
    pytest.param({"rule_json": "{not json"}, "rule_json", id="rule-json"),
    pytest.param({"rule_json": "[1]"}, "rule_json", id="rule-json-list"),
])
def test_a_malformed_rule_argument_is_one_error_naming_it(m, args, named):
    """Given a malformed argument, then the error names it (and for durations shows the ISO 8601 form)."""
    message = only_error(run("azure-sentinel-create-alert-rule", {**SCHEDULED_ARGS, **args}))
    assert f"Argument '{named}' is invalid" in message and "\n" not in message
    if "duration" in named or "frequency" in named:
        assert "ISO 8601 duration" in message and "PT5H" in message
    assert arm_requests(m) == []


def test_create_refuses_a_rule_name_that_exists(m):
    """Given a rule with that name, when create-alert-rule runs, then it is refused (naming update) and not PUT."""
    rule = Resource(m, RULE_URL, scheduled_rule())
    message = only_error(run("azure-sentinel-create-alert-rule", SCHEDULED_ARGS))
    assert "already exists" in message and "azure-sentinel-update-alert-rule" in message
    assert rule.puts == []


# -- updating alert rules -------------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields_and_keeps_the_kind_and_the_rest(m):
    """Given an existing scheduled rule, when update-alert-rule sets the query only, then the PUT carries the
    rule's other writable properties unchanged, its kind and its etag (no read-only or null fields)."""
    rule = Resource(m, RULE_URL, scheduled_rule())
    entry = only_entry(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "query": "Heartbeat | take 1"}))
    expected = {k: v for k, v in scheduled_rule()["properties"].items() if k != "lastModifiedUtc" and v is not None}
    assert rule.puts == [{"kind": "Scheduled", "etag": '"v1"', "properties": {**expected, "query": "Heartbeat | take 1"}}]
    assert context_value(entry, ALERT_RULE)["properties"]["query"] == "Heartbeat | take 1"
    assert "successfully updated" in entry["HumanReadable"]


def test_update_of_a_fusion_rule_sends_only_what_fusion_rules_take(m):
    """Given a Fusion rule (its name, severity and tactics are read-only), when it is disabled, then only the
    template and enabled are sent."""
    rule = Resource(m, FUSION_URL, load_json("alert_rule_fusion.json"))
    only_entry(run("azure-sentinel-update-alert-rule", {"rule_name": "myFirstFusionRule", "enabled": "no"}))
    assert rule.puts[0]["properties"] == {"alertRuleTemplateName": "f71aba3d-28fb-450b-b192-4e76a83015c8",
                                          "enabled": False}
    assert rule.puts[0]["kind"] == "Fusion"


def test_update_after_a_concurrent_change_reapplies_only_the_given_field(m):
    """Given another writer changes the rule between the read and the write (409), when update-alert-rule
    retries, then the second PUT keeps the other writer's change and adds the user's field."""
    rule = Resource(m, RULE_URL, scheduled_rule(), concurrent={"description": "changed by someone else"})
    only_entry(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "severity": "low"}))
    assert [p["etag"] for p in rule.puts] == ['"v1"', '"v2"']
    assert rule.puts[1]["properties"]["description"] == "changed by someone else"
    assert rule.puts[1]["properties"]["severity"] == "Low"
    assert rule.stored["properties"]["severity"] == "Low"


@pytest.mark.parametrize("etag", ['"v1"', "v1"])
def test_update_with_the_current_etag_writes(m, etag):
    """Given the user's etag is the rule's current one (quoted or not), then the update is written."""
    rule = Resource(m, RULE_URL, scheduled_rule())
    only_entry(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "etag": etag, "enabled": "no"}))
    assert len(rule.puts) == 1 and rule.stored["properties"]["enabled"] is False


def test_update_with_a_stale_etag_is_a_conflict_and_writes_nothing(m):
    """Given the user's etag is older than the rule's, then the command fails with a conflict and sends no PUT."""
    rule = Resource(m, RULE_URL, scheduled_rule('"v7"'))
    message = only_error(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "etag": '"v6"', "enabled": "no"}))
    assert "changed after the given etag was read" in message and '"v7"' in message
    assert "azure-sentinel-list-alert-rule" in message and "leave etag out" in message
    assert rule.puts == []


def test_update_with_the_users_etag_never_overwrites_a_change_made_meanwhile(m):
    """Given the user's etag matches at the read but the rule changes before the write (409), then the retry
    sees the new etag and stops with the conflict instead of overwriting."""
    rule = Resource(m, RULE_URL, scheduled_rule(), concurrent={"description": "meanwhile"})
    message = only_error(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "etag": '"v1"', "enabled": "no"}))
    assert "changed after the given etag" in message
    assert len(rule.puts) == 1 and rule.stored["properties"]["description"] == "meanwhile"
    assert rule.stored["properties"]["enabled"] is True


def test_update_with_rule_json_merges_its_properties_and_checks_its_etag(m):
    """Given rule_json (as read by list-alert-rule, then edited), then its properties replace those fields, the
    other arguments are ignored, and its etag guards the write."""
    rule = Resource(m, RULE_URL, scheduled_rule())
    edited = scheduled_rule()
    edited["properties"] = {"displayName": "Renamed", "severity": "Medium"}
    only_entry(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "rule_json": edited, "query": "ignored"}))
    sent = rule.puts[0]["properties"]
    assert (sent["displayName"], sent["severity"], sent["query"]) == ("Renamed", "Medium", "Heartbeat")
    stale = {**edited, "etag": '"v1"'}
    message = only_error(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "rule_json": stale}))
    assert "changed after the given etag" in message and len(rule.puts) == 1


def test_update_of_a_rule_that_does_not_exist_is_an_error_and_creates_nothing(m):
    """Given no rule with that name, when update-alert-rule runs, then the error says so and nothing is PUT."""
    rule = Resource(m, RULE_URL, None)
    message = only_error(run("azure-sentinel-update-alert-rule", {"rule_name": RULE_ID, "enabled": "no"}))
    assert "404" in message and "check the ID" in message
    assert rule.puts == []


def test_create_retried_after_a_lost_answer_is_not_refused_as_existing(m, sleeps):
    """Given the create PUT gets 503 (the rule may have been stored), when it is retried, then the same PUT is
    sent again and the command succeeds."""
    m.get(RULE_URL, **NOT_FOUND)
    put = m.put(RULE_URL, [{"status_code": 503, "json": {"error": {"code": "ServiceUnavailable"}}},
                           {"status_code": 201, "json": load_json("alert_rule_create_scheduled.json")}])
    only_entry(run("azure-sentinel-create-alert-rule", SCHEDULED_ARGS))
    assert put.call_count == 2 and put.request_history[0].json() == put.request_history[1].json()


# -- automation rules -----------------------------------------------------------------------------------------


def test_list_automation_rules_context(m):
    """Given the spec's automation rule, when list-automation-rules runs, then the context reads as designed."""
    m.get(f"{WS_URL}/automationRules", json=load_json("automation_rules_list.json"))
    entry = only_entry(run("azure-sentinel-list-automation-rules", {}))
    assert list(entry["EntryContext"]) == ["AzureSentinel.AutomationRule(val.ID && val.ID == obj.ID)"]
    [rule] = context_value(entry, AUTOMATION_RULE)
    raw = load_json("automation_rules_list.json")["value"][0]
    assert rule == {
        "ID": RULE_ID, "DisplayName": "Suspicious user sign-in events", "Order": 1,
        "TriggeringLogic": {"IsEnabled": True, "TriggersOn": "Incidents", "TriggersWhen": "Created",
                            "ExpirationTimeUtc": None,
                            "Conditions": raw["properties"]["triggeringLogic"]["conditions"]},
        "Actions": [{"Order": 1, "ActionType": "AddIncidentTask", "Configuration": {
            "title": "Reset user passwords", "description": "Reset passwords for compromised users."}}],
        "CreatedTimeUtc": "2019-01-01T13:00:00Z", "LastModifiedTimeUtc": "2019-01-01T13:00:30Z",
        "CreatedBy": "john doe", "LastModifiedBy": "john doe", "Etag": '"0300bf09-0000-0000-0000-5c37296e0000"'}
    assert "|Suspicious user sign-in events|1|True|Incidents|Created|1|AddIncidentTask|" in entry["HumanReadable"]


def test_get_one_automation_rule_by_id(m):
    """Given automation_rule_id, then that rule is read and listed alone."""
    m.get(AUTO_URL, json=load_json("automation_rule_get.json"))
    entry = only_entry(run("azure-sentinel-list-automation-rules", {"automation_rule_id": RULE_ID}))
    assert [r["ID"] for r in context_value(entry, AUTOMATION_RULE)] == [RULE_ID]
    assert [r.method for r in arm_requests(m)] == ["GET"]


ADD_TASK = '[{"order": 1, "actionType": "AddIncidentTask", "actionConfiguration": {"title": "Reset passwords"}}]'


def test_create_automation_rule_with_defaults_under_a_new_id_kept_across_a_retry(m, sleeps):
    """Given no automation_rule_id, when create-update-automation-rule creates a rule, then it gets a new GUID
    (the same on the retried PUT) and a new rule is enabled and runs when incidents are created."""
    m.get(re.compile(rf"{re.escape(WS_URL)}/automationRules/"), **NOT_FOUND)
    put = m.put(re.compile(rf"{re.escape(WS_URL)}/automationRules/"), [
        {"status_code": 503, "json": {"error": {"code": "ServiceUnavailable"}}},
        {"status_code": 201, "json": load_json("automation_rule_get.json")}])
    entry = only_entry(run("azure-sentinel-create-update-automation-rule",
                           {"display_name": "Reset", "order": "3", "actions_json": ADD_TASK}))
    paths = [urlsplit(r.url).path for r in put.request_history]
    assert len(paths) == 2 and paths[0] == paths[1]
    assert re.fullmatch(r"[0-9a-f-]{36}", paths[0].rsplit("/", 1)[-1])
    assert put.request_history[0].json() == {"properties": {
        "displayName": "Reset", "order": 3,
        "actions": [{"order": 1, "actionType": "AddIncidentTask", "actionConfiguration": {"title": "Reset passwords"}}],
        "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created"}}}
    assert context_value(entry, AUTOMATION_RULE)[0]["DisplayName"] == "Suspicious user sign-in events"


def test_create_automation_rule_without_what_a_new_rule_needs_is_refused(m):
    """Given a new automation rule ID and no display name or actions, then the error names what is missing."""
    rule = Resource(m, AUTO_URL, None)
    message = only_error(run("azure-sentinel-create-update-automation-rule", {"automation_rule_id": RULE_ID,
                                                                              "order": "1"}))
    assert message.endswith(f"Automation rule {RULE_ID} does not exist yet; to create it give display_name, "
                            f"actions_json.")
    assert rule.puts == []


def test_update_automation_rule_merges_over_the_existing_rule(m):
    """Given an existing automation rule, when only is_enabled=false and an expiration are given, then its name,
    order, actions and conditions are kept and its triggering logic gains only those two fields."""
    rule = Resource(m, AUTO_URL, load_json("automation_rule_get.json"))
    old = load_json("automation_rule_get.json")["properties"]
    only_entry(run("azure-sentinel-create-update-automation-rule", {
        "automation_rule_id": RULE_ID, "is_enabled": "false", "expiration_time": "2026-12-31T01:00:00+01:00"}))
    assert rule.puts == [{"etag": '"0300bf09-0000-0000-0000-5c37296e0000"', "properties": {
        "displayName": old["displayName"], "order": 1, "actions": old["actions"],
        "triggeringLogic": {**old["triggeringLogic"], "isEnabled": False,
                            "expirationTimeUtc": "2026-12-31T00:00:00Z"}}}]


def test_update_automation_rule_after_a_concurrent_change_keeps_it(m):
    """Given another writer renames the rule between the read and the write (409), then the retry keeps the
    new name and applies the user's order."""
    stored = {**load_json("automation_rule_get.json"), "etag": '"v1"'}
    rule = Resource(m, AUTO_URL, stored, concurrent={"displayName": "Renamed meanwhile"})
    only_entry(run("azure-sentinel-create-update-automation-rule", {"automation_rule_id": RULE_ID, "order": "9"}))
    assert len(rule.puts) == 2
    assert (rule.stored["properties"]["displayName"], rule.stored["properties"]["order"]) == ("Renamed meanwhile", 9)


@pytest.mark.parametrize("args,expected", [
    pytest.param({"conditions_json": "[{"}, "Argument 'conditions_json' is invalid: it is not valid JSON", id="json"),
    pytest.param({"conditions_json": '"text"'}, "it must be a JSON list of objects", id="not-a-list"),
    pytest.param({"conditions_json": '[{"conditionType": "Nope", "conditionProperties": {}}]'},
                 "item 1 needs a conditionType (Property, PropertyArray", id="condition-type"),
    pytest.param({"conditions_json": '[{"conditionType": "Property", "conditionProperties": {"operator": "Equals"}}]'},
                 "item 1 (Property) lacks propertyName, propertyValues", id="condition-fields"),
    pytest.param({"actions_json": "[]"}, "Argument 'actions_json' is invalid: it must hold 1 to 20 items", id="no-action"),
    pytest.param({"actions_json": '{"actionType": "RunPlaybook", "actionConfiguration": {}}'},
                 "item 1 (RunPlaybook) lacks order, logicAppResourceId", id="playbook-fields"),
    pytest.param({"order": "1001"}, "Argument 'order' is invalid", id="order"),
    pytest.param({"triggers_on": "Bookmarks"}, "Argument 'triggers_on' is invalid: Input should be 'Incidents' or 'Alerts'",
                 id="triggers-on"),
    pytest.param({"expiration_time": "next week"}, "is not an ISO 8601 time", id="expiration"),
    pytest.param({"automation_rule_id": "../alertRules"}, "is not valid", id="id"),
])
def test_malformed_automation_rule_arguments_are_one_clear_error(m, args, expected):
    """Given malformed JSON, an item without a required field or a bad value, then it is one error naming it,
    and nothing is sent."""
    message = only_error(run("azure-sentinel-create-update-automation-rule", {"display_name": "x", **args}))
    assert expected in message and "\n" not in message
    assert arm_requests(m) == []


def test_delete_automation_rule(m):
    """Given an automation rule that exists and then does not, then delete marks it Deleted, then says it is gone."""
    m.delete(AUTO_URL, [{"status_code": 200, "json": {}}, {"status_code": 204}])
    first = only_entry(run("azure-sentinel-delete-automation-rule", {"automation_rule_id": RULE_ID}))
    assert context_value(first, AUTOMATION_RULE) == {"ID": RULE_ID, "Deleted": True}
    second = only_entry(run("azure-sentinel-delete-automation-rule", {"automation_rule_id": RULE_ID}))
    assert second["HumanReadable"] == f"Automation rule {RULE_ID} does not exist."


# -- manifest: the official arguments -------------------------------------------------------------------------

TARGET = {"subscription_id": (False, False, None, None), "resource_group_name": (False, False, None, None),
          "workspace_name": (False, False, None, None)}
RULE_WRITE_ARGS = {
    "rule_name": (True, False, None, None),
    "kind": (False, False, ["fusion", "microsoft_security_incident_creation", "scheduled"], None),
    "template_name": (False, False, None, None), "enabled": (False, False, ["yes", "no"], None),
    "etag": (False, False, None, None), "displayName": (False, False, None, None),
    "product_filter": (False, False, ["azure_active_directory_identity_protection", "azure_advanced_threat_protection",
                                      "azure_security_center", "azure_security_center_for_iot",
                                      "microsoft_cloud_app_security"], None),
    "description": (False, False, None, None), "name_exclude_filter": (False, True, None, None),
    "name_include_filter": (False, True, None, None), "severity_filter": (False, True, None, None),
    "query": (False, False, None, None), "query_frequency": (False, False, None, None),
    "query_period": (False, False, None, None),
    "severity": (False, False, ["informational", "low", "medium", "high"], None),
    "suppression_duration": (False, False, None, None), "suppression_enabled": (False, False, ["yes", "no"], None),
    "trigger_operator": (False, False, ["equal", "greater_than", "less_than", "not_equal"], None),
    "trigger_threshold": (False, False, None, None), "tactics": (False, True, None, None),
    "techniques": (False, True, None, None), "rule_json": (False, False, None, None),
}
PAGING = {"limit": (False, False, None, "50"), "next_link": (False, False, None, None)}  # next_link: ours
EXPECTED_ARGS = {
    "azure-sentinel-list-alert-rule": {"rule_id": (False, False, None, None), **PAGING},
    "azure-sentinel-list-alert-rule-template": {"template_id": (False, False, None, None), **PAGING},
    "azure-sentinel-delete-alert-rule": {"rule_id": (True, False, None, None)},
    "azure-sentinel-create-alert-rule": RULE_WRITE_ARGS,
    "azure-sentinel-update-alert-rule": RULE_WRITE_ARGS,
    "azure-sentinel-list-automation-rules": {"automation_rule_id": (False, False, None, None), **PAGING},
    "azure-sentinel-create-update-automation-rule": {
        "automation_rule_id": (False, False, None, None), "display_name": (False, False, None, None),
        "order": (False, False, None, None), "is_enabled": (False, False, ["true", "false"], None),
        "triggers_on": (False, False, ["Incidents", "Alerts"], None),
        "triggers_when": (False, False, ["Created", "Updated"], None), "expiration_time": (False, False, None, None),
        "conditions_json": (False, False, None, None), "actions_json": (False, False, None, None)},
    "azure-sentinel-delete-automation-rule": {"automation_rule_id": (True, False, None, None)},
}
OFFICIAL_PATHS = {  # documented by the official manifest (at the depth a manifest allows)
    "azure-sentinel-list-alert-rule": {f"AzureSentinel.AlertRule.{p}" for p in (
        "id", "name", "type", "kind", "etag", "properties.alertRuleTemplateName", "properties.displayName",
        "properties.description", "properties.severity", "properties.enabled", "properties.tactics",
        "properties.query", "properties.queryFrequency", "properties.queryPeriod", "properties.triggerOperator",
        "properties.triggerThreshold", "properties.suppressionDuration", "properties.suppressionEnabled",
        "properties.lastModifiedUtc", "properties.eventGroupingSettings.aggregationKind",
        "properties.entityMappings.entityType", "properties.incidentConfiguration.createIncident",
        "properties.productFilter", "properties.severitiesFilter", "properties.displayNamesFilter")},
    "azure-sentinel-list-alert-rule-template": {f"AzureSentinel.AlertRuleTemplate.{p}" for p in (
        "id", "name", "type", "kind", "properties.severity", "properties.query", "properties.queryFrequency",
        "properties.queryPeriod", "properties.triggerOperator", "properties.triggerThreshold",
        "properties.displayName", "properties.description", "properties.tactics", "properties.lastUpdatedDateUTC",
        "properties.createdDateUTC", "properties.status", "properties.version",
        "properties.requiredDataConnectors.connectorId", "properties.requiredDataConnectors.dataTypes",
        "properties.alertRulesCreatedByTemplateCount", "properties.productFilter")},
    "azure-sentinel-delete-alert-rule": {"AzureSentinel.AlertRule.ID", "AzureSentinel.AlertRule.Deleted"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ARGS))
def test_manifest_arguments(name):
    """Given a rule command in the manifest, then it has the official arguments (plus next_link and the
    workspace overrides) with the official required flags, isArray, predefined values and defaults."""
    args = {a["name"]: a for a in MANIFEST[name].get("arguments") or []}
    expected = {**EXPECTED_ARGS[name], **TARGET}
    assert set(args) == set(expected)
    for arg, (required, is_array, predefined, default) in expected.items():
        a = args[arg]
        assert (bool(a.get("required")), bool(a.get("isArray")), a.get("predefined"), a.get("defaultValue")) == (
            required, is_array, predefined, default), arg


@pytest.mark.parametrize("name", sorted(OFFICIAL_PATHS))
def test_manifest_declares_the_official_context_paths(name):
    """Given a rule command, then its outputs include the context paths the official manifest documents."""
    assert OFFICIAL_PATHS[name] <= {o["contextPath"] for o in MANIFEST[name].get("outputs") or []}


def test_write_commands_declare_what_list_declares():
    """Given create/update-alert-rule, then they declare the same AlertRule paths as list-alert-rule."""
    listed = {o["contextPath"] for o in MANIFEST["azure-sentinel-list-alert-rule"]["outputs"]} - {
        "AzureSentinel.NextLink.Description", "AzureSentinel.NextLink.URL"}
    for name in ("azure-sentinel-create-alert-rule", "azure-sentinel-update-alert-rule"):
        assert {o["contextPath"] for o in MANIFEST[name]["outputs"]} == listed


# -- end to end: the CLI against the emulator -----------------------------------------------------------------


def test_rule_lifecycle_through_the_cli_against_the_emulator(tmp_path, monkeypatch, capsys):
    """Given the emulator, when a user creates, updates, lists and deletes an alert rule and an automation rule
    with `azure-sentinel run`, then each step returns its table and context, and the emulator holds the result."""
    emu = Emulator(port=0, seed=3).start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
        instance = tmp_path / "instance.yml"
        instance.write_text(yaml.safe_dump(emu.params()), encoding="utf-8")

        def cli_run(*args: str, ok: bool = True) -> Any:
            code = cli.main(["run", "--instance", str(instance), "--state", str(tmp_path / "s.sqlite"), "--json", *args])
            out = capsys.readouterr().out
            assert (code == 0) is ok, out
            return json.loads(out)[0] if ok else out

        scheduled = [f"{k}={v}" for k, v in {**SCHEDULED_ARGS, "rule_name": "e2e-rule"}.items()]
        created = cli_run("azure-sentinel-create-alert-rule", *scheduled)
        assert context_value(created, ALERT_RULE)["properties"]["triggerOperator"] == "GreaterThan"
        assert "already exists" in cli_run("azure-sentinel-create-alert-rule", *scheduled, ok=False)
        cli_run("azure-sentinel-update-alert-rule", "rule_name=e2e-rule", "severity=low")
        [rule] = context_value(cli_run("azure-sentinel-list-alert-rule", "rule_id=e2e-rule"), ALERT_RULE)
        assert (rule["properties"]["severity"], rule["properties"]["query"]) == ("Low", "Heartbeat")
        cli_run("azure-sentinel-delete-alert-rule", "rule_id=e2e-rule")
        names = [r["name"] for r in context_value(cli_run("azure-sentinel-list-alert-rule"), ALERT_RULE)]
        assert "e2e-rule" not in names and names

        cli_run("azure-sentinel-create-update-automation-rule", "automation_rule_id=e2e-auto", "display_name=Tag",
                "order=7", 'actions_json={"order": 1, "actionType": "ModifyProperties", '
                           '"actionConfiguration": {"severity": "High"}}')
        cli_run("azure-sentinel-create-update-automation-rule", "automation_rule_id=e2e-auto", "is_enabled=false")
        [auto] = context_value(cli_run("azure-sentinel-list-automation-rules", "automation_rule_id=e2e-auto"),
                               AUTOMATION_RULE)
        assert (auto["DisplayName"], auto["Order"], auto["TriggeringLogic"]["IsEnabled"]) == ("Tag", 7, False)
        assert auto["Actions"] == [{"Order": 1, "ActionType": "ModifyProperties", "Configuration": {"severity": "High"}}]
        cli_run("azure-sentinel-delete-automation-rule", "automation_rule_id=e2e-auto")
        ids = [r["ID"] for r in context_value(cli_run("azure-sentinel-list-automation-rules"), AUTOMATION_RULE)]
        assert "e2e-auto" not in ids
    finally:
        emu.stop()

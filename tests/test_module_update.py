"""Conflict-safe updates and retry-safe comments.

`IncidentStore` is a small fake of one Sentinel incident with ARM's optimistic concurrency: every
write changes the etag, and a PUT whose etag is stale gets 409 Conflict.
"""

from __future__ import annotations

import copy
import time
from urllib.parse import urlsplit

import pytest
import requests_mock

from module_helpers import (
    INCIDENT_ID, INCIDENT_URL, arm_requests, context_value, incident, load_json, load_module,
    only_entry, only_error, run,
)

MOD = load_module()


class IncidentStore:
    """One incident behind GET/PUT with etags. `on_get` runs after each GET (to simulate other writers)."""

    def __init__(self, resource: dict, on_get=None):
        self.resource = copy.deepcopy(resource)
        self.version = 1
        self.resource["etag"] = '"v1"'
        self.on_get = on_get
        self.gets = 0
        self.puts: list[dict] = []

    def write(self, properties: dict) -> None:
        self.version += 1
        self.resource["properties"] = properties
        self.resource["etag"] = f'"v{self.version}"'

    def get(self, request, context):
        self.gets += 1
        answer = copy.deepcopy(self.resource)
        if self.on_get:
            self.on_get(self, self.gets)
        return answer

    def put(self, request, context):
        body = request.json()
        self.puts.append(body)
        if body.get("etag") not in (None, self.resource["etag"]):
            context.status_code = 409
            return {"error": {"code": "Conflict", "message": "The etag does not match."}}
        merged = dict(self.resource["properties"])
        merged.update(body["properties"])
        self.write(merged)
        return copy.deepcopy(self.resource)

    def mount(self, m) -> "IncidentStore":
        m.get(INCIDENT_URL, json=self.get)
        m.put(INCIDENT_URL, json=self.put)
        return self


@pytest.fixture
def sleeps(monkeypatch):
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def update(**args):
    return run("azure-sentinel-update-incident", {"incident_id": INCIDENT_ID, **args})


# -- 409 Conflict: re-read and re-apply only what the user set -----------------------------------


def test_conflict_reapplies_only_user_fields_so_both_changes_survive(m):
    """Given someone changes the severity between our GET and PUT, when we set the title, then both survive."""
    def concurrent_writer(store, gets):
        if gets == 1:  # right after our first read, another analyst raises the severity
            store.write({**store.resource["properties"], "severity": "High"})

    store = IncidentStore(incident(title="Old title", severity="Low"), on_get=concurrent_writer).mount(m)
    entry = only_entry(update(title="New title"))
    assert store.gets == 2 and len(store.puts) == 2
    assert store.puts[0]["etag"] == '"v1"'  # stale: got 409
    final = store.puts[-1]
    assert final["etag"] == '"v2"'
    assert final["properties"]["title"] == "New title"
    assert final["properties"]["severity"] == "High"  # the concurrent change was not undone
    assert store.resource["properties"]["title"] == "New title"
    assert store.resource["properties"]["severity"] == "High"
    row = context_value(entry, "AzureSentinel.Incident(")
    assert (row["Title"], row["Severity"]) == ("New title", "High")


def test_conflict_keeps_concurrently_added_labels_and_adds_ours(m):
    """Given someone adds a label between our GET and PUT, when we add a label, then both labels are kept."""
    def concurrent_writer(store, gets):
        if gets == 1:
            props = store.resource["properties"]
            store.write({**props, "labels": props["labels"] + [{"labelName": "theirs", "labelType": "User"}]})

    store = IncidentStore(incident(labels=[]), on_get=concurrent_writer).mount(m)
    only_entry(update(labels="ours"))
    assert [label["labelName"] for label in store.puts[-1]["properties"]["labels"]] == ["theirs", "ours"]


def test_conflict_every_time_gives_up_with_a_clear_error(m):
    """Given the incident changes before every PUT, when updating, then it stops after bounded rounds."""
    def always_changing(store, gets):
        store.write(dict(store.resource["properties"]))

    store = IncidentStore(incident(), on_get=always_changing).mount(m)
    message = only_error(update(title="t"))
    assert len(store.puts) == MOD.MAX_CONFLICT_ATTEMPTS
    assert store.gets == MOD.MAX_CONFLICT_ATTEMPTS
    assert "409" in message and "kept changing" in message and "again" in message
    assert "\n" not in message


# -- field semantics -------------------------------------------------------------------------------------


def test_labels_are_added_to_existing_ones_without_duplicates(m):
    """Given an incident with labels, when labels are given, then new ones are appended and none duplicated."""
    existing = [{"labelName": "phishing", "labelType": "User"}, {"labelName": "auto", "labelType": "AutoAssigned"}]
    store = IncidentStore(incident(labels=existing)).mount(m)
    entry = only_entry(update(labels="vip,phishing"))
    assert store.puts[-1]["properties"]["labels"] == existing + [{"labelName": "vip", "labelType": "User"}]
    row = context_value(entry, "AzureSentinel.Incident(")
    assert [label["Name"] for label in row["Label"]] == ["phishing", "auto", "vip"]


def test_a_label_given_twice_is_added_once(m):
    """Given an incident without labels, when the same label is given twice, then the PUT adds it once."""
    store = IncidentStore(incident(labels=[])).mount(m)
    only_entry(update(labels="vip,vip"))
    assert store.puts[-1]["properties"]["labels"] == [{"labelName": "vip", "labelType": "User"}]


def test_unassign_clears_the_owner(m):
    """Given an assigned incident, when unassign=true, then the PUT sends an empty owner."""
    store = IncidentStore(incident(owner={"email": "a@b.c", "objectId": "o1", "assignedTo": "A"})).mount(m)
    only_entry(update(unassign="true"))
    assert store.puts[-1]["properties"]["owner"] == {}


def test_assignee_replaces_the_owner(m):
    """Given an assigned incident, when assignee_email is given, then the owner is the new assignee only."""
    store = IncidentStore(incident(owner={"email": "old@b.c", "objectId": "o1", "assignedTo": "Old"})).mount(m)
    only_entry(update(assignee_email="new@b.c", user_principal_name="new@b.onmicrosoft.com"))
    assert store.puts[-1]["properties"]["owner"] == {"email": "new@b.c", "userPrincipalName": "new@b.onmicrosoft.com"}


def test_fields_not_set_are_carried_over_unchanged(m):
    """Given an incident, when only the status changes, then title, severity, description and owner are kept."""
    owner = {"email": "a@b.c", "objectId": "o1"}
    store = IncidentStore(incident(title="T", severity="High", description="D", owner=owner)).mount(m)
    only_entry(update(status="Active"))
    props = store.puts[-1]["properties"]
    assert (props["title"], props["severity"], props["description"], props["owner"]) == ("T", "High", "D", owner)
    assert "incidentNumber" not in props and "createdTimeUtc" not in props  # read-only fields are not sent


def test_closing_without_classification_is_refused_before_any_put(m):
    """Given an open incident, when status=Closed comes without a classification, then nothing is written."""
    store = IncidentStore(incident(status="Active")).mount(m)
    message = only_error(update(status="Closed"))
    assert "classification" in message and "status=Closed" in message
    assert store.puts == []


@pytest.mark.parametrize("classification, reason_arg, expected_reason", [
    pytest.param("TruePositive", None, "SuspiciousActivity", id="true-positive-default"),
    pytest.param("BenignPositive", None, "SuspiciousButExpected", id="benign-positive-default"),
    pytest.param("FalsePositive", None, "InaccurateData", id="false-positive-default"),
    pytest.param("FalsePositive", "IncorrectAlertLogic", "IncorrectAlertLogic", id="explicit-reason-kept"),
    pytest.param("Undetermined", None, None, id="undetermined-no-reason"),
])
def test_classification_reason_defaults_from_classification(m, classification, reason_arg, expected_reason):
    """Given status=Closed and a classification, when no reason is given, then the official default is sent."""
    store = IncidentStore(incident(status="Active")).mount(m)
    args = {"status": "Closed", "classification": classification, "classification_comment": "done"}
    if reason_arg:
        args["classification_reason"] = reason_arg
    only_entry(update(**args))
    props = store.puts[-1]["properties"]
    assert props["status"] == "Closed" and props["classification"] == classification
    assert props["classificationComment"] == "done"
    assert props.get("classificationReason") == expected_reason


def test_reclassifying_a_closed_incident_does_not_keep_the_old_reason(m):
    """Given an incident closed FalsePositive/InaccurateData, when reclassified TruePositive, the reason follows."""
    closed = load_json("incident_get.json")  # Closed, FalsePositive, InaccurateData
    store = IncidentStore(closed).mount(m)
    only_entry(update(classification="TruePositive"))
    props = store.puts[-1]["properties"]
    assert props["classification"] == "TruePositive"
    assert props["classificationReason"] == "SuspiciousActivity"


def test_same_classification_keeps_the_chosen_reason(m):
    """Given a FalsePositive/IncorrectAlertLogic incident, when FalsePositive is sent again, then the reason stays."""
    closed = load_json("incident_get.json")
    closed["properties"]["classificationReason"] = "IncorrectAlertLogic"  # not the FalsePositive default
    store = IncidentStore(closed).mount(m)
    only_entry(update(classification="FalsePositive", classification_comment="re-reviewed"))
    props = store.puts[-1]["properties"]
    assert (props["classificationReason"], props["classificationComment"]) == ("IncorrectAlertLogic", "re-reviewed")


# -- retry-safe writes -------------------------------------------------------------------------------------


class CommentStore:
    """Comments keyed by ID, behind PUT; the first `failures` PUTs answer 503 (after storing, like a lost reply)."""

    def __init__(self, failures: int = 1, status: int = 503):
        self.comments: dict[str, str] = {}
        self.failures = failures
        self.status = status
        self.urls: list[str] = []

    def put(self, request, context):
        path = urlsplit(request.url).path  # requests-mock's .path is lower-cased
        comment_id = path.rsplit("/", 1)[-1]
        self.urls.append(path)
        self.comments[comment_id] = request.json()["properties"]["message"]
        if self.failures:
            self.failures -= 1
            context.status_code = self.status
            return {"error": {"code": "ServiceUnavailable", "message": "try later"}}
        return {"name": comment_id, "properties": {"message": self.comments[comment_id],
                                                   "createdTimeUtc": "2025-01-01T00:00:00Z"}}


def test_add_comment_retried_after_503_reuses_the_same_comment_id(m, sleeps):
    """Given the first comment PUT gets 503, when it is retried, then it goes to the same ID: one comment."""
    store = CommentStore(failures=1)
    m.put(requests_mock.ANY, json=store.put)
    entry = only_entry(run("azure-sentinel-incident-add-comment", {"incident_id": INCIDENT_ID, "message": "hello"}))
    assert len(store.urls) == 2 and store.urls[0] == store.urls[1]
    assert list(store.comments.values()) == ["hello"]
    assert len(sleeps) == 1
    row = context_value(entry, "AzureSentinel.IncidentComment(")
    assert row["ID"] == next(iter(store.comments)) and row["Message"] == "hello"


def test_add_comment_uses_the_given_comment_id(m):
    """Given comment_id, when add-comment runs, then the comment is PUT under exactly that ID."""
    store = CommentStore(failures=0)
    m.put(requests_mock.ANY, json=store.put)
    entry = only_entry(run("azure-sentinel-incident-add-comment",
                           {"incident_id": INCIDENT_ID, "message": "m", "comment_id": "playbook-step-7"}))
    assert store.urls == [f"{INCIDENT_URL.split('management.azure.com', 1)[1]}/comments/playbook-step-7"]
    assert context_value(entry, "AzureSentinel.IncidentComment(")["ID"] == "playbook-step-7"


def test_create_incident_retried_after_503_reuses_the_same_incident_id(m, sleeps):
    """Given the create PUT gets 503 once, when it is retried, then it targets the same new incident ID."""
    put = m.put(requests_mock.ANY, [{"status_code": 503, "json": {"error": {"code": "ServiceUnavailable"}}},
                                    {"json": load_json("incident_create.json")}])
    only_entry(run("azure-sentinel-create-incident", {"title": "t", "status": "New"}))
    urls = [urlsplit(r.url).path for r in put.request_history]
    assert len(urls) == 2 and urls[0] == urls[1]
    assert all(r.url.startswith("https://management.azure.com") for r in arm_requests(m))

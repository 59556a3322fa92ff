"""The unmodified module under the platform stand-in (only the DESIGN §3 calls), against a loopback
Sentinel API over plain http (azure_cloud=Custom, server_url=http://127.0.0.1:PORT) with a managed
identity from IDENTITY_ENDPOINT / IDENTITY_HEADER: the "done when" of the integration-core issue.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from sentinel_emulator import Emulator
from module_helpers import cached_token
from xsoar_local.platform import Platform, run_module


@pytest.fixture()
def emu(monkeypatch):
    emulator = Emulator(port=0, seed=12, tls=False).start()
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)  # retry waits are not the point here
    try:
        yield emulator
    finally:
        emulator.stop()


class Instance:
    """One configured instance: runs commands as separate platform invocations sharing the context."""

    def __init__(self, emulator: Emulator):
        params = emulator.params()
        self.params = {key: params[key] for key in ("azure_cloud", "server_url", "subscriptionID",
                                                    "resourceGroupName", "workspaceName")}
        self.params["use_managed_identities"] = True
        assert self.params["server_url"].startswith("http://127.0.0.1:")
        self.context: dict = {}
        self.runs: list[Platform] = []

    def run(self, command: str, **args) -> Platform:
        platform = Platform(params=self.params, command=command, args=args, context=self.context)
        run_module(platform)
        self.context = platform.context
        self.runs.append(platform)
        return platform


def only_entry(platform: Platform) -> dict:
    assert len(platform.results) == 1, platform.results
    return platform.results[0]


def context_value(entry: dict, prefix: str):
    return next(v for k, v in entry["EntryContext"].items() if k.startswith(prefix))


def intercept(monkeypatch, after):
    """Call `after(method, url, response)` after every HTTP exchange the module makes."""
    real = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        response = real(self, method, url, *args, **kwargs)
        return after(method, url, response) or response

    monkeypatch.setattr(requests.Session, "request", request)


def test_commands_work_on_one_token_and_leak_nothing(emu):
    """Given a managed identity instance, when test-module, list (with NextLink and next_link), get,
    update and add-comment run as separate invocations, then each works, one token serves them all,
    and neither the token nor the identity header appears in any entry or log."""
    inst = Instance(emu)
    assert inst.run("test-module").results == ["ok"]

    first = only_entry(inst.run("azure-sentinel-list-incidents", limit="5"))
    incidents = context_value(first, "AzureSentinel.Incident")
    assert len(incidents) == 5
    link = context_value(first, "AzureSentinel.NextLink")["URL"]
    second = only_entry(inst.run("azure-sentinel-list-incidents", limit="5", next_link=link))
    more = context_value(second, "AzureSentinel.Incident")
    assert len(more) == 5 and not {i["ID"] for i in more} & {i["ID"] for i in incidents}

    target = incidents[0]["ID"]
    got = context_value(only_entry(inst.run("azure-sentinel-get-incident-by-id", incident_id=target)),
                        "AzureSentinel.Incident")
    assert got["ID"] == target
    updated = only_entry(inst.run("azure-sentinel-update-incident", incident_id=target, severity="High",
                                  labels="triaged"))
    assert context_value(updated, "AzureSentinel.Incident")["Severity"] == "High"
    comment = only_entry(inst.run("azure-sentinel-incident-add-comment", incident_id=target, message="on it"))
    assert context_value(comment, "AzureSentinel.IncidentComment")["Message"] == "on it"

    assert sum(emu.token_requests.values()) == 1, "one token must serve every invocation"
    token = cached_token(inst.context)["access_token"]
    identity_header = emu.env()["IDENTITY_HEADER"]
    for platform in inst.runs:
        text = json.dumps(platform.results) + json.dumps(platform.logs)
        assert token not in text and identity_header not in text


def test_update_survives_a_concurrent_change(emu, monkeypatch):
    """Given someone else retitles the incident between our read and our write, when update-incident
    sets the severity, then the PUT gets 409, is re-applied, and both changes are kept."""
    inst = Instance(emu)
    target = emu.store.incidents()[0]["name"]
    raced = []

    def concurrent_writer(method, url, response):
        if method == "GET" and url.endswith(f"/incidents/{target}") and not raced:
            raced.append(True)
            emu.store.modify_incident(target, title="Retitled by an analyst")

    intercept(monkeypatch, concurrent_writer)
    entry = only_entry(inst.run("azure-sentinel-update-incident", incident_id=target, severity="High"))
    assert entry["Type"] == 1, entry
    final = emu.store.incident(target)["properties"]
    assert final["severity"] == "High" and final["title"] == "Retitled by an analyst"
    puts = [r.status for r in emu.requests if r.method == "PUT" and r.path.endswith(target)]
    assert puts == [409, 200]


def test_comment_put_answered_503_is_stored_once(emu, monkeypatch):
    """Given the first comment PUT answers 503, when add-comment retries, then it reuses the comment ID
    and exactly one comment is stored."""
    inst = Instance(emu)
    target = emu.store.incidents()[0]["name"]
    emu.set_faults("write:503=1")

    def heal_after_first_put(method, url, response):
        if method == "PUT" and response.status_code == 503:
            emu.set_faults("")

    intercept(monkeypatch, heal_after_first_put)
    entry = only_entry(inst.run("azure-sentinel-incident-add-comment", incident_id=target, message="exactly once"))
    assert entry["Type"] == 1, entry
    puts = [r for r in emu.requests if r.method == "PUT" and "/comments/" in r.path]
    assert [r.status for r in puts] == [503, 201] and puts[0].path == puts[1].path
    stored = only_entry(inst.run("azure-sentinel-list-incident-comments", incident_id=target, limit="50"))
    assert [c["Message"] for c in context_value(stored, "AzureSentinel.IncidentComment")].count("exactly once") == 1


def test_comment_put_whose_response_is_lost_is_stored_once(emu, monkeypatch):
    """Given the server stores the comment but the response never arrives, when the transport retries,
    then the same comment is overwritten instead of a second one being created."""
    inst = Instance(emu)
    target = emu.store.incidents()[0]["name"]
    lost = []

    def lose_first_response(method, url, response):
        if method == "PUT" and "/comments/" in url and not lost:
            lost.append(url)
            raise requests.ConnectionError("connection reset by peer")

    intercept(monkeypatch, lose_first_response)
    entry = only_entry(inst.run("azure-sentinel-incident-add-comment", incident_id=target, message="lost reply"))
    assert entry["Type"] == 1, entry
    stored = only_entry(inst.run("azure-sentinel-list-incident-comments", incident_id=target, limit="50"))
    assert [c["Message"] for c in context_value(stored, "AzureSentinel.IncidentComment")].count("lost reply") == 1


def test_path_injection_is_refused_before_any_request(emu):
    """Given incident_id=../../x, when get-incident runs, then it fails without sending anything."""
    inst = Instance(emu)
    entry = only_entry(inst.run("azure-sentinel-get-incident-by-id", incident_id="../../x"))
    assert entry["Type"] == 4 and "not valid" in entry["Contents"]
    assert emu.requests == [] and sum(emu.token_requests.values()) == 0


def test_next_link_to_another_host_is_refused_and_gets_no_token(emu):
    """Given a next_link naming another server, when list-incidents runs, then it is refused and that
    server receives no request at all (so no token)."""
    other = Emulator(port=0, tls=False).start()
    try:
        inst = Instance(emu)
        foreign = re.sub(r"^http://127\.0\.0\.1:\d+", other.base_url, emu.base_url) + \
            "/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z/" \
            "providers/Microsoft.SecurityInsights/incidents?api-version=2025-12-01&$skipToken=abc"
        entry = only_entry(inst.run("azure-sentinel-list-incidents", next_link=foreign))
        assert entry["Type"] == 4 and "Refusing" in entry["Contents"]
        assert other.requests == []
    finally:
        other.stop()

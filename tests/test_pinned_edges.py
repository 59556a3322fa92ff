"""Pinned contract: edges of argument checks, KQL's workspace ID, enrichment pacing, platform severity and
secret masking, in literal values."""

from __future__ import annotations

import json
import re

import pytest
import requests_mock

from module_helpers import (
    ARM, RG, SUB, WS, WS_URL, base_params, incident, load_module, mock_login, only_entry, only_error, run,
)

MOD = load_module()
INDICATORS = f"{WS_URL}/threatIntelligence/main"


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        mock_login(mocker)
        yield mocker


# -- threat indicator values -------------------------------------------------------------------


@pytest.mark.parametrize("hash_type, digits", [("MD5", 32), ("SHA-1", 40), ("SHA-256", 64), ("SHA-512", 128)])
def test_a_hash_of_exactly_its_length_is_accepted_and_one_digit_less_is_refused(m, hash_type, digits):
    """Given a file indicator, when its value has exactly the hash type's number of hex digits, then it is
    created; with one digit less, one error gives the length and nothing is sent."""
    m.post(f"{INDICATORS}/createIndicator", json={"name": "ind-1", "kind": "indicator", "properties": {}})
    args = {"display_name": "ind", "threat_types": "malicious-activity", "indicator_type": "file", "hash_type": hash_type}
    created = run("azure-sentinel-threat-indicator-create", {**args, "value": "a" * digits})
    assert only_entry(created).get("Type") != 4, created.results
    writes = [r for r in m.request_history if r.method in ("PUT", "POST") and r.url.startswith(ARM)]
    assert len(writes) == 1 and f"'{hash_type}' = '{'a' * digits}'" in json.dumps(writes[0].json())
    refused = run("azure-sentinel-threat-indicator-create", {**args, "value": "a" * (digits - 1)})
    assert only_error(refused).endswith(f"Argument 'value' is not a {hash_type} hash: give {digits} hexadecimal "
                                        f"digits.")
    assert len([r for r in m.request_history if r.method in ("PUT", "POST") and r.url.startswith(ARM)]) == 1


@pytest.mark.parametrize("confidence, accepted", [("-1", False), ("0", True), ("100", True), ("101", False)])
def test_confidence_is_a_whole_number_from_0_to_100(m, confidence, accepted):
    """Given an indicator's confidence at or just past either edge of 0..100, then only 0 and 100 are sent."""
    m.post(f"{INDICATORS}/createIndicator", json={"name": "ind-1", "kind": "indicator", "properties": {}})
    platform = run("azure-sentinel-threat-indicator-create", {"display_name": "ind", "threat_types": "malicious-activity", "indicator_type": "domain",
                                                              "value": "x.example", "confidence": confidence})
    if accepted:
        [write] = [r for r in m.request_history if r.method == "POST" and r.url.startswith(ARM)]
        assert write.json()["properties"]["confidence"] == int(confidence)
    else:
        assert "'confidence' is invalid" in only_error(platform)
        assert [r for r in m.request_history if r.method == "POST" and r.url.startswith(ARM)] == []


# -- KQL: the workspace ID ---------------------------------------------------------------------


@pytest.mark.parametrize("properties", [{}, {"customerId": ""}, {"customerId": 42}])
def test_a_workspace_without_a_customer_id_asks_for_the_workspace_id_param(m, properties):
    """Given ARM's workspace answer has no usable customerId, when run-query runs, then one error says to set
    the Workspace ID parameter, and no query is sent."""
    workspace = WS_URL.split("/providers/Microsoft.SecurityInsights")[0]
    m.get(workspace, json={"name": WS, "properties": properties})
    query = m.post(re.compile(r"https://api\.loganalytics\.io/"), json={"tables": []})
    message = only_error(run("azure-sentinel-run-query", {"query": "SecurityIncident | take 1"}))
    assert message.endswith("The workspace has no customerId in Azure's answer; set the Workspace ID parameter "
                            "(Log Analytics workspace > Overview > Workspace ID).")
    assert query.call_count == 0


# -- enrichment pacing -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t, self.sleeps = 100.0, []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_the_pacer_lets_a_burst_through_then_spaces_calls_at_its_rate():
    """Given a pacer of burst 2 and 4 calls a second on a clock that stands still, when 5 calls wait, then
    the first 2 do not sleep and the next 3 sleep 0.25, 0.5 and 0.75 seconds (each waits for its token)."""
    clock = Clock()
    pacer = MOD.Pacer(burst=2, rate=4.0, now=clock.now, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait()
    assert clock.sleeps == [0.25, 0.5, 0.75]


def test_the_pacer_refills_with_time():
    """Given a pacer of burst 1 and 4 calls a second, when a call comes 0.25 s after the first, then neither
    sleeps; when the next comes at once, it sleeps 0.25 s."""
    clock = Clock()
    pacer = MOD.Pacer(burst=1, rate=4.0, now=clock.now, sleep=clock.sleep)
    pacer.wait()
    clock.t += 0.25
    pacer.wait()
    assert clock.sleeps == []
    pacer.wait()
    assert clock.sleeps == [0.25]


# -- the platform incident's severity -----------------------------------------------------------


@pytest.mark.parametrize("severity, level", [("Informational", 0.5), ("Low", 1), ("Medium", 2), ("High", 3),
                                             ("Critical", 0), (None, 0)])
def test_the_platform_severity_of_each_sentinel_severity(m, severity, level):
    """Given a fetched incident of each severity (or one Sentinel does not define, or none), then the platform
    incident's severity is the official level; an unknown one is 0 (unknown)."""
    item = incident("inc-1", 1, severity=severity)
    m.get(f"{WS_URL}/incidents", json={"value": [item]})
    platform = run("fetch-incidents", params=base_params(isFetch=True))
    assert [i["severity"] for i in platform.incidents] == [level]


# -- secrets in what users see ---------------------------------------------------------------------


def test_secrets_of_4_characters_or_more_are_masked_and_shorter_ones_are_not():
    """Given a redactor for the secrets 'abc' and 'wxyz', then 'wxyz' is masked wherever it appears and
    'abc' (too short to tell from ordinary text) is left as it is."""
    redact = MOD.Redactor(["abc", "wxyz"])
    masked = redact("abc-wxyz abcdef")
    assert "wxyz" not in masked and masked.count("abc") == 2


# -- quoting what the user gave --------------------------------------------------------------------


def test_a_foreign_related_resource_is_refused_quoting_its_first_80_characters(m):
    """Given create-incident-relation with a 200-character value that is no resource of this workspace, then
    one error shows the expected form and quotes the value's first 80 characters; nothing is sent."""
    value = "/subscriptions/other/" + "x" * 179
    message = only_error(run("azure-sentinel-create-incident-relation",
                             {"incident_id": "inc-1", "related_resource_id": value}))
    assert message.endswith(f"; got {value[:80]!r}.") and "(.../entities/<alert ID> for an alert)" in message
    assert [r for r in m.request_history if r.url.startswith(ARM)] == []

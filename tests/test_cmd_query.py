"""KQL through the Log Analytics query API, and the subscription / resource group commands.

The query API lives on its own host with its own token: unit tests use requests-mock, the end-to-end
test the emulator, whose query host refuses ARM tokens (and ARM refuses query tokens).
"""

from __future__ import annotations

import json

import pytest
import requests_mock
import yaml

from module_helpers import (
    ARM, RG, SUB, WS, arm_requests, base_params, context_value, load_json, mock_login, only_entry, only_error, run,
)
from sentinel_emulator import Emulator
from xsoar_local import cli

LA = "https://api.loganalytics.io"
CUSTOMER_ID = "b6b3e4f1-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
WORKSPACE = f"{ARM}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/workspaces/{WS}"
QUERY_URL = f"{LA}/v1/workspaces/{CUSTOMER_ID}/query"


@pytest.fixture
def m():
    with requests_mock.Mocker() as mocker:
        mock_login(mocker, "arm-token", "query-token")
        mocker.get(WORKSPACE, json=load_json("workspace_get.json"))
        yield mocker


def query(**args):
    return run("azure-sentinel-run-query", {"query": "SecurityIncident | take 2", **args})


def test_a_query_reads_the_workspace_id_once_and_uses_its_own_token(m):
    """Given no Workspace ID param, when two queries run, then the customer ID is read from ARM once (cached),
    and the query host gets only the query token, with the Log Analytics scope."""
    workspace = m.get(WORKSPACE, json=load_json("workspace_get.json"))
    answer = m.post(QUERY_URL, json=load_json("query_result.json"))
    first = query()
    second = run("azure-sentinel-run-query", {"query": "SecurityIncident | take 2"}, context=first.context)
    assert workspace.call_count == 1 and answer.call_count == 2
    assert workspace.last_request.headers["Authorization"] == "Bearer arm-token"
    assert {r.headers["Authorization"] for r in answer.request_history} == {"Bearer query-token"}
    scopes = [r.text for r in m.request_history if r.url.endswith("/oauth2/v2.0/token")]
    assert len(scopes) == 2 and "api.loganalytics.io%2F.default" in scopes[1]
    assert answer.last_request.json() == {"query": "SecurityIncident | take 2", "timespan": "P1D"}
    table = context_value(only_entry(second), "AzureSentinel.Query(")[0]
    assert table["TableName"] == "PrimaryResult" and table["RowCount"] == 2
    assert table["Rows"][0] == {"IncidentNumber": 12, "Title": "Suspicious sign-in", "Severity": "High",
                                "CreatedTime": "2026-03-01T08:15:00Z"}


def test_the_limit_caps_rows_in_context_and_says_so(m):
    m.post(QUERY_URL, json=load_json("query_result.json"))
    entry = only_entry(query(limit="1", timespan="PT12H"))
    table = context_value(entry, "AzureSentinel.Query(")[0]
    assert len(table["Rows"]) == 1 and table["RowCount"] == 2
    assert "2 rows, first 1" in entry["HumanReadable"]
    assert m.last_request.json()["timespan"] == "PT12H"


def test_a_partial_result_is_a_warning_not_silence(m):
    m.post(QUERY_URL, json={**load_json("query_result.json"), "error": {
        "code": "PartialError", "message": "There were some errors when processing your query.",
        "details": [{"code": "EngineError", "message": "Result truncated: too many rows."}]}})
    entry = only_entry(query())
    assert entry["HumanReadable"].startswith("**Warning: the result is partial** (PartialError")
    assert "Result truncated" in entry["HumanReadable"]


def test_a_kql_syntax_error_is_one_error_with_the_apis_message(m):
    m.post(QUERY_URL, status_code=400, json={"error": {
        "message": "The request had some invalid properties", "code": "BadArgumentError",
        "innererror": {"code": "SyntaxError", "message": "A recognition error occurred in the query.",
                       "innererror": {"code": "SYN0002", "message": "Query could not be parsed at 'x' on line [1,5]"}}}})
    message = only_error(query())
    assert "BadArgumentError" in message and "Query could not be parsed at 'x' on line [1,5]" in message


@pytest.mark.parametrize("timespan", ["1 day", "P", "PT", "yesterday"])
def test_a_bad_timespan_is_refused_before_sending(m, timespan):
    message = only_error(query(timespan=timespan))
    assert "timespan" in message and "ISO 8601" in message and arm_requests(m) == []


def test_a_custom_cloud_needs_the_query_url(m):
    params = base_params(azure_cloud="Custom", server_url=ARM, authority_url="https://login.microsoftonline.com")
    message = only_error(run("azure-sentinel-run-query", {"query": "T"}, params=params))
    assert "Log Analytics query API URL" in message


@pytest.mark.parametrize("cloud, host", [("US GCC-High", "https://api.loganalytics.us"),
                                         ("China", "https://api.loganalytics.azure.cn")])
def test_each_cloud_queries_its_own_host(m, cloud, host):
    arm = {"US GCC-High": "https://management.usgovcloudapi.net", "China": "https://management.chinacloudapi.cn"}[cloud]
    login = {"US GCC-High": "https://login.microsoftonline.us", "China": "https://login.chinacloudapi.cn"}[cloud]
    mock_login(m, "arm-token", "query-token", login=login)
    answer = m.post(f"{host}/v1/workspaces/{CUSTOMER_ID}/query", json={"tables": []})
    entry = only_entry(run("azure-sentinel-run-query", {"query": "T"},
                           params=base_params(azure_cloud=cloud, workspace_id=CUSTOMER_ID)))
    assert entry["Type"] == 1 and answer.call_count == 1
    assert not any(r.url.startswith(arm) for r in m.request_history)


def test_resource_groups_by_tag_quote_the_tag(m):
    listed = m.get(f"{ARM}/subscriptions/{SUB}/resourcegroups", json=load_json("resource_groups_list.json"))
    entry = only_entry(run("azure-sentinel-resource-group-list", {"tag": '{"Owner": "O\'Brien"}'}))
    assert listed.last_request.qs["$filter"] == ["tagname eq 'owner' and tagvalue eq 'o''brien'"]
    assert context_value(entry, "AzureSentinel.ResourceGroup(")[0]["name"] == "myRg"


@pytest.mark.parametrize("tag", ['{"a": "1", "b": "2"}', "Owner=me", '{"a": 1}'])
def test_a_bad_tag_is_refused(m, tag):
    message = only_error(run("azure-sentinel-resource-group-list", {"tag": tag}))
    assert "tag" in message and arm_requests(m) == []


def test_subscriptions_stop_at_the_limit_without_losing_the_rest_of_a_page(m):
    """Given a page of 3 subscriptions (the API takes no $top) and limit 2, then 2 come back and the link
    continues with the third."""
    page = [{**load_json("subscriptions_list.json")["value"][0], "subscriptionId": f"s{n}"} for n in range(3)]
    m.get(f"{ARM}/subscriptions", json={"value": page})
    entry = only_entry(run("azure-sentinel-subscriptions-list", {"limit": "2"}))
    assert [s["subscriptionId"] for s in context_value(entry, "AzureSentinel.Subscription(")] == ["s0", "s1"]
    assert "$top" not in m.last_request.qs and m.last_request.qs["api-version"] == ["2020-01-01"]
    link = context_value(entry, "AzureSentinel.NextLink")["URL"]
    rest = only_entry(run("azure-sentinel-subscriptions-list", {"next_link": link}))
    assert [s["subscriptionId"] for s in context_value(rest, "AzureSentinel.Subscription(")] == ["s2"]


def test_run_query_through_the_cli_against_the_emulator(tmp_path, monkeypatch, capsys):
    """Given the emulator (whose query host refuses ARM tokens and whose ARM refuses query tokens), when a user
    runs a KQL query through the CLI, then the rows are printed and each host got only its own token."""
    with Emulator(seed=30) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
        instance = tmp_path / "instance.yml"
        instance.write_text(yaml.safe_dump(emu.params()), encoding="utf-8")
        code = cli.main(["run", "--instance", str(instance), "--state", str(tmp_path / "s.sqlite"), "--json",
                         "azure-sentinel-run-query", "query=SecurityIncident | where Severity == 'High' | take 5"])
        out = capsys.readouterr().out
        hosts = {(r.endpoint == "query", r.host) for r in emu.requests if r.endpoint}
        tokens = sum(emu.token_requests.values())
    assert code == 0, out
    table = json.loads(out)[0]["EntryContext"]["AzureSentinel.Query(val.Query === obj.Query && val.TableName === "
                                                  "obj.TableName)"][0]
    assert 1 <= len(table["Rows"]) <= 5 and all(r["Severity"] == "High" for r in table["Rows"])
    assert tokens == 2  # one for ARM (the workspace's customer ID), one for the query API
    assert len({host for is_query, host in hosts if is_query}) == 1
    assert not {host for is_query, host in hosts if is_query} & {host for is_query, host in hosts if not is_query}

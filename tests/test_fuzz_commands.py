"""Property-based fuzzing of every command's arguments (hypothesis, fixed seed, bounded examples).

For every command in the manifest, arguments are drawn from the manifest's own argument list, with
values that are valid, absent, or hostile (traversal, injection, control characters, foreign links,
huge or odd text). Whatever is drawn, the command must end in exactly one entry: a valid result or one
clear error sentence — never a traceback, never an "Unexpected error", and never a request outside
the workspace the command works on (nor to any host but the ARM endpoint).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests_mock
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from module_helpers import ARM, INCIDENT_ID, RG, ROOT, SUB, WS, WS_URL, base_params, incident, load_module, mock_login
from xsoar_local.platform import Platform

MOD = load_module()
MANIFEST = yaml.safe_load((ROOT / "AzureSentinel" / "AzureSentinel.yml").read_text(encoding="utf-8"))
COMMANDS = {c["name"]: c for c in MANIFEST["script"]["commands"]}

HOSTILE = [
    "..", ".", "../../../providers/Microsoft.Authorization/roleAssignments", "%2e%2e", "%2E%2E%2F", "a/b", "a\\b",
    "a?b=c", "a#b", "'", "' or 1 eq 1 or '", "') or (1 eq 1", "\x00", "line\nbreak", "\t", "x" * 300, "",
    " ", "https://evil.example/x", f"{WS_URL}/incidents/../../../../x", f"{ARM}/subscriptions/{SUB}/providers/"
    "Microsoft.Authorization/roleAssignments", "http://127.0.0.1:1/", "true", "false", "-1", "0", "1e9", "99999999999",
    "[1, 2]", '["a", "b"]', '{"a": 1}', "null", "None", "\u202e", "\U0001F600", "<script>", "${jndi:x}", ",", ",,",
]
VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=24))


def answer(request, context) -> Any:
    """A plausible ARM answer for any Sentinel path (the shapes the API defines)."""
    path = request.path
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if request.method == "DELETE":
        context.status_code = 200
        return {}
    if path.endswith("/alerts") or path.endswith("/bookmarks") and request.method == "POST":
        return {"value": []}
    if path.endswith("/entities"):
        return {"entities": [], "metaData": []}
    if path.endswith("/queryindicators"):
        return {"value": [incident()]}
    if re.search(r"/workspaces/[^/]+$", path):
        return {"name": WS, "properties": {"customerId": "b6b3e4f1-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}}
    if re.search(r"^/subscriptions(/[^/]+/resourcegroups)?$", path):
        return {"value": [{"id": "x", "name": "n", "subscriptionId": "s"}]}
    if request.method == "GET" and re.search(r"/(incidents|comments|relations|tasks|watchlists|watchlistitems|"
                                             r"indicators|alertrules|alertruletemplates|automationrules|"
                                             r"bookmarks|dataconnectors)$", path):
        return {"value": [incident()]}
    body = request.json() if request.body else {}
    return {**incident(unquote(last)), **({"properties": body["properties"]} if isinstance(body, dict)
                                          and isinstance(body.get("properties"), dict) else {})}


@pytest.fixture(scope="module")
def cached_context() -> dict[str, Any]:
    """An integration context holding a valid token, so the fuzzed runs never sign in."""
    with requests_mock.Mocker() as m:
        mock_login(m, "fuzz-token", "fuzz-query-token", expires_in=10 ** 7)
        m.get(f"{WS_URL}/incidents", json={"value": []})
        platform = Platform(params=base_params(), command="test-module")
        MOD.demisto = platform.module()
        MOD.main()
        assert platform.results == ["ok"], platform.results
        # and a query: the Log Analytics token and the workspace's customer ID get cached too
        m.register_uri(requests_mock.ANY, re.compile(f"^{re.escape(ARM)}/"), json=answer)
        m.post(re.compile(r"^https://api\.loganalytics\.io/"), json={"tables": []})
        platform = Platform(params=base_params(), command="azure-sentinel-run-query", args={"query": "T"},
                            context=platform.context)
        MOD.demisto = platform.module()
        MOD.main()
        assert platform.results[0]["Type"] == 1, platform.results
        return platform.context


def allowed_prefix(args: dict[str, Any], name: str = "") -> str:
    """The path the command must stay in: its workspace (after the overrides), or for the subscription-level
    commands their own collection."""
    sub = str(args.get("subscription_id") or "").strip() or SUB
    if name == "azure-sentinel-subscriptions-list":
        return "/subscriptions"
    if name == "azure-sentinel-resource-group-list":
        return f"/subscriptions/{sub}/resourcegroups".lower()
    rg = str(args.get("resource_group_name") or "").strip() or RG
    ws = str(args.get("workspace_name") or "").strip() or WS
    workspace = f"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.operationalinsights/workspaces/{ws}"
    if name == "azure-sentinel-run-query":  # it reads the workspace itself (its customer ID)
        return workspace.lower()
    return f"{workspace}/providers/microsoft.securityinsights/".lower()


# Arguments the platform passes to update-remote-system without a manifest entry: native values with hostile
# contents (drawn first, so most runs get past argument parsing), or hostile text.
FIELD_VALUES = st.one_of(VALUES, st.integers(-1, 5), st.just(0.5), st.lists(VALUES, max_size=2), st.just({"a": 1}))
DICTS = st.dictionaries(st.sampled_from(["title", "description", "severity", "status", "owner", "tags",
                                         "classification", "classificationReason", "classificationComment",
                                         "closingUserId", "firstActivityTimeUtc", "lastActivityTimeUtc", "etag"]),
                        FIELD_VALUES)
ENTRIES = st.lists(st.one_of(
    st.fixed_dictionaries({"tags": st.just(["comment"])}, optional={k: FIELD_VALUES for k in ("id", "contents", "user")}),
    VALUES, st.dictionaries(st.sampled_from(["id", "contents", "tags", "user", "type"]), FIELD_VALUES)), max_size=3)
PLATFORM_ARGS = {"update-remote-system": {"data": DICTS, "delta": DICTS, "entries": ENTRIES,
                                          "incidentChanged": st.booleans(), "remoteId": st.just(INCIDENT_ID),
                                          "status": st.integers(-1, 4)}}


def arguments(command: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Each manifest argument absent, valid-looking, or hostile; plus an unknown one now and then."""
    fields = {}
    for arg in command.get("arguments") or []:
        options = [VALUES]
        if arg.get("predefined"):
            options.append(st.sampled_from(arg["predefined"]))
        if arg["name"] in ("incident_id", "id"):
            options.append(st.just(INCIDENT_ID))
        fields[arg["name"]] = st.one_of(st.none(), *options)
    for name, native in PLATFORM_ARGS.get(command["name"], {}).items():
        fields[name] = st.one_of(native, st.none(), VALUES)
    return st.fixed_dictionaries({}, optional={**fields, "unknown_argument": VALUES}).map(
        lambda drawn: {k: v for k, v in drawn.items() if v is not None})


def check_one_run(name: str, args: dict[str, Any], context: dict[str, Any]) -> None:
    with requests_mock.Mocker() as m:
        arm = m.register_uri(requests_mock.ANY, re.compile(f"^{re.escape(ARM)}/"), json=answer)
        query = m.post(re.compile(r"^https://api\.loganalytics\.io/v1/workspaces/[^/]+/query$"),
                       json={"tables": [{"name": "PrimaryResult", "columns": [{"name": "a", "type": "string"}],
                                         "rows": [["x"]]}]})
        platform = Platform(params=base_params(), command=name, args=copy.deepcopy(args),
                            context=copy.deepcopy(context))
        MOD.demisto = platform.module()
        MOD.main()  # must never raise for a command
        others = [r.url for r in m.request_history if not r.url.startswith(f"{ARM}/")
                  and not (name == "azure-sentinel-run-query" and r.url.startswith("https://api.loganalytics.io/"))]
    assert others == [], others
    entry = platform.results[0] if platform.results else None
    if name in MIRRORING_SHAPES and not (isinstance(entry, dict) and entry.get("Type") == 4):
        assert MIRRORING_SHAPES[name](args, platform.results), platform.results
        entry = {"Type": 1, "HumanReadable": "", "EntryContext": {}}
    assert len(platform.results) == 1 or name == "get-remote-data", platform.results
    assert isinstance(entry, dict) and entry.get("Type") in (1, 4), entry
    if entry["Type"] == 4:
        message = entry["Contents"]
        assert isinstance(message, str) and "\n" not in message.strip(), message
        assert "Traceback" not in message and "Unexpected error" not in message, message
    else:
        assert isinstance(entry["HumanReadable"], str) and isinstance(entry["EntryContext"], dict)
        json.dumps(entry)  # what the platform stores must be JSON
    prefix = allowed_prefix(args, name)
    for request in arm.request_history:
        decoded = unquote(request.path).lower()
        assert decoded.startswith(prefix), (request.method, decoded)
    for request in query.request_history:
        assert request.headers["Authorization"] == "Bearer fuzz-query-token", "the ARM token reached the query host"
    for request in arm.request_history:
        assert request.headers["Authorization"] == "Bearer fuzz-token", "the query token reached ARM"
        assert not {".", ".."} & set(decoded.split("/")), decoded
    assert "fuzz-token" not in json.dumps(platform.results) and "fuzz-query-token" not in json.dumps(platform.results)


def _mirrored(results: list[Any]) -> bool:
    first, entries = (results or [None])[0], results[1:]
    return (isinstance(first, dict) and ("ID" in first or set(first) == {"id", "in_mirror_error"})
            and all(isinstance(e, dict) and e.get("Type") == 1 for e in entries))


# The mirroring commands answer in the platform's own shapes (CommonServerPython's helpers), not note entries.
MIRRORING_SHAPES = {
    "get-modified-remote-data": lambda args, results: len(results) == 1 and results[0].get("Type") == 1
    and all(isinstance(i, str) for i in results[0]["Contents"]),
    "get-remote-data": lambda args, results: _mirrored(results),
    "update-remote-system": lambda args, results: results == [str(args.get("remoteId")).strip()],
    "get-mapping-fields": lambda args, results: len(results) == 1 and set(results[0]) == {"Microsoft Sentinel Incident"},
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_any_arguments_end_in_one_result_or_one_clear_error(name, cached_context):
    """Given any arguments (valid, absent or hostile) for a command, when it runs, then it returns exactly
    one entry (a result or one clear error) and sends requests only inside its workspace."""

    @settings(max_examples=100, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(args=arguments(COMMANDS[name]))
    def run_with(args: dict[str, Any]) -> None:
        check_one_run(name, args, cached_context)

    run_with()


def test_the_prefix_check_itself_catches_a_request_outside_the_workspace(cached_context):
    """Given a (simulated) request outside the workspace, then the fuzz check fails: it can catch escapes."""
    outside = f"/subscriptions/{SUB}/providers/microsoft.authorization/roleassignments"
    assert not outside.startswith(allowed_prefix({}))
    assert quote(allowed_prefix({"subscription_id": "other"}), safe="/").startswith("/subscriptions/other/")


def test_update_remote_system_with_any_delta_data_and_entries(cached_context):
    """Given update-remote-system with well-formed arguments whose contents are anything (hostile field values,
    odd entries), when it runs with close_ticket set, then it ends in the remote ID or one clear error, and
    every incident it writes has only values Sentinel defines (severity, status, labels as objects)."""

    @settings(max_examples=150, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(delta=DICTS, data=DICTS, entries=ENTRIES, changed=st.booleans(), status=st.integers(-1, 4))
    def run_with(delta, data, entries, changed, status) -> None:
        args = {"remoteId": INCIDENT_ID, "delta": delta, "data": data, "entries": entries,
                "incidentChanged": changed, "status": status}
        with requests_mock.Mocker() as m:
            arm = m.register_uri(requests_mock.ANY, re.compile(f"^{re.escape(ARM)}/"), json=answer)
            platform = Platform(params=base_params(close_ticket=True), command="update-remote-system",
                                args=copy.deepcopy(args), context=copy.deepcopy(cached_context))
            MOD.demisto = platform.module()
            MOD.main()
        (result,) = platform.results
        if isinstance(result, dict):
            assert result["Type"] == 4 and "Unexpected" not in result["Contents"], result
        else:
            assert result == INCIDENT_ID
        for request in arm.request_history:
            if request.method == "PUT" and request.path.lower().endswith(f"/incidents/{INCIDENT_ID}"):
                props = request.json()["properties"]
                assert props["severity"] in ("Informational", "Low", "Medium", "High"), props
                assert props["status"] in ("New", "Active", "Closed"), props
                assert all(isinstance(label.get("labelName"), str) for label in props.get("labels", [])), props
            elif request.method == "PUT":
                assert isinstance(request.json()["properties"]["message"], str)

    run_with()

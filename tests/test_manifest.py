"""Schema-level checks of AzureSentinel/AzureSentinel.yml, in the spirit of `demisto-sdk validate`.

These tests look at the manifest alone: its shape, the XSOAR conventions a validator enforces, and the
names that make it a drop-in replacement for the official "Azure Sentinel" integration (parameter names
and types, command and argument names, context paths). Agreement between the manifest and the module's
code is another test's job (the contract test), not this file's.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "AzureSentinel" / "AzureSentinel.yml"
DESCRIPTION_PATH = ROOT / "AzureSentinel" / "AzureSentinel_description.md"

MANIFEST = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
PARAMS = MANIFEST["configuration"]
PARAMS_BY_NAME = {p["name"]: p for p in PARAMS}
COMMANDS = MANIFEST["script"]["commands"]
COMMANDS_BY_NAME = {c["name"]: c for c in COMMANDS}

# Official instance parameters (compat checklist §1, rows 1-28): name -> type code.
OFFICIAL_PARAM_TYPES = {
    "azure_cloud": 15,
    "limit": 0,
    "creds_tenant_id": 9,
    "tenant_id": 4,
    "creds_client_id": 9,
    "credentials": 9,
    "creds_certificate": 9,
    "certificate_thumbprint": 4,
    "private_key": 14,
    "use_managed_identities": 8,
    "managed_identities_client_id": 9,
    "subscriptionID": 0,
    "resourceGroupName": 0,
    "workspaceName": 0,
    "isFetch": 8,
    "fetch_time": 0,
    "min_severity": 15,
    "incidentType": 13,
    "server_url": 0,
    "insecure": 8,
    "proxy": 8,
    "fetch_additional_info": 16,
    "mirror_direction": 15,
    "close_incident": 8,
    "close_ticket": 8,
    "statuses_to_fetch": 16,
    "incidentFetchInterval": 19,
    "look_back": 0,
}
OFFICIAL_REQUIRED_PARAMS = {"subscriptionID", "resourceGroupName", "workspaceName"}
OFFICIAL_HIDDEN_PARAMS = {"tenant_id", "certificate_thumbprint", "private_key"}
MIRRORING_PARAMS = {"mirror_direction", "close_incident", "close_ticket"}
OFFICIAL_OPTIONS = {
    "azure_cloud": ["Worldwide", "US GCC", "US GCC-High", "DoD", "Germany", "China", "Custom"],
    "min_severity": ["Informational", "Low", "Medium", "High"],
    "fetch_additional_info": ["Alerts", "Entities", "Comments", "Relations"],
    "mirror_direction": ["None", "Incoming", "Outgoing", "Incoming And Outgoing"],
    "statuses_to_fetch": ["New", "Active", "Closed"],
}
# Parameters this project adds (type, section).
NEW_PARAMS = {"authority_url": (0, "Connect"), "log_analytics_url": (0, "Connect"), "workspace_id": (0, "Connect"),
              "odata_filter": (0, "Collect"), "escalation_horizon_days": (0, "Collect"), "comment_tag": (0, "Collect")}

OFFICIAL_CAMEL_CASE_ARGS = {"displayName"}  # create/update-alert-rule: the official argument name

# Parameter type codes known to demisto-sdk (ParameterType).
KNOWN_PARAM_TYPES = {0, 1, 4, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}
VALID_SECTIONS = {"Connect", "Collect", "Optimize"}
VALID_OUTPUT_TYPES = {"String", "Number", "Date", "Boolean", "Unknown"}
MARKETPLACES = {"xsoar", "marketplacev2", "xpanse", "xsoar_saas", "xsoar_on_prem", "platform"}
# A subset of the category list demisto-sdk accepts; this integration must use one of these.
VALID_CATEGORIES = {
    "Analytics & SIEM", "Authentication & Identity Management", "Case Management", "Data Enrichment & Threat Intelligence",
    "Endpoint", "Network Security", "Cloud Services", "IT Services", "Utilities", "Email", "Messaging and Conferencing",
    "Vulnerability Management", "Forensics & Malware Analysis", "Deception & Breach Simulation", "File Integrity Management",
}

# Official commands this manifest carries now (compat checklist §2.1 and §2.5).
INCIDENT_COMMANDS = {
    "azure-sentinel-get-incident-by-id",
    "azure-sentinel-list-incidents",
    "azure-sentinel-update-incident",
    "azure-sentinel-create-incident",
}
EXPECTED_COMMANDS = INCIDENT_COMMANDS | {
    "azure-sentinel-delete-incident",
    "azure-sentinel-list-incident-comments",
    "azure-sentinel-incident-add-comment",
    "azure-sentinel-incident-delete-comment",
    "azure-sentinel-list-incident-relations",
    "azure-sentinel-list-incident-entities",
    "azure-sentinel-list-incident-alerts",
    "azure-sentinel-auth-reset",
}
# The platform's mirroring commands (compat §2.6): it calls them itself, with its own argument names.
MIRRORING_COMMANDS = {"get-modified-remote-data", "get-remote-data", "update-remote-system", "get-mapping-fields"}
EXPECTED_COMMANDS |= MIRRORING_COMMANDS
NO_TARGET_OVERRIDE = {"azure-sentinel-create-incident", "azure-sentinel-auth-reset"} | MIRRORING_COMMANDS
PAGING_COMMANDS = {
    "azure-sentinel-list-incidents",
    "azure-sentinel-list-incident-comments",
    "azure-sentinel-list-incident-relations",
}

# command -> {arg name: (required, isArray, predefined values or None, defaultValue or None)}
OFFICIAL_ARGS = {
    "azure-sentinel-get-incident-by-id": {"incident_id": (True, False, None, None)},
    "azure-sentinel-list-incidents": {
        "limit": (False, False, None, "50"),
        "filter": (False, False, None, None),
        "next_link": (False, False, None, None),
    },
    "azure-sentinel-update-incident": {
        "incident_id": (True, False, None, None),
        "title": (False, False, None, None),
        "description": (False, False, None, None),
        "severity": (False, False, ["High", "Medium", "Low", "Informational"], None),
        "status": (False, False, ["New", "Active", "Closed"], None),
        "classification": (False, False, ["BenignPositive", "FalsePositive", "TruePositive", "Undetermined"], None),
        "classification_comment": (False, False, None, None),
        "classification_reason": (
            False, False, ["InaccurateData", "IncorrectAlertLogic", "SuspiciousActivity", "SuspiciousButExpected"], None),
        "assignee_email": (False, False, None, None),
        "user_principal_name": (False, False, None, None),
        "assignee_objectid": (False, False, None, None),
        "labels": (False, True, None, None),
        "unassign": (False, False, ["false", "true"], None),
    },
    "azure-sentinel-create-incident": {
        "title": (True, False, None, None),
        "severity": (False, False, ["High", "Medium", "Low", "Informational"], None),
        "status": (True, False, ["New", "Active", "Closed"], None),
        "description": (False, False, None, None),
        "labels": (False, True, None, None),
    },
    "azure-sentinel-delete-incident": {"incident_id": (True, False, None, None)},
    "azure-sentinel-list-incident-comments": {
        "incident_id": (True, False, None, None),
        "limit": (False, False, None, "50"),
        "next_link": (False, False, None, None),
    },
    "azure-sentinel-incident-add-comment": {
        "incident_id": (True, False, None, None),
        "message": (True, False, None, None),
        "comment_id": (False, False, None, None),
    },
    "azure-sentinel-incident-delete-comment": {
        "incident_id": (True, False, None, None),
        "comment_id": (True, False, None, None),
    },
    "azure-sentinel-list-incident-relations": {
        "incident_id": (True, False, None, None),
        "limit": (False, False, None, "50"),
        "next_link": (False, False, None, None),
        # Free text in the official YAML (the kinds are listed in its description, not as predefined values).
        "entity_kinds": (False, True, None, None),
        "filter": (False, False, None, None),
    },
    "azure-sentinel-list-incident-entities": {"incident_id": (True, False, None, None)},
    "azure-sentinel-list-incident-alerts": {"incident_id": (True, False, None, None)},
    "azure-sentinel-auth-reset": {},
    "get-modified-remote-data": {"lastUpdate": (True, False, None, None)},
    "get-remote-data": {"id": (True, False, None, None), "lastUpdate": (False, False, None, "0")},
    "update-remote-system": {},
    "get-mapping-fields": {},
}

# Incident context fields (compat §2.1, the YAML's names: BookmarkCount/CommentCount) -> output type.
INCIDENT_FIELDS = {
    "ID": "String", "Title": "String", "Description": "String", "Severity": "String", "Status": "String",
    "AssigneeName": "String", "AssigneeEmail": "String", "AssigneeObjectID": "String", "AssigneeUPN": "String",
    "Label.Name": "String", "Label.Type": "String",
    "FirstActivityTimeUTC": "Date", "LastActivityTimeUTC": "Date", "LastModifiedTimeUTC": "Date", "CreatedTimeUTC": "Date",
    "IncidentNumber": "Number", "AlertsCount": "Number", "BookmarkCount": "Number", "CommentCount": "Number",
    "AlertProductNames": "String", "Tactics": "String",
    "FirstActivityTimeGenerated": "Date", "LastActivityTimeGenerated": "Date", "Etag": "String", "IncidentUrl": "String",
}
OFFICIAL_OUTPUTS = {
    "azure-sentinel-list-incident-comments": {
        "AzureSentinel.IncidentComment." + f
        for f in ("ID", "IncidentID", "Message", "AuthorName", "AuthorEmail", "CreatedTimeUTC")
    },
    "azure-sentinel-incident-add-comment": {
        "AzureSentinel.IncidentComment." + f
        for f in ("ID", "IncidentID", "Message", "AuthorName", "AuthorEmail", "CreatedTimeUTC")
    },
    "azure-sentinel-list-incident-relations": {
        "AzureSentinel.IncidentRelatedResource." + f for f in ("ID", "Kind", "IncidentID")
    },
    "azure-sentinel-list-incident-entities": {
        "AzureSentinel.IncidentEntity." + f for f in ("ID", "IncidentId", "Kind", "Properties")
    },
    "azure-sentinel-list-incident-alerts": {
        "AzureSentinel.IncidentAlert." + f
        for f in ("ID", "IncidentId", "Kind", "Tactic", "Techniques", "DisplayName", "Description", "ConfidenceLevel",
                  "Severity", "VendorName", "ProductName", "ProductComponentName")
    },
    "azure-sentinel-delete-incident": {"AzureSentinel.Incident.Deleted"},
}


def _args(command: dict) -> list[dict]:
    return command.get("arguments") or []


def _outputs(command: dict) -> list[dict]:
    return command.get("outputs") or []


def _all_descriptions():
    yield "integration description", MANIFEST["description"]
    for p in PARAMS:
        if "additionalinfo" in p:
            yield f"param {p['name']} additionalinfo", p["additionalinfo"]
    for c in COMMANDS:
        yield f"command {c['name']}", c.get("description")
        for a in _args(c):
            yield f"arg {c['name']}.{a['name']}", a.get("description")
        for o in _outputs(c):
            yield f"output {c['name']} {o.get('contextPath')}", o.get("description")


# --- top level (BA100, BA101, IN104, IN108, IN109-112, DS105) -------------------------------------------------


def test_required_top_level_keys():
    """Given the manifest, then it has every top-level key the integration schema requires."""
    for key in ("commonfields", "name", "display", "category", "description", "configuration", "script"):
        assert key in MANIFEST, key
    assert {"id", "version"} <= MANIFEST["commonfields"].keys()
    assert {"script", "type"} <= MANIFEST["script"].keys()


def test_id_equals_name_and_version_is_minus_one():
    """Given the manifest, then id == name == 'Azure Sentinel' (the official id) and version is -1."""
    assert MANIFEST["commonfields"]["id"] == MANIFEST["name"] == "Azure Sentinel"
    assert MANIFEST["commonfields"]["version"] == -1


def test_display_category_fromversion():
    """Given the manifest, then its display, category, sectionOrder and fromversion are the expected ones."""
    assert MANIFEST["display"] == "Microsoft Sentinel"
    assert MANIFEST["category"] in VALID_CATEGORIES
    assert MANIFEST["category"] == "Analytics & SIEM"
    assert MANIFEST["sectionOrder"] == ["Connect", "Collect"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(MANIFEST["fromversion"]))
    assert MANIFEST["fromversion"] == "6.0.0"


def test_no_beta_in_names():
    """Given the id, name and display, then none of them mentions 'beta' (IN109-IN112)."""
    for value in (MANIFEST["commonfields"]["id"], MANIFEST["name"], MANIFEST["display"]):
        assert "beta" not in value.lower()


def test_detailed_description_lives_in_the_description_file():
    """Given the description file exists, then it is non-empty and the yml carries no inline copy (DS104, DS105)."""
    assert DESCRIPTION_PATH.is_file()
    assert DESCRIPTION_PATH.read_text(encoding="utf-8").strip()
    assert "detaileddescription" not in MANIFEST


def test_script_block():
    """Given the script block, then it is a python3 fetching script whose mirroring flags agree with each
    other (they turn on together, with the mirroring commands: see test_module_contract)."""
    script = MANIFEST["script"]
    assert script["script"] == "-"
    assert script["type"] == "python"
    assert script["subtype"] == "python3"
    assert script["isfetch"] is True
    assert script["ismappable"] == script["isremotesyncin"] == script["isremotesyncout"]


def test_docker_image_is_pinned_demisto_image():
    """Given the docker image, then it is demisto/<name>:<tag> with a concrete tag, never latest (DO100, DO101, DO104)."""
    image = MANIFEST["script"].get("dockerimage")
    assert image, "dockerimage missing"
    m = re.fullmatch(r"demisto/([a-z0-9._-]+):([A-Za-z0-9._-]+)", image)
    assert m, image
    tag = m.group(2)
    assert tag != "latest"
    assert re.fullmatch(r"\d+(\.\d+)+", tag), f"tag {tag!r} is not a pinned version"


# --- parameters (IN100, IN102, IN113, IN118, IN121, IN135, IN145) ------------------------------------------------


def test_no_duplicate_params():
    """Given the configuration, then no parameter name appears twice (IN113)."""
    dupes = [n for n, k in Counter(p["name"] for p in PARAMS).items() if k > 1]
    assert not dupes


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p["name"])
def test_param_shape(param):
    """Given any parameter, then it has a known type, a display (or displaypassword), a valid section and flags."""
    assert isinstance(param["type"], int) and param["type"] in KNOWN_PARAM_TYPES
    display = param.get("display") or param.get("displaypassword")
    assert display, f"{param['name']} has no display (IN118)"
    assert display[0].isupper() and "_" not in display, f"{param['name']} display {display!r} (IN135)"
    if param["type"] == 9 and not param.get("display"):
        assert param.get("hiddenusername") is True, "type-9 param without display must hide its username"
    assert isinstance(param.get("required", False), bool)
    assert param.get("section") in VALID_SECTIONS
    assert param["section"] in MANIFEST["sectionOrder"]
    hidden = param.get("hidden", False)
    assert isinstance(hidden, bool) or (isinstance(hidden, list) and set(hidden) <= MARKETPLACES)
    if "advanced" in param:
        assert isinstance(param["advanced"], bool)
    if param["type"] == 8:
        assert param.get("required", False) is False, "checkbox params must not be required (IN102)"
        if "defaultvalue" in param:
            assert str(param["defaultvalue"]).lower() in ("true", "false")
    if param["type"] in (15, 16):
        assert param.get("options"), "select params need options"
        assert len(set(param["options"])) == len(param["options"])
        if param["type"] == 15 and "defaultvalue" in param:
            assert param["defaultvalue"] in param["options"]
    else:
        assert "options" not in param
    if param["type"] == 4:
        assert param.get("hidden") is True, "an unhidden type-4 param must be a type-9 credential instead (IN145)"


@pytest.mark.parametrize("name", sorted(OFFICIAL_PARAM_TYPES))
def test_official_param_present_with_official_type(name):
    """Given an official parameter name, then the manifest has it with the official type."""
    assert name in PARAMS_BY_NAME, f"official param {name} missing"
    assert PARAMS_BY_NAME[name]["type"] == OFFICIAL_PARAM_TYPES[name]


def test_required_params_are_the_official_three():
    """Given the configuration, then exactly subscriptionID, resourceGroupName and workspaceName are required."""
    required = {p["name"] for p in PARAMS if p.get("required")}
    assert required == OFFICIAL_REQUIRED_PARAMS


def test_official_hidden_and_option_values():
    """Given the legacy and mirroring params, then they keep the official hidden form and option lists."""
    for name in OFFICIAL_HIDDEN_PARAMS:
        assert PARAMS_BY_NAME[name].get("hidden") is True, name
    for name in MIRRORING_PARAMS:
        assert PARAMS_BY_NAME[name].get("hidden") == ["marketplacev2", "platform"], name
    for name, options in OFFICIAL_OPTIONS.items():
        assert PARAMS_BY_NAME[name]["options"] == options, name


def test_official_defaults_and_deliberate_changes():
    """Given the params with defaults, then they keep the official ones except limit (50, up to 1000)."""
    expected = {
        "azure_cloud": "Worldwide", "fetch_time": "3 days", "min_severity": "Informational",
        "server_url": "https://management.azure.com", "mirror_direction": "None", "close_incident": "false",
        "close_ticket": "false", "incidentFetchInterval": "1", "look_back": "0",
        "limit": "50", "escalation_horizon_days": "7",
    }
    for name, value in expected.items():
        assert str(PARAMS_BY_NAME[name].get("defaultvalue")) == value, name
    assert "1000" in PARAMS_BY_NAME["limit"]["additionalinfo"]


def test_new_params():
    """Given the params this project adds, then they exist as optional text params in the right section."""
    for name, (typ, section) in NEW_PARAMS.items():
        p = PARAMS_BY_NAME[name]
        assert p["type"] == typ and p["section"] == section and not p.get("required"), name
        assert p.get("additionalinfo"), name


def test_insecure_and_proxy_are_standard():
    """Given insecure and proxy, then they are optional checkboxes with the standard displays (IN100)."""
    assert PARAMS_BY_NAME["insecure"]["type"] == 8
    assert PARAMS_BY_NAME["insecure"]["display"] == "Trust any certificate (not secure)"
    assert PARAMS_BY_NAME["proxy"]["type"] == 8
    assert PARAMS_BY_NAME["proxy"]["display"] == "Use system proxy settings"
    for name in ("insecure", "proxy"):
        assert not PARAMS_BY_NAME[name].get("required")
        assert str(PARAMS_BY_NAME[name].get("defaultvalue", "false")).lower() == "false"


def test_fetch_params():
    """Given a fetching integration, then isFetch (type 8) and incidentType (type 13) have the standard displays (IN121)."""
    assert PARAMS_BY_NAME["isFetch"]["type"] == 8
    assert PARAMS_BY_NAME["isFetch"]["display"] == "Fetch incidents"
    assert PARAMS_BY_NAME["incidentType"]["type"] == 13
    assert PARAMS_BY_NAME["incidentType"]["display"] == "Incident type"


# --- commands and arguments (IN113, IN114, IN134, BA128) ---------------------------------------------------------


def test_command_set():
    """Given the commands, then the manifest carries the official incident, comment and auth commands, once each."""
    names = [c["name"] for c in COMMANDS]
    assert len(names) == len(set(names))
    assert EXPECTED_COMMANDS <= set(names)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c["name"])
def test_command_shape(command):
    """Given any command, then its name, description, arguments and outputs are well formed."""
    assert re.fullmatch(r"[a-z][a-z0-9-]*", command["name"]), "command names are lowercase, not starting with a digit"
    assert command.get("description")
    assert isinstance(command.get("execution", False), bool)
    args = _args(command)
    names = [a["name"] for a in args]
    assert len(names) == len(set(names)), "duplicate argument (IN114)"
    assert sum(1 for a in args if a.get("default") is True) <= 1, "more than one default argument (IN134)"
    for a in args:
        # The mirroring commands keep the platform's camelCase names (lastUpdate); so does one official argument.
        name_shape = r"[a-z][A-Za-z0-9]*" if command["name"] in MIRRORING_COMMANDS else r"[a-z][a-z0-9_]*"
        assert re.fullmatch(name_shape, a["name"]) or a["name"] in OFFICIAL_CAMEL_CASE_ARGS, a["name"]
        assert a.get("description"), a["name"]
        assert isinstance(a.get("required", False), bool)
        assert isinstance(a.get("isArray", False), bool)
        if a.get("auto") == "PREDEFINED" or "predefined" in a:
            assert a.get("auto") == "PREDEFINED", f"{a['name']}: predefined list without auto: PREDEFINED"
            values = a.get("predefined") or []
            assert values and all(isinstance(v, str) and v for v in values), f"{a['name']}: empty predefined list"
            assert len(set(values)) == len(values)
            if "defaultValue" in a:
                assert str(a["defaultValue"]) in values
        if a.get("required"):
            assert "defaultValue" not in a, f"{a['name']}: a required argument needs no default"
    paths = [o.get("contextPath") for o in _outputs(command)]
    assert len(paths) == len(set(paths)), "duplicate output"
    for o in _outputs(command):
        path = o.get("contextPath")
        assert path and path.startswith("AzureSentinel."), path
        assert len(path.split(".")) <= 5, f"{path} is deeper than 5 (BA127)"
        assert o.get("description"), path
        assert o.get("type") in VALID_OUTPUT_TYPES, path


@pytest.mark.parametrize("name", sorted(OFFICIAL_ARGS))
def test_official_arguments(name):
    """Given a command, then its arguments have the official names, required flags, isArray, predefined values and defaults."""
    command = COMMANDS_BY_NAME[name]
    args = {a["name"]: a for a in _args(command)}
    expected = dict(OFFICIAL_ARGS[name])
    if name not in NO_TARGET_OVERRIDE:
        expected["subscription_id"] = (False, False, None, None)
        expected["resource_group_name"] = (False, False, None, None)
        expected["workspace_name"] = (False, False, None, None)  # ours: several workspaces per instance
    assert set(args) == set(expected)
    for arg_name, (required, is_array, predefined, default) in expected.items():
        a = args[arg_name]
        assert bool(a.get("required")) is required, arg_name
        assert bool(a.get("isArray")) is is_array, arg_name
        assert a.get("predefined") == predefined, arg_name
        assert a.get("defaultValue") == default, arg_name


def test_auth_reset_is_not_an_execution_command():
    """Given azure-sentinel-auth-reset, then it is marked execution: false and takes no arguments."""
    command = COMMANDS_BY_NAME["azure-sentinel-auth-reset"]
    assert command.get("execution") is False
    assert not _args(command)


@pytest.mark.parametrize("name", sorted(INCIDENT_COMMANDS))
def test_incident_outputs(name):
    """Given an incident command, then it outputs every official incident field with its type."""
    outputs = {o["contextPath"]: o["type"] for o in _outputs(COMMANDS_BY_NAME[name])}
    for field, typ in INCIDENT_FIELDS.items():
        path = f"AzureSentinel.Incident.{field}"
        assert outputs.get(path) == typ, path


@pytest.mark.parametrize("name", sorted(OFFICIAL_OUTPUTS))
def test_other_official_outputs(name):
    """Given a non-incident command, then it outputs the official context paths."""
    paths = {o["contextPath"] for o in _outputs(COMMANDS_BY_NAME[name])}
    assert OFFICIAL_OUTPUTS[name] <= paths


def test_next_link_outputs_only_on_paging_commands():
    """Given the commands, then exactly the paging list commands output AzureSentinel.NextLink.{Description,URL}."""
    with_next = {
        c["name"] for c in COMMANDS
        if {"AzureSentinel.NextLink.Description", "AzureSentinel.NextLink.URL"} <= {o["contextPath"] for o in _outputs(c)}
    }
    assert with_next == {c["name"] for c in COMMANDS if "next_link" in {a["name"] for a in _args(c)}}
    assert PAGING_COMMANDS <= with_next
    assert COMMANDS_BY_NAME["azure-sentinel-delete-incident"]["outputs"]
    deleted = [o for o in _outputs(COMMANDS_BY_NAME["azure-sentinel-delete-incident"])
               if o["contextPath"] == "AzureSentinel.Incident.Deleted"]
    assert deleted and deleted[0]["type"] == "Boolean"


# --- descriptions (DS108) ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where,text", [pytest.param(w, t, id=w) for w, t in _all_descriptions()])
def test_descriptions_end_with_a_dot(where, text):
    """Given any description in the manifest, then it is non-empty and ends with a dot."""
    assert text and text.strip(), where
    assert text.rstrip().endswith("."), f"{where}: {text!r}"

"""Shared helpers for the tests of AzureSentinel/AzureSentinel.py (tests/test_module_*.py).

Everything Azure is served by requests-mock: the Entra ID sign-in endpoints, the ARM API and the
managed identity endpoints. Nothing here touches the network (tests/conftest.py enforces that).

- `load_module()` imports the integration directly (with a stand-in `demistomock`), for tests of
  Transport, Credential, Client and the formatters.
- `run(...)` runs it the way the platform does (a fresh module per command) and returns the Platform
  that recorded results, logs and the integration context.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from xsoar_local.platform import MODULE_PATH, Platform, run_module

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "AzureSentinel" / "test_data"

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_SECRET = "s3cr3t-Value~of.the-client-secret"
SUB = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
RG = "myRg"
WS = "myWorkspace"

ARM = "https://management.azure.com"
LOGIN = "https://login.microsoftonline.com"
TOKEN_URL = f"{LOGIN}/{TENANT}/oauth2/v2.0/token"
OPENID_URL = f"{LOGIN}/{TENANT}/v2.0/.well-known/openid-configuration"
WS_URL = (f"{ARM}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/"
          f"workspaces/{WS}/providers/Microsoft.SecurityInsights")
INCIDENT_ID = "73e01a99-5cd7-4139-a149-9f2736ff2ab5"
INCIDENT_URL = f"{WS_URL}/incidents/{INCIDENT_ID}"
NEXT_LINK_KEY = 'AzureSentinel.NextLink(val.Description == "NextLink for listing commands")'

_counter = itertools.count()


def load_json(name: str) -> Any:
    """A recorded API payload from AzureSentinel/test_data (a fresh copy each time)."""
    return json.loads((TEST_DATA / name).read_text(encoding="utf-8"))


def load_module():
    """Import AzureSentinel.py under a unique name, with a stand-in `demistomock` in sys.modules."""
    sys.modules["demistomock"] = Platform().module()
    name = f"azure_sentinel_under_test_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def base_params(**overrides: Any) -> dict[str, Any]:
    """Instance parameters for client-secret authentication against the Worldwide cloud."""
    params: dict[str, Any] = {
        "azure_cloud": "Worldwide",
        "creds_tenant_id": {"identifier": "", "password": TENANT},
        "creds_client_id": {"identifier": "", "password": CLIENT_ID},
        "credentials": {"identifier": "", "password": CLIENT_SECRET},
        "subscriptionID": SUB,
        "resourceGroupName": RG,
        "workspaceName": WS,
    }
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params


def openid_configuration(login: str = LOGIN, tenant: str = TENANT) -> dict[str, str]:
    return {
        "token_endpoint": f"{login}/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"{login}/{tenant}/oauth2/v2.0/authorize",
        "issuer": f"{login}/{tenant}/v2.0",
        "device_authorization_endpoint": f"{login}/{tenant}/oauth2/v2.0/devicecode",
    }


def token_response(token: str = "access-token-1", expires_in: int = 3599) -> dict[str, Any]:
    return {"json": {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
                     "access_token": token}, "status_code": 200}


def mock_login(m, *tokens: str, expires_in: int = 3599, login: str = LOGIN, tenant: str = TENANT):
    """Serve Entra ID's discovery document and token endpoint; each token request gets the next token.

    Returns the token endpoint's matcher (its `.call_count` and `.request_history` are the sign-ins).
    """
    m.get(f"{login}/{tenant}/v2.0/.well-known/openid-configuration", json=openid_configuration(login, tenant))
    # MSAL looks up the authority's aliases on some paths (e.g. after a failed sign-in).
    host = login.split("://", 1)[1]
    m.get(f"{login}/common/discovery/instance", json={
        "tenant_discovery_endpoint": f"{login}/{tenant}/v2.0/.well-known/openid-configuration",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]})
    responses = [token_response(t, expires_in) for t in (tokens or ("access-token-1",))]
    return m.post(f"{login}/{tenant}/oauth2/v2.0/token", responses)


def form(request) -> dict[str, str]:
    """The form-encoded body of a request, one value per key."""
    return {k: v[0] for k, v in parse_qs(request.text or "").items()}


def query(request) -> dict[str, str]:
    """The query string of a request, decoded, one value per key."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query, keep_blank_values=True).items()}


def arm_requests(m) -> list:
    """The requests that reached the ARM endpoint (sign-in traffic left out)."""
    return [r for r in m.request_history if r.url.startswith(ARM)]


def run(command: str, args: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None, **kwargs: Any) -> Platform:
    """Run the integration once for `command`, as the platform would."""
    platform = Platform(params=copy.deepcopy(params if params is not None else base_params()),
                        command=command, args=dict(args or {}), context=context if context is not None else {},
                        **kwargs)
    return run_module(platform)


def only_entry(platform: Platform) -> Any:
    """The single entry a command returned."""
    assert len(platform.results) == 1, platform.results
    return platform.results[0]


def only_error(platform: Platform) -> str:
    """The single error entry a command returned (its Contents)."""
    entry = only_entry(platform)
    assert isinstance(entry, dict) and entry.get("Type") == 4, entry
    assert entry.get("ContentsFormat") == "text"
    return str(entry["Contents"])


def context_value(entry: dict[str, Any], prefix: str) -> Any:
    """The EntryContext value whose key starts with `prefix` (e.g. 'AzureSentinel.Incident(')."""
    matches = [v for k, v in entry["EntryContext"].items() if k.startswith(prefix)]
    assert len(matches) == 1, list(entry["EntryContext"])
    return matches[0]


def all_text(platform: Platform) -> str:
    """Every entry, log line and context output of a run, as one string (for leak checks)."""
    return json.dumps({"results": platform.results, "logs": platform.logs,
                       "incidents": platform.incidents, "last_run": platform.new_last_run}, default=str)


SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def load_samples() -> list[dict[str, Any]]:
    """The recorded command samples of tests/samples/*.yaml (format: tests/test_command_outputs.py)."""
    import yaml

    return [sample for path in sorted(SAMPLES_DIR.glob("*.yaml"))
            for sample in yaml.safe_load(path.read_text(encoding="utf-8")) or []]


def serve_sample(m, sample: dict[str, Any]) -> dict[str, str]:
    """Register a sample's recorded answers on requests-mock `m`; returns its file entries (ID -> path)."""
    import re

    for route in sample.get("routes") or []:
        url = route.get("url") or f"{WS_URL}/{route['path']}"
        matcher = re.compile(url[3:]) if url.startswith("re:") else url.replace("{ARM}", ARM)
        body = load_json(route["json_file"]) if "json_file" in route else route.get("json", {})
        m.register_uri(route.get("method", "GET"), matcher, status_code=route.get("status", 200), json=body)
    return {k: str(TEST_DATA / v) for k, v in (sample.get("files") or {}).items()}


def cached_token(context: dict[str, Any]) -> dict[str, Any]:
    """The one cached token entry ({access_token, expires_on}) the integration keeps in its context."""
    tokens = context["azure_tokens"]
    assert len(tokens) == 1, tokens
    return next(iter(tokens.values()))


def incident(incident_id: str = INCIDENT_ID, number: int = 1, **props: Any) -> dict[str, Any]:
    """A minimal ARM incident (Active, Medium) with `props` merged into its properties."""
    base = {
        "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/workspaces/"
              f"{WS}/providers/Microsoft.SecurityInsights/incidents/{incident_id}",
        "name": incident_id,
        "type": "Microsoft.SecurityInsights/incidents",
        "etag": '"etag-1"',
        "properties": {"title": f"Incident {number}", "severity": "Medium", "status": "Active",
                       "incidentNumber": number, "labels": [], "owner": {},
                       "createdTimeUtc": "2025-01-01T00:00:00Z", "lastModifiedTimeUtc": "2025-01-01T00:00:00Z"},
    }
    base["properties"].update(props)
    return base

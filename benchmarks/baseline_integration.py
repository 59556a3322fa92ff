"""The benchmarks' baseline: a fetch written the way the official Microsoft Sentinel integration fetches.

Only what costs requests and time is kept: one page of at most 50 incidents per run
(`$orderby=properties/incidentNumber asc`, no paging), a token cached in the integration context,
and, when `fetch_additional_info` asks for them, the alerts, entities, comments and relations of
each incident read one call at a time. No retries: a failed call fails the run, as the official
fetch does. It runs through the local host exactly like the real module (a fresh load per run).
"""

import json
import os
import time
from datetime import datetime, timedelta, timezone

import demistomock as demisto  # noqa: E402  (the platform provides this module)
import requests

API_VERSION = "2025-12-01"
PAGE = 50  # the official fetch's largest page (FETCH_MAX_LIMIT)
PROVIDER = ("subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{ws}/"
            "providers/Microsoft.SecurityInsights")
ENRICHMENT_CALLS = {  # kind -> (method, sub-path, list key)
    "Alerts": ("POST", "alerts", "value"),
    "Entities": ("POST", "entities", "entities"),
    "Comments": ("GET", "comments", "value"),
    "Relations": ("GET", "relations", "value"),
}


def _secret(value):
    return value.get("password", "") if isinstance(value, dict) else str(value or "")


def access_token(session, params, context):
    """The cached token while it is valid, else one client-credentials sign-in."""
    if context.get("access_token") and context.get("valid_until", 0) > time.time() + 60:
        return context["access_token"]
    server = params["server_url"].rstrip("/")
    url = f"{params['authority_url'].rstrip('/')}/{_secret(params['creds_tenant_id'])}/oauth2/v2.0/token"
    answer = session.post(url, data={"grant_type": "client_credentials", "scope": f"{server}/.default",
                                     "client_id": _secret(params["creds_client_id"]),
                                     "client_secret": _secret(params["credentials"])}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    context.update(access_token=body["access_token"], valid_until=time.time() + int(body["expires_in"]))
    return body["access_token"]


def formatted(incident):
    """The official integration's context keys for an incident (the fields its mapper reads)."""
    props = incident.get("properties", {})
    return {
        "ID": incident.get("name"), "Title": props.get("title"), "Description": props.get("description"),
        "Severity": props.get("severity"), "Status": props.get("status"),
        "IncidentNumber": props.get("incidentNumber"), "CreatedTimeUTC": props.get("createdTimeUtc"),
        "LastModifiedTimeUTC": props.get("lastModifiedTimeUtc"), "Owner": props.get("owner"),
        "Label": props.get("labels"), "AlertsCount": props.get("additionalData", {}).get("alertsCount"),
        "Etag": incident.get("etag"),
    }


def main():
    params, last_run = demisto.params(), demisto.getLastRun() or {}
    context = dict(demisto.getIntegrationContext() or {})
    before = dict(context)
    session = requests.Session()
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or True
    token = access_token(session, params, context)
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{params['server_url'].rstrip('/')}/" + PROVIDER.format(
        sub=params["subscriptionID"], rg=params["resourceGroupName"], ws=params["workspaceName"])

    number = int(last_run.get("last_incident_number") or 0)
    if number:
        query = f"properties/incidentNumber gt {number}"
    else:
        start = datetime.now(timezone.utc) - timedelta(days=3)
        query = f"properties/createdTimeUtc ge {start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    limit = min(int(params.get("limit") or PAGE), PAGE)
    page = session.get(f"{base}/incidents", headers=headers, timeout=60, params={
        "api-version": API_VERSION, "$filter": query, "$orderby": "properties/incidentNumber asc", "$top": limit})
    page.raise_for_status()

    kinds = params.get("fetch_additional_info") or []
    incidents = []
    for incident in page.json()["value"][:limit]:
        raw = formatted(incident)
        for kind in kinds:  # one call at a time
            method, path, key = ENRICHMENT_CALLS[kind]
            answer = session.request(method, f"{base}/incidents/{incident['name']}/{path}", headers=headers,
                                     params={"api-version": API_VERSION}, timeout=60)
            answer.raise_for_status()
            raw[kind.lower()] = answer.json().get(key, [])
        incidents.append({"name": f"#{raw['IncidentNumber']} {raw['Title']}", "occurred": raw["CreatedTimeUTC"],
                          "rawJSON": json.dumps(raw)})
        number = max(number, int(raw["IncidentNumber"]))

    demisto.incidents(incidents)
    demisto.setLastRun({"last_incident_number": number})
    if context != before:
        demisto.setIntegrationContext(context)


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()

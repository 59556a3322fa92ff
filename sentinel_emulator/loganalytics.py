"""The Log Analytics query API, served on its own origin (a second 127.0.0.1 port, same test CA):

- ``POST /v1/workspaces/{workspaceId}/query`` with ``{"query": "...", "timespan": "P1D"}``
- ``GET  /v1/workspaces/{workspaceId}/query?query=...&timespan=...``

`workspaceId` is the workspace's customerId (ARM `properties.customerId`). Tokens must be issued for
this origin's own base URL (client credentials: scope ``<base>/.default``; managed identity:
resource ``<base>``); ARM's tokens are refused here, and this origin's tokens are refused by ARM.

The tables are the emulator's own state: `SecurityIncident` (one row per incident, TimeGenerated =
its last modification) and `SecurityAlert` (one row per alert). The timespan (ISO 8601 duration,
or an interval start/end, start/duration, duration/end) is applied to TimeGenerated before the
query runs; the KQL subset is in `sentinel_emulator.kql`.

Error shapes (from Microsoft's "Azure Monitor Log Analytics API errors" and "response format"
pages and the errors Azure SDK users report):

- KQL syntax error, 400: ``{"error": {"message": "The request had some invalid properties", "code":
  "BadArgumentError", "correlationId", "innererror": {"code": "SyntaxError", "message": "A recognition
  error occurred in the query.", "innererror": {"code": "SYN0002", "message": "Query could not be
  parsed at '<token>' on line [<line>,<pos>]", "line", "pos", "token"}}}}``
- unknown table or column, type mismatch, 400: the same outer error, ``innererror`` ``{"code":
  "SemanticError", "message": "A semantic error occurred.", "innererror": {"code": "SEM0100",
  "message": "'where' operator: Failed to resolve column or scalar expression named 'X'"}}``
- a partial result, 200: ``tables`` plus ``"error": {"code": "PartialError", "message": "There were
  some errors when processing your query.", "details": [{"code": "EngineError", ...}]}``
- no token 401 ``AuthenticationFailed``; a token it does not know 403 ``InvalidAuthenticationToken``;
  another audience 403 ``InvalidAuthenticationTokenAudience``; an expired one 401
- a workspace ID that is not a GUID 404 ``PathNotFoundError`` ("The requested path does not exist");
  an unknown one 404 ``WorkspaceNotFoundError``
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from . import kql, views
from .clock import format_utc
from .errors import json_response
from .faults import FaultInjector
from .identity import Identity, TokenRejected
from .kql import Column, KqlError, Table, to_epoch
from .recording import RequestLog, RequestRecord, ResetConnection
from .state import Workspace
from .store import Store

QUERY_PATH = re.compile(r"^/v1/workspaces/([^/]+)/query/?$")
_DURATION = re.compile(r"^P(?!$)(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
                       r"(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)
_DURATION_SECONDS = (365 * 86400.0, 30 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0)
INVALID_PROPERTIES = "The request had some invalid properties"
PRODUCT_PROVIDERS = {
    "Azure Sentinel": "ASI Scheduled Alerts", "Microsoft Defender for Endpoint": "MDATP",
    "Microsoft Defender for Cloud": "Azure Security Center", "Microsoft Entra ID Protection": "IPC",
    "Microsoft Defender for Cloud Apps": "MCAS", "Microsoft Defender for Office 365": "OATP",
}


# region tables from the store


def _columns(spec: str) -> list[Column]:
    """'Name:type Name:type ...' -> columns (string when no type is given)."""
    out = []
    for part in spec.split():
        name, _, kind = part.partition(":")
        out.append(Column(name, kind or "string"))
    return out


INCIDENT_COLUMNS = _columns(
    "TenantId TimeGenerated:datetime IncidentName Title Description Severity Status Classification "
    "ClassificationComment ClassificationReason Owner:dynamic ProviderName ProviderIncidentId "
    "FirstActivityTime:datetime LastActivityTime:datetime FirstModifiedTime:datetime LastModifiedTime:datetime "
    "CreatedTime:datetime ClosedTime:datetime IncidentNumber:int RelatedAnalyticRuleIds:dynamic AlertIds:dynamic "
    "BookmarkIds:dynamic Comments:dynamic Tasks:dynamic Labels:dynamic IncidentUrl AdditionalData:dynamic "
    "ModifiedBy SourceSystem Type")
ALERT_COLUMNS = _columns(
    "TenantId TimeGenerated:datetime DisplayName AlertName AlertSeverity Description ProviderName VendorName "
    "VendorOriginalId SystemAlertId ResourceId SourceComputerId AlertType ConfidenceLevel ConfidenceScore:real "
    "IsIncident:bool StartTime:datetime EndTime:datetime ProcessingEndTime:datetime RemediationSteps "
    "ExtendedProperties Entities SourceSystem WorkspaceSubscriptionId WorkspaceResourceGroup ExtendedLinks "
    "ProductName ProductComponentName AlertLink Status CompromisedEntity Tactics Techniques Type")


def incident_rows(ws: Workspace, tenant_id: str) -> list[dict[str, Any]]:
    rows = []
    for rec in sorted(ws.incidents.values(), key=lambda r: r.properties["incidentNumber"]):
        if rec.hidden:
            continue
        p = views.incident(ws, rec)["properties"]
        modified = to_epoch(p.get("lastModifiedTimeUtc"))
        rows.append({
            "TenantId": tenant_id, "TimeGenerated": modified, "IncidentName": rec.name, "Title": p.get("title"),
            "Description": p.get("description", ""), "Severity": p.get("severity"), "Status": p.get("status"),
            "Classification": p.get("classification", ""), "ClassificationComment": p.get("classificationComment", ""),
            "ClassificationReason": p.get("classificationReason", ""),
            "Owner": {k: v for k, v in p["owner"].items() if k != "ownerType"},
            "ProviderName": p.get("providerName"), "ProviderIncidentId": p.get("providerIncidentId"),
            "FirstActivityTime": to_epoch(p.get("firstActivityTimeUtc")),
            "LastActivityTime": to_epoch(p.get("lastActivityTimeUtc")),
            "FirstModifiedTime": to_epoch(p.get("createdTimeUtc")), "LastModifiedTime": modified,
            "CreatedTime": to_epoch(p.get("createdTimeUtc")),
            "ClosedTime": modified if p.get("status") == "Closed" else None,
            "IncidentNumber": p.get("incidentNumber"), "RelatedAnalyticRuleIds": p.get("relatedAnalyticRuleIds", []),
            "AlertIds": [a["name"] for a in rec.alerts],
            "BookmarkIds": [b.name for b in views.related_bookmarks(ws, rec)],
            "Comments": [{"message": c.properties.get("message"), "createdTimeUtc": c.properties.get("createdTimeUtc"),
                          "author": c.properties.get("author")} for c in rec.children["comments"].values()],
            "Tasks": [{"title": t.properties.get("title"), "status": t.properties.get("status")}
                      for t in rec.children["tasks"].values()],
            "Labels": p.get("labels", []), "IncidentUrl": p.get("incidentUrl"),
            "AdditionalData": p.get("additionalData"), "ModifiedBy": "Sentinel emulator", "SourceSystem": "Azure",
            "Type": "SecurityIncident",
        })
    return rows


def alert_rows(ws: Workspace, tenant_id: str) -> list[dict[str, Any]]:
    rows = []
    for rec in sorted(ws.incidents.values(), key=lambda r: r.properties["incidentNumber"]):
        if rec.hidden:
            continue
        entities = json.dumps([{"Type": e["kind"].lower(), **e["properties"]} for e in rec.entities])
        for alert in rec.alerts:
            a = alert["properties"]
            product = a.get("productName", "Azure Sentinel")
            rows.append({
                "TenantId": tenant_id, "TimeGenerated": to_epoch(a.get("timeGenerated")),
                "DisplayName": a.get("alertDisplayName"), "AlertName": a.get("alertDisplayName"),
                "AlertSeverity": a.get("severity"), "Description": a.get("description", ""),
                "ProviderName": PRODUCT_PROVIDERS.get(product, product), "VendorName": a.get("vendorName"),
                "VendorOriginalId": a.get("providerAlertId", alert["name"]), "SystemAlertId": alert["name"],
                "ResourceId": "", "SourceComputerId": "", "AlertType": a.get("alertType"),
                "ConfidenceLevel": a.get("confidenceLevel", ""), "ConfidenceScore": a.get("confidenceScore"),
                "IsIncident": False, "StartTime": to_epoch(a.get("startTimeUtc")),
                "EndTime": to_epoch(a.get("endTimeUtc")), "ProcessingEndTime": to_epoch(a.get("processingEndTime")),
                "RemediationSteps": json.dumps(a.get("remediationSteps") or []), "ExtendedProperties": "{}",
                "Entities": entities, "SourceSystem": "Detection", "WorkspaceSubscriptionId": ws.subscription,
                "WorkspaceResourceGroup": ws.resource_group, "ExtendedLinks": "", "ProductName": product,
                "ProductComponentName": a.get("productComponentName", ""), "AlertLink": a.get("alertLink", ""),
                "Status": a.get("status"), "CompromisedEntity": a.get("compromisedEntity", ""),
                "Tactics": ", ".join(a.get("tactics") or []),
                "Techniques": json.dumps((a.get("additionalData") or {}).get("techniques") or []),
                "Type": "SecurityAlert",
            })
    return rows


def workspace_tables(store: Store, ws: Workspace, window: tuple[float, float] | None) -> dict[str, Table]:
    """The tables of one workspace, rows limited to TimeGenerated within `window`."""
    with store.lock:
        tables = {"SecurityIncident": Table("SecurityIncident", INCIDENT_COLUMNS, incident_rows(ws, store.tenant_id)),
                  "SecurityAlert": Table("SecurityAlert", ALERT_COLUMNS, alert_rows(ws, store.tenant_id))}
    if window is not None:
        start, end = window
        for table in tables.values():
            table.rows = [r for r in table.rows
                          if r["TimeGenerated"] is not None and start <= r["TimeGenerated"] <= end]
    return tables


# endregion

# region timespan and errors


def duration_seconds(text: str) -> float | None:
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    return sum(float(v) * unit for v, unit in zip(match.groups(), _DURATION_SECONDS) if v)


def parse_timespan(text: str | None, now: float) -> tuple[float, float] | None:
    """P1D (the last day), start/end, start/duration or duration/end -> (start, end) epoch seconds."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if "/" not in text:
        seconds = duration_seconds(text)
        if seconds is None:
            raise QueryError.bad_timespan(text)
        return now - seconds, now
    first, _, second = text.partition("/")
    start, end = to_epoch(first), to_epoch(second)
    if start is not None and end is None and duration_seconds(second) is not None:
        end = start + (duration_seconds(second) or 0)
    elif start is None and end is not None and duration_seconds(first) is not None:
        start = end - (duration_seconds(first) or 0)
    if start is None or end is None or start > end:
        raise QueryError.bad_timespan(text)
    return start, end


@dataclass
class QueryError(Exception):
    """An answer of the query API other than a result: status, body and extra headers."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def bad_argument(cls, inner: dict) -> "QueryError":
        return cls(400, {"error": {"message": INVALID_PROPERTIES, "code": "BadArgumentError",
                                   "correlationId": str(uuid.uuid4()), "innererror": inner}})

    @classmethod
    def bad_timespan(cls, text: str) -> "QueryError":
        return cls.bad_argument({"code": "QueryValidationError",
                                 "message": f"Failed parsing the query timespan '{text}': expected an ISO 8601 "
                                            "duration (P1D, PT12H) or an interval (start/end, start/duration)."})

    @classmethod
    def from_kql(cls, err: KqlError) -> "QueryError":
        if err.kind == "syntax":
            return cls.bad_argument({"code": "SyntaxError", "message": "A recognition error occurred in the query.",
                                     "innererror": {"code": "SYN0002", "message": err.message, "line": err.line,
                                                    "pos": err.pos, "token": err.token}})
        return cls.bad_argument({"code": "SemanticError", "message": "A semantic error occurred.",
                                 "innererror": {"code": "SEM0100", "message": err.message}})

    @classmethod
    def plain(cls, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> "QueryError":
        return cls(status, {"error": {"message": message, "code": code, "correlationId": str(uuid.uuid4())}},
                   dict(headers or {}))


def partial_error(detail: str) -> dict:
    return {"code": "PartialError", "message": "There were some errors when processing your query.",
            "details": [{"code": "EngineError", "message": "Something went wrong processing your query on the server.",
                         "innererror": {"code": "-2133196790", "message": detail, "severity": 3,
                                        "severityName": "Warning"}}]}


AUTH_ERRORS = {  # TokenRejected.reason -> (status, code)
    "missing": (401, "AuthenticationFailed"), "malformed": (401, "AuthenticationFailed"),
    "unknown": (403, "InvalidAuthenticationToken"), "expired": (401, "InvalidAuthenticationToken"),
    "audience": (403, "InvalidAuthenticationTokenAudience"),
}
FAULT_ERRORS = {
    "408": (408, "RequestTimeout", "The request timed out."),
    "429": (429, "ThrottledError", "Your request was throttled. Please retry after the time in Retry-After."),
    "500": (500, "InternalServerError", "Something went wrong processing your query on the server."),
    "502": (502, "BadGateway", "The gateway did not receive a valid response from the backend."),
    "503": (503, "ServiceUnavailableError", "The service is temporarily unavailable. Please retry later."),
    "504": (504, "GatewayTimeout", "The gateway did not receive a response within the specified time period."),
}


# endregion


@dataclass
class QueryApp:
    """The WSGI app of the query origin. `audience` (its base URL) is set when the server starts."""

    store: Store
    identity: Identity
    faults: FaultInjector
    log: RequestLog
    latency_ms: Callable[[], int] = lambda: 0
    sleep: Callable[[float], None] = time.sleep
    audience: str = ""
    authority: str = ""
    partial: bool = False

    def __call__(self, environ: dict, start_response: Callable) -> object:
        request = Request(environ)
        record = RequestRecord(request.method, request.path, dict(request.args.items()), request.host, "query")
        try:
            response = self.dispatch(request, record)
        except ResetConnection:
            self.log.append(record)
            raise
        record.status = response.status_code
        self.log.append(record)
        return response(environ, start_response)

    def dispatch(self, request: Request, record: RequestRecord) -> Response:
        try:
            return json_response(self._answer(request, record))
        except QueryError as err:
            return json_response(err.body, err.status, err.headers)
        except ResetConnection:
            raise
        except Exception:  # a bug in the emulator: answer as the service would, and say why on stderr
            traceback.print_exc(file=sys.stderr)
            err = QueryError.plain(500, "InternalServerError", "The emulator failed on this request.")
            return json_response(err.body, err.status)

    def _answer(self, request: Request, record: RequestRecord) -> dict:
        if self.latency_ms():
            self.sleep(self.latency_ms() / 1000.0)
        match = QUERY_PATH.match(request.path)
        if match is None:
            raise QueryError.plain(404, "PathNotFoundError", "The requested path does not exist")
        if request.method not in ("GET", "POST"):
            raise QueryError.plain(405, "MethodNotAllowed", f"The requested resource does not support http method "
                                                            f"'{request.method}'.")
        fault = self.faults.pick({"query"})
        record.fault = fault
        if fault and fault != "partial":
            self._raise_fault(fault)
        try:
            issued = self.identity.check_token(request.headers.get("Authorization"), {self.audience})
        except TokenRejected as rejected:
            status, code = AUTH_ERRORS[rejected.reason]
            headers = {"WWW-Authenticate": f'Bearer authorization_uri="{self.authority}", '
                                           'error="invalid_token"'} if status == 401 else {}
            raise QueryError(status, {"error": {"code": code, "message": rejected.message}}, headers) from None
        record.principal = issued.principal
        workspace = self._workspace(match.group(1))
        text, timespan = self._inputs(request)
        now = self.store.clock()
        tables = workspace_tables(self.store, workspace, parse_timespan(timespan, now))
        try:
            result = kql.run(text, tables, now)
        except KqlError as err:
            raise QueryError.from_kql(err) from None
        body: dict = {"tables": [result.answer()]}
        if self.partial or fault == "partial":
            body["error"] = partial_error("Query result set may be incomplete: the emulator was asked for a partial "
                                          f"result at {format_utc(now)}.")
        return body

    def _raise_fault(self, fault: str) -> None:
        if fault == "reset":
            raise ResetConnection("fault injection: connection reset")
        status, code, message = FAULT_ERRORS[fault]
        headers = {"Retry-After": str(self.faults.plan.retry_after)} if status in (429, 503) else {}
        raise QueryError.plain(status, code, message, headers)

    def _workspace(self, workspace_id: str) -> Workspace:
        try:
            wanted = str(uuid.UUID(workspace_id))
        except ValueError:
            raise QueryError.plain(404, "PathNotFoundError", "The requested path does not exist") from None
        with self.store.lock:
            for ws in self.store.workspaces.values():
                if ws.customer_id == wanted:
                    return ws
        raise QueryError.plain(404, "WorkspaceNotFoundError", f"The workspace '{workspace_id}' could not be found")

    @staticmethod
    def _inputs(request: Request) -> tuple[str, str | None]:
        if request.method == "GET":
            body: Any = {"query": request.args.get("query"), "timespan": request.args.get("timespan")}
        else:
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError:
                raise QueryError.bad_argument({"code": "QueryValidationError",
                                               "message": "The request body is not valid JSON."}) from None
        if not isinstance(body, dict):
            raise QueryError.bad_argument({"code": "QueryValidationError",
                                           "message": "The request body must be a JSON object."})
        text, timespan = body.get("query"), body.get("timespan")
        if not isinstance(text, str) or not text.strip():
            raise QueryError.bad_argument({"code": "QueryValidationError",
                                           "message": "The 'query' property is required and must be a string."})
        if timespan is not None and not isinstance(timespan, str):
            raise QueryError.bad_timespan(json.dumps(timespan))
        return text, timespan

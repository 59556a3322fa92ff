"""Stored records -> API JSON, shaped as the 2025-12-01 spec (envelope + spec-only properties).

Read-only values the service computes (incidentUrl, additionalData, counts) are derived here.
"""

from __future__ import annotations

from . import models
from .state import Record, Workspace

PORTAL = "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident"
SI = "Microsoft.SecurityInsights"


def _envelope(arm_id: str, name: str, type_: str, etag: str | None, properties: dict, kind: str | None = None) -> dict:
    body: dict = {"id": arm_id, "name": name, "type": type_}
    if etag is not None:
        body["etag"] = etag
    if kind is not None:
        body["kind"] = kind
    body["properties"] = properties
    return body


def related_bookmarks(ws: Workspace, rec: Record) -> list[Record]:
    """Bookmarks linked to an incident through its relations (and still existing)."""
    found = []
    for rel in rec.children["relations"].values():
        if rel.properties.get("relatedResourceType", "").lower() == f"{SI}/bookmarks".lower():
            bookmark = ws.collections["bookmarks"].get(rel.properties.get("relatedResourceName", ""))
            if bookmark is not None and bookmark not in found:
                found.append(bookmark)
    return found


def incident_owner(properties: dict) -> dict:
    """The owner as the API shows it: every key present (null when unset), ownerType filled in."""
    owner = {k: None for k in models.OWNER_KEYS}
    owner["ownerType"] = "Unknown"
    owner.update(properties.get("owner") or {})
    if owner.get("objectId") and owner["ownerType"] == "Unknown":
        owner["ownerType"] = "User"
    return owner


def incident(ws: Workspace, rec: Record) -> dict:
    p = rec.properties
    arm_id = f"{ws.prefix}/incidents/{rec.name}"
    products: list[str] = []
    tactics: list[str] = []
    for alert in rec.alerts:
        product = alert["properties"].get("productName")
        if product and product not in products:
            products.append(product)
        for tactic in alert["properties"].get("tactics") or []:
            if tactic not in tactics:
                tactics.append(tactic)
    props = dict(p)
    props.update(
        owner=incident_owner(p),
        labels=list(p.get("labels") or []),
        incidentUrl=f"{PORTAL}{arm_id}",
        additionalData={
            **(p.get("additionalData") or {}),  # stored: providerIncidentUrl of Defender incidents
            "alertsCount": len(rec.alerts),
            "bookmarksCount": len(related_bookmarks(ws, rec)),
            "commentsCount": len(rec.children["comments"]),
            "alertProductNames": products,
            "tactics": tactics,
        },
    )
    return _envelope(arm_id, rec.name, f"{SI}/incidents", rec.etag, models.pick(props, models.INCIDENT_PROPERTIES))


def comment(ws: Workspace, inc: Record, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/incidents/{inc.name}/comments/{rec.name}", rec.name,
                     f"{SI}/incidents/comments", rec.etag, models.pick(rec.properties, models.COMMENT_PROPERTIES))


def relation(ws: Workspace, inc: Record, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/incidents/{inc.name}/relations/{rec.name}", rec.name,
                     f"{SI}/incidents/relations", rec.etag, models.pick(rec.properties, models.RELATION_PROPERTIES))


def task(ws: Workspace, inc: Record, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/incidents/{inc.name}/tasks/{rec.name}", rec.name,
                     f"{SI}/incidents/tasks", rec.etag, models.pick(rec.properties, models.TASK_PROPERTIES))


def alert(ws: Workspace, stored: dict) -> dict:
    return _envelope(f"{ws.prefix}/Entities/{stored['name']}", stored["name"], f"{SI}/Entities", None,
                     dict(stored["properties"]), kind="SecurityAlert")


def entity(ws: Workspace, stored: dict) -> dict:
    return _envelope(f"{ws.prefix}/Entities/{stored['name']}", stored["name"], f"{SI}/Entities", None,
                     dict(stored["properties"]), kind=stored["kind"])


def bookmark(ws: Workspace, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/bookmarks/{rec.name}", rec.name, f"{SI}/Bookmarks", rec.etag,
                     models.pick(rec.properties, models.BOOKMARK_PROPERTIES))


def hunting_bookmark(ws: Workspace, rec: Record) -> dict:
    props = dict(rec.properties)
    props.setdefault("friendlyName", props.get("displayName"))
    props["additionalData"] = {"ETag": rec.etag, "EntityId": rec.name}
    return _envelope(f"{ws.prefix}/bookmarks/{rec.name}", rec.name, f"{SI}/Entities", None,
                     models.pick(props, models.HUNTING_BOOKMARK_PROPERTIES), kind="Bookmark")


def watchlist(ws: Workspace, rec: Record) -> dict:
    props = {k: v for k, v in rec.properties.items() if k != "rawContent"}
    return _envelope(f"{ws.prefix}/watchlists/{rec.name}", rec.name, f"{SI}/Watchlists", rec.etag,
                     models.pick(props, models.WATCHLIST_PROPERTIES))


def watchlist_item(ws: Workspace, wl: Record, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/watchlists/{wl.name}/watchlistItems/{rec.name}", rec.name,
                     f"{SI}/Watchlists/WatchlistItems", rec.etag,
                     models.pick(rec.properties, models.WATCHLIST_ITEM_PROPERTIES))


def indicator(ws: Workspace, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/ThreatIntelligence/{rec.name}", rec.name, f"{SI}/ThreatIntelligence",
                     rec.etag, models.pick(rec.properties, models.INDICATOR_PROPERTIES), kind="indicator")


def alert_rule(ws: Workspace, rec: Record) -> dict:
    allowed = models.ALERT_RULE_PROPERTIES[rec.kind or "Scheduled"]
    return _envelope(f"{ws.prefix}/alertRules/{rec.name}", rec.name, f"{SI}/alertRules", rec.etag,
                     models.pick(rec.properties, allowed), kind=rec.kind)


def action(ws: Workspace, rule: Record, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/alertRules/{rule.name}/actions/{rec.name}", rec.name,
                     f"{SI}/alertRules/actions", rec.etag,
                     models.pick(rec.properties, ("workflowId", "logicAppResourceId")))


def alert_rule_template(ws: Workspace, rec: Record) -> dict:
    body = _envelope(f"{ws.prefix}/alertRuleTemplates/{rec.name}", rec.name, f"{SI}/alertRuleTemplates", None,
                     dict(rec.properties), kind=rec.kind)
    return body


def automation_rule(ws: Workspace, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/automationRules/{rec.name}", rec.name, f"{SI}/automationRules", rec.etag,
                     models.pick(rec.properties, models.AUTOMATION_RULE_PROPERTIES))


def data_connector(ws: Workspace, rec: Record) -> dict:
    return _envelope(f"{ws.prefix}/dataConnectors/{rec.name}", rec.name, f"{SI}/dataConnectors", rec.etag,
                     dict(rec.properties), kind=rec.kind)

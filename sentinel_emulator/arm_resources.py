"""ARM handlers: workspace-level Sentinel resources (watchlists, threat intelligence, bookmarks,
analytics and automation rules, data connectors) and the tenant's subscriptions/resource groups."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from werkzeug.wrappers import Response

from . import models, odata, views
from .context import Ctx, asc, desc, property_checker
from .errors import ArmError, bad_request, json_response, not_found
from .state import Record, Workspace

View = Callable[[Workspace, Record], dict]


@dataclass(frozen=True)
class Collection:
    key: str
    label: str
    view: View
    type_name: str
    properties: tuple[str, ...] | None


WATCHLISTS = Collection("watchlists", "Watchlist", views.watchlist, "Watchlist", models.WATCHLIST_PROPERTIES)
INDICATORS = Collection("indicators", "Threat intelligence indicator", views.indicator,
                        "ThreatIntelligenceIndicator", models.INDICATOR_PROPERTIES)
BOOKMARKS = Collection("bookmarks", "Bookmark", views.bookmark, "Bookmark", models.BOOKMARK_PROPERTIES)
ALERT_RULES = Collection("alertRules", "Alert rule", views.alert_rule, "AlertRule", None)
TEMPLATES = Collection("alertRuleTemplates", "Alert rule template", views.alert_rule_template,
                       "AlertRuleTemplate", None)
AUTOMATION_RULES = Collection("automationRules", "Automation rule", views.automation_rule, "AutomationRule",
                              models.AUTOMATION_RULE_PROPERTIES)
DATA_CONNECTORS = Collection("dataConnectors", "Data connector", views.data_connector, "DataConnector", None)


# region generic CRUD


def _find(workspace: Workspace, coll: Collection, name: str) -> Record:
    rec = workspace.collections[coll.key].get(name)
    if rec is None:
        raise not_found(f"{coll.label} '{name}' was not found in workspace '{workspace.name}'.")
    return rec


def _list(ctx: Ctx, coll: Collection, sub: str, rg: str, ws: str, default_order: list[odata.OrderKey],
          odata_options: bool = True) -> Response:
    query = ctx.list_query(property_checker(coll.type_name, coll.properties), odata_options=odata_options)
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        items = [coll.view(workspace, r) for r in workspace.collections[coll.key].values()]
    return json_response(ctx.page(items, query, default_order))


def _get(ctx: Ctx, coll: Collection, sub: str, rg: str, ws: str, name: str) -> Response:
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        return json_response(coll.view(workspace, _find(workspace, coll, name)))


def _delete(ctx: Ctx, coll: Collection, sub: str, rg: str, ws: str, name: str, deleted_status: int = 200) -> Response:
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        gone = workspace.collections[coll.key].pop(name, None)
    return Response(status=deleted_status if gone else 204)


def _upsert(ctx: Ctx, coll: Collection, sub: str, rg: str, ws: str, name: str, body: Any,
            build: Callable[[Record | None], tuple[dict, str | None]]) -> Response:
    """Create or replace `name`: etag check, then `build(existing) -> (properties, kind)`."""
    store = ctx.store
    with store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        existing = workspace.collections[coll.key].get(name)
        if existing is not None:
            ctx.check_etag(body, existing, coll.view(workspace, existing)["id"])
        properties, kind = build(existing)
        rec = Record(name, store.new_etag(), properties, kind=kind)
        if existing is not None:
            rec.children = existing.children
        workspace.collections[coll.key][name] = rec
        return json_response(coll.view(workspace, rec), 200 if existing else 201)


# endregion

# region watchlists


def list_watchlists(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, WATCHLISTS, sub, rg, ws, [asc("name")], odata_options=False)


def get_watchlist(ctx: Ctx, sub: str, rg: str, ws: str, alias: str) -> Response:
    return _get(ctx, WATCHLISTS, sub, rg, ws, alias)


def delete_watchlist(ctx: Ctx, sub: str, rg: str, ws: str, alias: str) -> Response:
    return _delete(ctx, WATCHLISTS, sub, rg, ws, alias, deleted_status=202)


def _csv_rows(raw: str, skip: int, key: str) -> list[dict[str, str]]:
    lines = raw.splitlines()[skip:]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    headers = rows[0].keys() if rows else next(csv.reader(io.StringIO("\n".join(lines))), [])
    if key not in headers:
        raise bad_request(f"The itemsSearchKey '{key}' is not a column of the watchlist's rawContent.")
    return [{k: v for k, v in row.items() if k is not None} for row in rows]


def put_watchlist(ctx: Ctx, sub: str, rg: str, ws: str, alias: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "watchlist")
    models.require(props, ("displayName", "provider", "itemsSearchKey"), "watchlist")
    models.check_enum(props, "sourceType", ("Local", "AzureStorage"), "watchlist")
    rows: list[dict[str, str]] | None = None
    if props.get("rawContent"):
        if props.get("contentType", "text/csv").lower() != "text/csv":
            raise bad_request("Only contentType 'text/csv' is supported for rawContent.")
        rows = _csv_rows(str(props["rawContent"]), int(props.get("numberOfLinesToSkip") or 0), props["itemsSearchKey"])
    store = ctx.store

    def build(existing: Record | None) -> tuple[dict, str | None]:
        stamp = store.now_offset()
        old = existing.properties if existing else {}
        out = {
            "watchlistId": old.get("watchlistId") or store.new_id(), "sourceType": "Local", "labels": [],
            "watchlistType": "watchlist", "isDeleted": False, "tenantId": store.tenant_id,
            "created": old.get("created", stamp), "createdBy": old.get("createdBy", ctx.caller.user_info()),
            "uploadStatus": "Complete", "provisioningState": "Succeeded", "contentType": "text/csv",
            **models.pick(props, models.WATCHLIST_WRITABLE),
            "watchlistAlias": alias, "updated": stamp, "updatedBy": ctx.caller.user_info(),
        }
        return out, None

    response = _upsert(ctx, WATCHLISTS, sub, rg, ws, alias, body, build)
    if rows is not None:
        with store.lock:
            rec = _find(ctx.workspace(sub, rg, ws), WATCHLISTS, alias)
            rec.children["items"].clear()
            for row in rows:
                store.put_watchlist_item(rec, store.new_id(), row, ctx.caller)
    return response


def list_watchlist_items(ctx: Ctx, sub: str, rg: str, ws: str, alias: str) -> Response:
    query = ctx.list_query(property_checker("WatchlistItem", models.WATCHLIST_ITEM_PROPERTIES), odata_options=False)
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        wl = _find(workspace, WATCHLISTS, alias)
        items = [views.watchlist_item(workspace, wl, r) for r in wl.children["items"].values()]
    return json_response(ctx.page(items, query, [asc("properties/created")]))


def get_watchlist_item(ctx: Ctx, sub: str, rg: str, ws: str, alias: str, item: str) -> Response:
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        wl = _find(workspace, WATCHLISTS, alias)
        rec = wl.children["items"].get(item)
        if rec is None:
            raise not_found(f"Watchlist item '{item}' was not found in watchlist '{alias}'.")
        return json_response(views.watchlist_item(workspace, wl, rec))


def put_watchlist_item(ctx: Ctx, sub: str, rg: str, ws: str, alias: str, item: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "watchlist item")
    values = props.get("itemsKeyValue")
    if not isinstance(values, dict) or not values:
        raise bad_request("The watchlist item is missing required properties: itemsKeyValue (an object).")
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        wl = _find(workspace, WATCHLISTS, alias)
        existing = wl.children["items"].get(item)
        if existing is not None:
            ctx.check_etag(body, existing, views.watchlist_item(workspace, wl, existing)["id"])
        rec = ctx.store.put_watchlist_item(wl, item, values, ctx.caller)
        return json_response(views.watchlist_item(workspace, wl, rec), 200 if existing else 201)


def delete_watchlist_item(ctx: Ctx, sub: str, rg: str, ws: str, alias: str, item: str) -> Response:
    with ctx.store.lock:
        wl = _find(ctx.workspace(sub, rg, ws), WATCHLISTS, alias)
        return Response(status=200 if wl.children["items"].pop(item, None) else 204)


# endregion

# region threat intelligence

_PATTERN = re.compile(r"\[\s*([\w-]+)(?::[\w.'-]+)?\s*=\s*'([^']*)'\s*\]")


def _indicator_props(ctx: Ctx, body: Any, existing: Record | None) -> dict:
    if not isinstance(body, dict) or body.get("kind") != "indicator":
        raise bad_request("A threat intelligence indicator needs \"kind\": \"indicator\".")
    props = models.properties_of(body, "threat intelligence indicator")
    confidence = props.get("confidence")
    if confidence is not None and (not isinstance(confidence, int) or not 0 <= confidence <= 100):
        raise bad_request("'confidence' of the indicator must be an integer from 0 to 100.")
    store = ctx.store
    stamp = store.now()
    old = existing.properties if existing else {}
    out = {k: v for k, v in models.pick(props, models.INDICATOR_PROPERTIES).items()
           if k not in models.INDICATOR_SERVER_SET and v != ""}
    out.setdefault("source", "Azure Sentinel")
    out.setdefault("threatIntelligenceTags", [])
    out["created"] = old.get("created", stamp)
    out["externalId"] = old.get("externalId", f"indicator--{store.new_id()}")
    out["lastUpdatedTimeUtc"] = stamp
    out["friendlyName"] = out.get("displayName") or out.get("pattern") or ""
    match = _PATTERN.search(str(out.get("pattern", "")))
    if match:
        out["parsedPattern"] = [{"patternTypeKey": match.group(1),
                                 "patternTypeValues": [{"valueType": "0", "value": match.group(2)}]}]
    return out


def create_indicator(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    body = ctx.json()
    name = ctx.store.new_id()
    return _upsert(ctx, INDICATORS, sub, rg, ws, name, {},
                   lambda existing: (_indicator_props(ctx, body, None), "indicator"))


def list_indicators(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, INDICATORS, sub, rg, ws, [desc("properties/lastUpdatedTimeUtc")])


def get_indicator(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _get(ctx, INDICATORS, sub, rg, ws, name)


def put_indicator(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    body = ctx.json()
    return _upsert(ctx, INDICATORS, sub, rg, ws, name, body,
                   lambda existing: (_indicator_props(ctx, body, existing), "indicator"))


def delete_indicator(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _delete(ctx, INDICATORS, sub, rg, ws, name)


def _tags(body: Any) -> list[str]:
    tags = (body.get("properties", {}) if isinstance(body, dict) and "properties" in body else body or {}).get(
        "threatIntelligenceTags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad_request("'threatIntelligenceTags' must be a list of strings.")
    return tags


def append_tags(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    tags = _tags(ctx.json())
    with ctx.store.lock:
        rec = _find(ctx.workspace(sub, rg, ws), INDICATORS, name)
        current = rec.properties.setdefault("threatIntelligenceTags", [])
        current.extend(t for t in tags if t not in current)
        rec.properties["lastUpdatedTimeUtc"] = ctx.store.now()
        rec.etag = ctx.store.new_etag()
    return Response(status=200)


def replace_tags(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    body = ctx.json()
    tags = _tags(body)
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        rec = _find(workspace, INDICATORS, name)
        ctx.check_etag(body, rec, views.indicator(workspace, rec)["id"])
        rec.properties["threatIntelligenceTags"] = list(tags)
        rec.properties["lastUpdatedTimeUtc"] = ctx.store.now()
        rec.etag = ctx.store.new_etag()
        return json_response(views.indicator(workspace, rec))


def _pattern_type(value: Any) -> str:
    """STIX type names as indicators store them; also accepts the long forms (ipv4-address, domain)."""
    text = str(value or "").lower()
    return {"ipv4-address": "ipv4-addr", "ipv6-address": "ipv6-addr", "ipv4": "ipv4-addr", "ipv6": "ipv6-addr",
            "domain": "domain-name"}.get(text, text)


def _matches(props: dict, criteria: dict) -> bool:
    confidence = props.get("confidence")
    if criteria.get("minConfidence") is not None and (confidence is None or confidence < criteria["minConfidence"]):
        return False
    if criteria.get("maxConfidence") is not None and (confidence is None or confidence > criteria["maxConfidence"]):
        return False
    for bound, op in (("minValidUntil", "ge"), ("maxValidUntil", "le")):
        if criteria.get(bound) and not odata.compare(op, props.get("validUntil"), criteria[bound], True):
            return False
    if not criteria.get("includeDisabled") and props.get("revoked"):
        return False
    if criteria.get("sources") and props.get("source") not in criteria["sources"]:
        return False
    if criteria.get("patternTypes") and _pattern_type(props.get("patternType")) not in {
            _pattern_type(t) for t in criteria["patternTypes"]}:
        return False
    if criteria.get("threatTypes") and not set(criteria["threatTypes"]) & set(props.get("threatTypes") or []):
        return False
    if criteria.get("keywords"):
        text = " ".join(str(props.get(k, "")) for k in ("displayName", "description", "pattern")).lower()
        text += " " + " ".join(props.get("threatIntelligenceTags") or []).lower()
        if not all(str(k).lower() in text for k in criteria["keywords"]):
            return False
    return True


def query_indicators(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    """POST criteria; the nextLink carries $skipToken (and $top), so the client POSTs the same body to it."""
    criteria = ctx.json()
    if not isinstance(criteria, dict):
        raise bad_request("The query criteria must be a JSON object.")
    top = odata.parse_top(ctx.request.args.get("$top"), None)
    page_size = top or criteria.get("pageSize") or 100
    if not isinstance(page_size, int) or page_size < 1:
        raise bad_request("'pageSize' must be a positive integer.")
    order = [odata.OrderKey(f"properties/{s.get('itemKey')}", s.get("sortOrder") == "descending")
             for s in criteria.get("sortBy") or [] if s.get("itemKey") and s.get("sortOrder") != "unsorted"]
    bound = {k: v for k, v in criteria.items() if k not in ("pageSize", "skipToken")}
    query = odata.ListQuery(top=page_size, orderby=order or None, scope=json.dumps(bound, sort_keys=True),
                            skip_token=ctx.request.args.get("$skipToken") or ctx.request.args.get("$skiptoken")
                            or criteria.get("skipToken"))
    ids = set(criteria.get("ids") or [])
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        items = [views.indicator(workspace, r) for r in workspace.collections[INDICATORS.key].values()
                 if (not ids or r.name in ids) and _matches(r.properties, criteria)]
    return json_response(ctx.page(items, query, [desc("properties/lastUpdatedTimeUtc")]))


def indicator_metrics(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    threat: dict[str, int] = {}
    pattern: dict[str, int] = {}
    source: dict[str, int] = {}
    with ctx.store.lock:
        for rec in ctx.workspace(sub, rg, ws).collections[INDICATORS.key].values():
            p = rec.properties
            for t in p.get("threatTypes") or []:
                threat[t] = threat.get(t, 0) + 1
            if p.get("patternType"):
                pattern[p["patternType"]] = pattern.get(p["patternType"], 0) + 1
            if p.get("source"):
                source[p["source"]] = source.get(p["source"], 0) + 1

    def metric(counts: dict[str, int]) -> list[dict]:
        return [{"metricName": k, "metricValue": v} for k, v in sorted(counts.items())]

    return json_response({"value": [{"properties": {
        "lastUpdatedTimeUtc": ctx.store.now(), "threatTypeMetrics": metric(threat),
        "patternTypeMetrics": metric(pattern), "sourceMetrics": metric(source)}}]})


# endregion

# region bookmarks


def list_bookmarks(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, BOOKMARKS, sub, rg, ws, [asc("properties/created")], odata_options=False)


def get_bookmark(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _get(ctx, BOOKMARKS, sub, rg, ws, name)


def put_bookmark(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "bookmark")
    models.require(props, ("displayName", "query"), "bookmark")
    store = ctx.store

    def build(existing: Record | None) -> tuple[dict, str | None]:
        old = existing.properties if existing else {}
        stamp = store.now_offset()
        return {"labels": [], **models.pick(props, models.BOOKMARK_WRITABLE),
                "created": old.get("created", stamp), "createdBy": old.get("createdBy", ctx.caller.user_info()),
                "updated": stamp, "updatedBy": ctx.caller.user_info()}, None

    return _upsert(ctx, BOOKMARKS, sub, rg, ws, name, body, build)


def delete_bookmark(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _delete(ctx, BOOKMARKS, sub, rg, ws, name)


# endregion

# region analytics rules, actions, templates


def list_alert_rules(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, ALERT_RULES, sub, rg, ws, [asc("name")], odata_options=False)


def get_alert_rule(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _get(ctx, ALERT_RULES, sub, rg, ws, name)


def put_alert_rule(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    body = ctx.json()
    kind = body.get("kind") if isinstance(body, dict) else None
    if kind not in models.ALERT_RULE_KINDS:
        raise bad_request(f"Invalid alert rule kind '{kind}'; allowed: {', '.join(models.ALERT_RULE_KINDS)}.")
    props = models.properties_of(body, "alert rule")
    models.require(props, models.ALERT_RULE_REQUIRED[kind], f"{kind} alert rule")
    models.check_enum(props, "severity", models.SEVERITIES, "alert rule")
    models.check_enum(props, "triggerOperator", models.TRIGGER_OPERATORS, "alert rule")
    bad_tactics = [t for t in props.get("tactics") or [] if t not in models.TACTICS]
    if bad_tactics:
        raise bad_request(f"Invalid tactics {bad_tactics}; allowed: {', '.join(models.TACTICS)}.")
    allowed = tuple(k for k in models.ALERT_RULE_PROPERTIES[kind] if k != "lastModifiedUtc")
    return _upsert(ctx, ALERT_RULES, sub, rg, ws, name, body,
                   lambda existing: ({**models.pick(props, allowed), "lastModifiedUtc": ctx.store.now()}, kind))


def delete_alert_rule(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _delete(ctx, ALERT_RULES, sub, rg, ws, name)


def list_actions(ctx: Ctx, sub: str, rg: str, ws: str, rule: str) -> Response:
    query = ctx.list_query(property_checker("Action", None), odata_options=False)
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        rec = _find(workspace, ALERT_RULES, rule)
        items = [views.action(workspace, rec, a) for a in rec.children["actions"].values()]
    return json_response(ctx.page(items, query, [asc("name")]))


def get_action(ctx: Ctx, sub: str, rg: str, ws: str, rule: str, action: str) -> Response:
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        rec = _find(workspace, ALERT_RULES, rule)
        found = rec.children["actions"].get(action)
        if found is None:
            raise not_found(f"Action '{action}' was not found on alert rule '{rule}'.")
        return json_response(views.action(workspace, rec, found))


def put_action(ctx: Ctx, sub: str, rg: str, ws: str, rule: str, action: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "alert rule action")
    models.require(props, ("logicAppResourceId", "triggerUri"), "alert rule action")
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        rec = _find(workspace, ALERT_RULES, rule)
        existing = rec.children["actions"].get(action)
        if existing is not None:
            ctx.check_etag(body, existing, views.action(workspace, rec, existing)["id"])
        workflow = hashlib.sha256(str(props["logicAppResourceId"]).encode()).hexdigest()[:32]
        new = Record(action, ctx.store.new_etag(),
                     {"workflowId": workflow, "logicAppResourceId": props["logicAppResourceId"]})
        rec.children["actions"][action] = new
        return json_response(views.action(workspace, rec, new), 200 if existing else 201)


def delete_action(ctx: Ctx, sub: str, rg: str, ws: str, rule: str, action: str) -> Response:
    with ctx.store.lock:
        rec = _find(ctx.workspace(sub, rg, ws), ALERT_RULES, rule)
        return Response(status=200 if rec.children["actions"].pop(action, None) else 204)


def list_templates(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, TEMPLATES, sub, rg, ws, [asc("name")], odata_options=False)


def get_template(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _get(ctx, TEMPLATES, sub, rg, ws, name)


# endregion

# region automation rules and data connectors


def list_automation_rules(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, AUTOMATION_RULES, sub, rg, ws, [asc("properties/order")], odata_options=False)


def get_automation_rule(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _get(ctx, AUTOMATION_RULES, sub, rg, ws, name)


def put_automation_rule(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "automation rule")
    models.require(props, ("displayName", "order", "triggeringLogic", "actions"), "automation rule")
    logic = props["triggeringLogic"]
    if not isinstance(logic, dict):
        raise bad_request("'triggeringLogic' of the automation rule must be an object.")
    models.require(logic, ("isEnabled", "triggersOn", "triggersWhen"), "automation rule's triggeringLogic")
    models.check_enum(logic, "triggersOn", ("Incidents", "Alerts"), "automation rule")
    models.check_enum(logic, "triggersWhen", ("Created", "Updated"), "automation rule")
    actions = props["actions"]
    if not isinstance(actions, list) or not all(
            isinstance(a, dict) and a.get("actionType") in ("ModifyProperties", "RunPlaybook", "AddIncidentTask")
            and isinstance(a.get("order"), int) for a in actions):
        raise bad_request("Each automation rule action needs an 'order' and an 'actionType' "
                          "(ModifyProperties, RunPlaybook or AddIncidentTask).")
    store = ctx.store

    def build(existing: Record | None) -> tuple[dict, str | None]:
        old = existing.properties if existing else {}
        stamp = store.now()
        who = ctx.caller.client_info()
        return {**models.pick(props, ("displayName", "order", "triggeringLogic", "actions")),
                "createdTimeUtc": old.get("createdTimeUtc", stamp), "createdBy": old.get("createdBy", who),
                "lastModifiedTimeUtc": stamp, "lastModifiedBy": who}, None

    return _upsert(ctx, AUTOMATION_RULES, sub, rg, ws, name, body, build)


def delete_automation_rule(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    """The spec gives this DELETE an object schema: 200 answers `{}` (Microsoft's SDK parses it)."""
    with ctx.store.lock:
        gone = ctx.workspace(sub, rg, ws).collections[AUTOMATION_RULES.key].pop(name, None)
    return json_response({}) if gone else Response(status=204)


def list_data_connectors(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    return _list(ctx, DATA_CONNECTORS, sub, rg, ws, [asc("name")], odata_options=False)


def get_data_connector(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _get(ctx, DATA_CONNECTORS, sub, rg, ws, name)


def put_data_connector(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    body = ctx.json()
    kind = body.get("kind") if isinstance(body, dict) else None
    if not isinstance(kind, str) or not kind:
        raise bad_request("A data connector needs a 'kind'.")
    props = models.properties_of(body, "data connector")
    return _upsert(ctx, DATA_CONNECTORS, sub, rg, ws, name, body, lambda existing: (dict(props), kind))


def delete_data_connector(ctx: Ctx, sub: str, rg: str, ws: str, name: str) -> Response:
    return _delete(ctx, DATA_CONNECTORS, sub, rg, ws, name)


# endregion

# region subscriptions, resource groups, workspace


def _subscription_json(ctx: Ctx, sub: dict) -> dict:
    return {
        "id": f"/subscriptions/{sub['subscriptionId']}", "authorizationSource": "RoleBased",
        "managedByTenants": [], "subscriptionId": sub["subscriptionId"], "tenantId": ctx.store.tenant_id,
        "displayName": sub["displayName"], "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                 "spendingLimit": "Off"},
    }


def list_subscriptions(ctx: Ctx) -> Response:
    """The tenant's subscriptions, paged like the others (nextLink with $skipToken)."""
    with ctx.store.lock:
        subs = [_subscription_json(ctx, s) for s in ctx.store.subscriptions.values()]
    query = odata.ListQuery(skip_token=ctx.request.args.get("$skipToken") or ctx.request.args.get("$skiptoken"))
    body = ctx.page(subs, query, [asc("displayName"), asc("subscriptionId")])
    body["count"] = {"type": "Total", "value": len(subs)}
    return json_response(body)


def get_subscription(ctx: Ctx, sub: str) -> Response:
    with ctx.store.lock:
        found = ctx.store.subscriptions.get(sub.lower())
        if found is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        return json_response(_subscription_json(ctx, found))


def _group_json(group: dict) -> dict:
    body = {"id": f"/subscriptions/{group['subscription']}/resourceGroups/{group['name']}", "name": group["name"],
            "type": "Microsoft.Resources/resourceGroups", "location": group["location"]}
    if group["tags"]:
        body["tags"] = dict(group["tags"])
    body["properties"] = {"provisioningState": "Succeeded"}
    return body


def _group_resolver(item: dict, path: str) -> Any:
    return item.get(path)


def list_resource_groups(ctx: Ctx, sub: str) -> Response:
    def check(path: str) -> None:
        if path not in ("tagName", "tagValue", "name", "location"):
            raise bad_request(f"Invalid $filter: '{path}' cannot be filtered on; use tagName and tagValue.",
                              "InvalidFilterInQueryString")

    args = ctx.request.args
    predicate = odata.parse_filter(args["$filter"], _group_resolver, check) if args.get("$filter", "").strip() else None
    top = odata.parse_top(args.get("$top"), 1000)
    with ctx.store.lock:
        if sub.lower() not in ctx.store.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        groups = [g for (s, _), g in ctx.store.resource_groups.items() if s == sub.lower()]

    def keep(group: dict) -> bool:
        if predicate is None:
            return True
        pairs = list(group["tags"].items()) or [(None, None)]
        return any(predicate({"tagName": k, "tagValue": v, "name": group["name"], "location": group["location"]})
                   for k, v in pairs)

    items = [_group_json(g) for g in groups if keep(g)]
    query = odata.ListQuery(filter_text=args.get("$filter", ""), top=top,
                            skip_token=args.get("$skipToken") or args.get("$skiptoken"))
    return json_response(ctx.page(items, query, [asc("name")]))


def get_resource_group(ctx: Ctx, sub: str, rg: str) -> Response:
    with ctx.store.lock:
        group = ctx.store.resource_groups.get((sub.lower(), rg.lower()))
        if group is None or sub.lower() not in ctx.store.subscriptions:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return json_response(_group_json(group))


def get_workspace(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        group = ctx.store.resource_groups[(sub.lower(), rg.lower())]
    return json_response({
        "id": workspace.arm_id, "name": workspace.name, "type": "Microsoft.OperationalInsights/workspaces",
        "location": group["location"],
        "properties": {"customerId": workspace.customer_id, "provisioningState": "Succeeded", "retentionInDays": 90,
                       "sku": {"name": "PerGB2018"}},
    })


# endregion

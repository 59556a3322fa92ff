"""URL routing: one werkzeug `Map`, with ARM's fixed path segments matched case-insensitively.

ARM treats `resourcegroups` and `resourceGroups` (and every other fixed segment) alike. Before
matching, `canonical_path` rewrites fixed segments to the casing the rules use; variable
segments (IDs) are left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from werkzeug.routing import Map, Rule

from . import arm_incidents as inc
from . import arm_resources as res
from .schema import Operation, spec_validator

SENTINEL_VERSIONS = (
    "2023-02-01", "2023-11-01", "2024-03-01", "2024-09-01", "2025-03-01", "2025-06-01", "2025-09-01", "2025-12-01",
)
RESOURCE_VERSIONS = ("2016-06-01", "2019-11-01", "2020-01-01", "2021-01-01", "2021-04-01", "2022-12-01")
WORKSPACE_VERSIONS = ("2020-08-01", "2021-06-01", "2022-10-01", "2023-09-01", "2025-02-01")

FIXED = {
    s.lower(): s for s in (
        "subscriptions", "resourceGroups", "providers", "Microsoft.OperationalInsights", "workspaces",
        "Microsoft.SecurityInsights", "incidents", "comments", "relations", "tasks", "alerts", "entities",
        "bookmarks", "watchlists", "watchlistItems", "threatIntelligence", "main", "indicators",
        "createIndicator", "queryIndicators", "metrics", "appendTags", "replaceTags", "alertRules", "actions",
        "alertRuleTemplates", "automationRules", "dataConnectors",
    )
}


@dataclass(frozen=True)
class Route:
    """What the app needs to know about an endpoint besides its handler."""

    handler: Callable
    group: str  # "arm", "aad", "mi"
    kind: str = "read"  # throttling bucket: read | write
    is_list: bool = False
    versions: tuple[str, ...] = SENTINEL_VERSIONS
    operation: Operation | None = None  # the spec operation (body schema, path parameters), if the spec has it


WS = ("/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<ws>"
      "/providers/Microsoft.SecurityInsights")
INC = f"{WS}/incidents/<iid>"
TI = f"{WS}/threatIntelligence/main"

ROUTES: dict[str, tuple[str, str, Route]] = {}


def _add(name: str, method: str, path: str, route: Route) -> None:
    ROUTES[name] = (method, path, route)


def _crud(name: str, collection: str, item: str, handlers: dict[str, Callable], list_versions: bool = True) -> None:
    if "list" in handlers:
        _add(f"{name}.list", "GET", collection, Route(handlers["list"], "arm", is_list=True))
    if "get" in handlers:
        _add(f"{name}.get", "GET", item, Route(handlers["get"], "arm"))
    if "put" in handlers:
        _add(f"{name}.put", "PUT", item, Route(handlers["put"], "arm", "write"))
    if "delete" in handlers:
        _add(f"{name}.delete", "DELETE", item, Route(handlers["delete"], "arm", "write"))


_crud("incidents", f"{WS}/incidents", INC, {"list": inc.list_incidents, "get": inc.get_incident,
                                             "put": inc.put_incident, "delete": inc.delete_incident})
_add("incidents.alerts", "POST", f"{INC}/alerts", Route(inc.incident_alerts, "arm"))
_add("incidents.entities", "POST", f"{INC}/entities", Route(inc.incident_entities, "arm"))
_add("incidents.bookmarks", "POST", f"{INC}/bookmarks", Route(inc.incident_bookmarks, "arm"))
_crud("comments", f"{INC}/comments", f"{INC}/comments/<cid>", {
    "list": inc.list_comments, "get": inc.get_comment, "put": inc.put_comment, "delete": inc.delete_comment})
_crud("relations", f"{INC}/relations", f"{INC}/relations/<rid>", {
    "list": inc.list_relations, "get": inc.get_relation, "put": inc.put_relation, "delete": inc.delete_relation})
_crud("tasks", f"{INC}/tasks", f"{INC}/tasks/<tid>", {
    "list": inc.list_tasks, "get": inc.get_task, "put": inc.put_task, "delete": inc.delete_task})
_crud("watchlists", f"{WS}/watchlists", f"{WS}/watchlists/<alias>", {
    "list": res.list_watchlists, "get": res.get_watchlist, "put": res.put_watchlist, "delete": res.delete_watchlist})
_crud("watchlistItems", f"{WS}/watchlists/<alias>/watchlistItems", f"{WS}/watchlists/<alias>/watchlistItems/<item>", {
    "list": res.list_watchlist_items, "get": res.get_watchlist_item, "put": res.put_watchlist_item,
    "delete": res.delete_watchlist_item})
_add("indicators.create", "POST", f"{TI}/createIndicator", Route(res.create_indicator, "arm", "write"))
_crud("indicators", f"{TI}/indicators", f"{TI}/indicators/<name>", {
    "list": res.list_indicators, "get": res.get_indicator, "put": res.put_indicator, "delete": res.delete_indicator})
_add("indicators.query", "POST", f"{TI}/queryIndicators", Route(res.query_indicators, "arm", is_list=True))
_add("indicators.metrics", "GET", f"{TI}/metrics", Route(res.indicator_metrics, "arm"))
_add("indicators.appendTags", "POST", f"{TI}/indicators/<name>/appendTags", Route(res.append_tags, "arm", "write"))
_add("indicators.replaceTags", "POST", f"{TI}/indicators/<name>/replaceTags", Route(res.replace_tags, "arm", "write"))
_crud("bookmarks", f"{WS}/bookmarks", f"{WS}/bookmarks/<name>", {
    "list": res.list_bookmarks, "get": res.get_bookmark, "put": res.put_bookmark, "delete": res.delete_bookmark})
_crud("alertRules", f"{WS}/alertRules", f"{WS}/alertRules/<name>", {
    "list": res.list_alert_rules, "get": res.get_alert_rule, "put": res.put_alert_rule,
    "delete": res.delete_alert_rule})
_crud("actions", f"{WS}/alertRules/<rule>/actions", f"{WS}/alertRules/<rule>/actions/<action>", {
    "list": res.list_actions, "get": res.get_action, "put": res.put_action, "delete": res.delete_action})
_crud("alertRuleTemplates", f"{WS}/alertRuleTemplates", f"{WS}/alertRuleTemplates/<name>", {
    "list": res.list_templates, "get": res.get_template})
_crud("automationRules", f"{WS}/automationRules", f"{WS}/automationRules/<name>", {
    "list": res.list_automation_rules, "get": res.get_automation_rule, "put": res.put_automation_rule,
    "delete": res.delete_automation_rule})
_crud("dataConnectors", f"{WS}/dataConnectors", f"{WS}/dataConnectors/<name>", {
    "list": res.list_data_connectors, "get": res.get_data_connector, "put": res.put_data_connector,
    "delete": res.delete_data_connector})
_add("subscriptions.list", "GET", "/subscriptions", Route(res.list_subscriptions, "arm", is_list=True,
                                                           versions=RESOURCE_VERSIONS))
_add("subscriptions.get", "GET", "/subscriptions/<sub>", Route(res.get_subscription, "arm", versions=RESOURCE_VERSIONS))
_add("resourceGroups.list", "GET", "/subscriptions/<sub>/resourceGroups",
     Route(res.list_resource_groups, "arm", is_list=True, versions=RESOURCE_VERSIONS))
_add("resourceGroups.get", "GET", "/subscriptions/<sub>/resourceGroups/<rg>",
     Route(res.get_resource_group, "arm", versions=RESOURCE_VERSIONS))
_add("workspaces.get", "GET",
     "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<ws>",
     Route(res.get_workspace, "arm", versions=WORKSPACE_VERSIONS))


_BUILT: dict[tuple, tuple[Map, dict[str, Route]]] = {}


def build_map(identity_routes: dict[str, tuple[str, str, Route]]) -> tuple[Map, dict[str, Route]]:
    """The werkzeug Map for ARM plus the given identity routes, and endpoint -> Route. Built once per
    process and shared (a Map is read-only once built; compiling its rules takes ~0.1 s)."""
    key = tuple(sorted(identity_routes))
    if key not in _BUILT:
        _BUILT[key] = _build(identity_routes)
    return _BUILT[key]


def _build(identity_routes: dict[str, tuple[str, str, Route]]) -> tuple[Map, dict[str, Route]]:
    table = {**ROUTES, **identity_routes}
    rules = [Rule(path, endpoint=name, methods=[method]) for name, (method, path, _) in table.items()]
    validator = spec_validator()
    routes = {name: replace(route, operation=validator.operation(method, path)) if route.group == "arm" else route
              for name, (method, path, route) in table.items()}
    return Map(rules, strict_slashes=False, merge_slashes=False), routes


def canonical_path(path: str) -> str:
    """ARM paths with fixed segments in canonical case; other paths unchanged."""
    parts = path.split("/")
    if len(parts) < 2 or parts[1].lower() != "subscriptions":
        return path
    out = []
    for i, part in enumerate(parts):
        fixed = FIXED.get(part.lower())
        previous = out[-1] if out else ""
        # fixed segments sit at odd indexes ("/a/b" splits to ["", "a", "b"]); namespaces follow "providers"
        if fixed and (i % 2 == 1 or previous == "providers" or previous == "threatIntelligence"):
            out.append(fixed)
        else:
            out.append(part)
    return "/".join(out)


def is_arm_path(path: str) -> bool:
    return path.lower().startswith("/subscriptions")

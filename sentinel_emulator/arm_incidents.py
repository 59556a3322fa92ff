"""ARM handlers: incidents and their comments, relations, tasks, alerts, entities and bookmarks."""

from __future__ import annotations

import re
from typing import Callable

from werkzeug.wrappers import Response

from . import models, odata, views
from .context import Ctx, asc, desc, property_checker
from .errors import bad_request, json_response, not_found
from .state import Record, Workspace
from .store import related_fields

INCIDENT_TYPE = "Microsoft.Azure.Sentinel.Incident"
RELATION_NAME = re.compile(r"^[a-zA-Z0-9-]{3,63}$")
MAX_COMMENT = 30000


def _incident(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> tuple[Workspace, Record]:
    workspace = ctx.workspace(sub, rg, ws)
    return workspace, ctx.store.find_incident(workspace, iid)


# region incidents


# properties whose stored value is the value the API shows (the rest are derived when rendering)
STORED_AS_SHOWN = frozenset((
    "title", "description", "severity", "status", "classification", "classificationComment",
    "classificationReason", "firstActivityTimeUtc", "lastActivityTimeUtc", "createdTimeUtc", "lastModifiedTimeUtc",
    "incidentNumber", "providerName", "providerIncidentId"))
BY_NUMBER = [asc("properties/incidentNumber")]  # the order of workspace.incidents (numbers are handed out in order)


class _IncidentPaths:
    """$filter/$orderby paths read from stored incident records; a record is rendered (once per
    request) only for a path that needs another derived value (labels, additionalData, incidentUrl).
    Callable as an odata resolver; `getter(path)` compiles a path once per query."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.rendered: dict[int, dict] = {}

    def __call__(self, rec: Record, path: str) -> object:
        return self.getter(path)(rec)

    def getter(self, path: str) -> Callable[[Record], object]:
        if path == "name":
            return lambda rec: rec.name
        head, _, prop = path.partition("/")
        if head == "properties" and prop in STORED_AS_SHOWN:
            return lambda rec: rec.properties.get(prop)
        if head == "properties" and prop.startswith("owner/"):
            key = prop[len("owner/"):]
            return lambda rec: views.incident_owner(rec.properties).get(key)
        return lambda rec: odata.default_resolver(self.view(rec), path)

    def view(self, rec: Record) -> dict:
        found = self.rendered.get(id(rec))
        if found is None:
            found = self.rendered[id(rec)] = views.incident(self.workspace, rec)
        return found


def list_incidents(ctx: Ctx, sub: str, rg: str, ws: str) -> Response:
    """Filters and sorts the stored records; renders only the page. `$orderby=properties/incidentNumber`
    (either direction) scans in stored order and stops when the page is full."""
    check = property_checker(INCIDENT_TYPE, models.INCIDENT_PROPERTIES)
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        resolver = _IncidentPaths(workspace)
        query = ctx.list_query(check, max_top=1000, resolver=resolver)
        visible = [r for r in workspace.incidents.values() if not r.hidden]
        body = ctx.page(visible, query, [desc("properties/createdTimeUtc")], resolver, presorted=BY_NUMBER,
                        render=lambda rec: views.incident(workspace, rec))
    return json_response(body)


def get_incident(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        return json_response(views.incident(workspace, rec))


def put_incident(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    body = ctx.json()
    props = models.incident_input(body)
    store = ctx.store
    with store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        rec = workspace.incidents.get(iid)
        if rec is None:
            rec = store.create_incident_record(workspace, iid, props, store.now())
            return json_response(views.incident(workspace, rec), 201)
        ctx.check_etag(body, rec, f"{workspace.prefix}/incidents/{iid}")
        for key in models.INCIDENT_WRITABLE:
            rec.properties.pop(key, None)
        rec.properties.update(props)
        store.touch(rec)
        return json_response(views.incident(workspace, rec), 200)


def delete_incident(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    with ctx.store.lock:
        workspace = ctx.workspace(sub, rg, ws)
        rec = workspace.incidents.get(iid)
        if rec is None or rec.hidden:
            return Response(status=204)
        del workspace.incidents[iid]
        return Response(status=200)


def incident_alerts(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        return json_response({"value": [views.alert(workspace, a) for a in rec.alerts]})


def incident_entities(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        entities = [views.entity(workspace, e) for e in rec.entities]
    counts: dict[str, int] = {}
    for entity in entities:
        counts[entity["kind"]] = counts.get(entity["kind"], 0) + 1
    return json_response({"entities": entities,
                          "metaData": [{"entityKind": k, "count": n} for k, n in counts.items()]})


def incident_bookmarks(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        return json_response({"value": [views.hunting_bookmark(workspace, b)
                                         for b in views.related_bookmarks(workspace, rec)]})


# endregion

# region comments


def list_comments(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    query = ctx.list_query(property_checker("Microsoft.Azure.Sentinel.IncidentComment", models.COMMENT_PROPERTIES))
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        items = [views.comment(workspace, rec, c) for c in rec.children["comments"].values()]
    return json_response(ctx.page(items, query, [asc("properties/createdTimeUtc")]))


def get_comment(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, cid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        comment = rec.children["comments"].get(cid)
        if comment is None:
            raise _missing("Comment", cid)
        return json_response(views.comment(workspace, rec, comment))


def put_comment(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, cid: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "incident comment")
    message = props.get("message")
    if not isinstance(message, str) or not message.strip():
        raise bad_request("The incident comment is missing required properties: message.")
    if len(message) > MAX_COMMENT:
        raise bad_request(f"The comment message is longer than {MAX_COMMENT} characters.")
    store = ctx.store
    with store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        comments = rec.children["comments"]
        existing = comments.get(cid)
        stamp = store.now()
        if existing is None:
            comment = Record(cid, store.new_etag(), {"message": message, "createdTimeUtc": stamp,
                                                     "lastModifiedTimeUtc": stamp, "author": ctx.caller.client_info()})
            comments[cid] = comment
            return json_response(views.comment(workspace, rec, comment), 201)
        ctx.check_etag(body, existing, f"{workspace.prefix}/incidents/{iid}/comments/{cid}")
        existing.properties.update(message=message, lastModifiedTimeUtc=stamp)
        existing.etag = store.new_etag()
        return json_response(views.comment(workspace, rec, existing), 200)


def delete_comment(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, cid: str) -> Response:
    with ctx.store.lock:
        _, rec = _incident(ctx, sub, rg, ws, iid)
        if rec.children["comments"].pop(cid, None) is None:
            return Response(status=204)
        return Response(status=200)


# endregion

# region relations


def _entity_kind(workspace: Workspace, name: str) -> str | None:
    for inc in workspace.incidents.values():
        if any(a["name"] == name for a in inc.alerts):
            return "SecurityAlert"
        for entity in inc.entities:
            if entity["name"] == name:
                return entity["kind"]
    return None


def _check_related(workspace: Workspace, derived: dict) -> None:
    """A bookmark or alert/entity of this workspace must exist; an entity's kind is filled in."""
    if not derived["relatedResourceId"].lower().startswith(workspace.prefix.lower() + "/"):
        return
    name, kind = derived["relatedResourceName"], derived["relatedResourceType"].lower()
    if kind == "microsoft.securityinsights/bookmarks" and name not in workspace.collections["bookmarks"]:
        raise bad_request(f"The related resource '{derived['relatedResourceId']}' was not found: no bookmark "
                          f"'{name}' in workspace '{workspace.name}'.")
    if kind == "microsoft.securityinsights/entities":
        entity_kind = _entity_kind(workspace, name)
        if entity_kind is None:
            raise bad_request(f"The related resource '{derived['relatedResourceId']}' was not found: no alert or "
                              f"entity '{name}' in workspace '{workspace.name}'.")
        derived["relatedResourceKind"] = entity_kind


def list_relations(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    query = ctx.list_query(property_checker("Microsoft.Azure.Sentinel.Relation", models.RELATION_PROPERTIES))
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        items = [views.relation(workspace, rec, r) for r in rec.children["relations"].values()]
    return json_response(ctx.page(items, query, [asc("name")]))


def get_relation(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, rid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        relation = rec.children["relations"].get(rid)
        if relation is None:
            raise _missing("Relation", rid)
        return json_response(views.relation(workspace, rec, relation))


def put_relation(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, rid: str) -> Response:
    if not RELATION_NAME.match(rid):
        raise bad_request(f"The relation name '{rid}' must match ^[a-zA-Z0-9-]{{3,63}}$.")
    body = ctx.json()
    props = models.properties_of(body, "relation")
    models.require(props, ("relatedResourceId",), "relation")
    derived = {"relatedResourceId": props["relatedResourceId"], **related_fields(str(props["relatedResourceId"]))}
    store = ctx.store
    with store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        _check_related(workspace, derived)
        existing = rec.children["relations"].get(rid)
        if existing is not None:
            ctx.check_etag(body, existing, f"{workspace.prefix}/incidents/{iid}/relations/{rid}")
        relation = Record(rid, store.new_etag(), derived)
        rec.children["relations"][rid] = relation
        return json_response(views.relation(workspace, rec, relation), 200 if existing else 201)


def delete_relation(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, rid: str) -> Response:
    with ctx.store.lock:
        _, rec = _incident(ctx, sub, rg, ws, iid)
        return Response(status=200 if rec.children["relations"].pop(rid, None) else 204)


# endregion

# region tasks


def list_tasks(ctx: Ctx, sub: str, rg: str, ws: str, iid: str) -> Response:
    query = ctx.list_query(property_checker("IncidentTask", models.TASK_PROPERTIES), odata_options=False)
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        items = [views.task(workspace, rec, t) for t in rec.children["tasks"].values()]
    return json_response(ctx.page(items, query, [asc("properties/createdTimeUtc")]))


def get_task(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, tid: str) -> Response:
    with ctx.store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        task = rec.children["tasks"].get(tid)
        if task is None:
            raise _missing("Task", tid)
        return json_response(views.task(workspace, rec, task))


def put_task(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, tid: str) -> Response:
    body = ctx.json()
    props = models.properties_of(body, "incident task")
    models.require(props, ("title", "status"), "incident task")
    models.check_enum(props, "status", models.TASK_STATUSES, "incident task")
    store = ctx.store
    with store.lock:
        workspace, rec = _incident(ctx, sub, rg, ws, iid)
        existing = rec.children["tasks"].get(tid)
        stamp = store.now()
        who = ctx.caller.client_info()
        if existing is not None:
            ctx.check_etag(body, existing, f"{workspace.prefix}/incidents/{iid}/tasks/{tid}")
            created, created_by = existing.properties["createdTimeUtc"], existing.properties["createdBy"]
        else:
            created, created_by = stamp, who
        task = Record(tid, store.new_etag(), {
            **models.pick(props, ("title", "description", "status")),
            "createdTimeUtc": created, "lastModifiedTimeUtc": stamp, "createdBy": created_by, "lastModifiedBy": who})
        rec.children["tasks"][tid] = task
        return json_response(views.task(workspace, rec, task), 200 if existing else 201)


def delete_task(ctx: Ctx, sub: str, rg: str, ws: str, iid: str, tid: str) -> Response:
    with ctx.store.lock:
        _, rec = _incident(ctx, sub, rg, ws, iid)
        return Response(status=200 if rec.children["tasks"].pop(tid, None) else 204)


# endregion


def _missing(kind: str, name: str) -> Exception:
    return not_found(f"{kind} '{name}' was not found.")

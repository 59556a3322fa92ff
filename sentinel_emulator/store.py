"""State of the emulated tenant: subscriptions, resource groups, workspaces and their Sentinel
resources. One re-entrant lock guards everything; the HTTP handlers and the Python API share it.

The Python API (the methods without a leading underscore) is what tests use to arrange and
inspect state; see the package docstring for the list.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any, Iterator

from . import models, views
from .clock import Clock, format_offset, format_utc, system_clock
from .errors import ArmError, bad_request, not_found
from .state import (ANALYST, DEFENDER_CORRELATION, DEFENDER_PROVIDER, HUMAN_ANALYST, SENTINEL_PROVIDER, Caller,
                    Record, Workspace)

__all__ = ["ANALYST", "HUMAN_ANALYST", "Caller", "Record", "Store", "Workspace", "related_fields"]
REDIRECTED = {"labelName": "Redirected", "labelType": "AutoAssigned"}



def related_fields(resource_id: str) -> dict:
    """relatedResourceName/Type derived from an ARM id, or ARM's 400 for something that is not one."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered or len(parts) < 4:
        raise bad_request(f"relatedResourceId '{resource_id}' is not a valid ARM resource id.")
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    tail = parts[at + 1:]
    if len(tail) < 3:
        raise bad_request(f"relatedResourceId '{resource_id}' is not a valid ARM resource id.")
    return {"relatedResourceName": tail[-1], "relatedResourceType": "/".join([tail[0]] + tail[1:-1:2])}


class Store:
    """All emulated state, behind `lock`."""

    def __init__(self, clock: Clock = system_clock, tenant_id: str = "", seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.tenant_id = tenant_id
        self._rng = random.Random(seed)
        self.subscriptions: dict[str, dict] = {}
        self.resource_groups: dict[tuple[str, str], dict] = {}
        self.workspaces: dict[tuple[str, str, str], Workspace] = {}
        self.default: Workspace | None = None

    # region helpers

    def new_id(self) -> str:
        """A version-4 GUID from the store's seeded RNG (formatted directly: this runs per record)."""
        with self.lock:
            value = self._rng.getrandbits(128)
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[value & 3]}{text[17:20]}-{text[20:]}"

    def new_etag(self) -> str:
        return f'"{self.new_id()}"'

    def now(self) -> str:
        return format_utc(self.clock())

    def now_offset(self) -> str:
        return format_offset(self.clock())

    # endregion

    # region topology

    def add_subscription(self, subscription_id: str, display_name: str = "Sentinel Emulator") -> None:
        with self.lock:
            self.subscriptions[subscription_id.lower()] = {
                "subscriptionId": subscription_id, "displayName": display_name}

    def add_resource_group(self, subscription_id: str, name: str, location: str = "westeurope",
                           tags: dict[str, str] | None = None) -> None:
        with self.lock:
            if subscription_id.lower() not in self.subscriptions:
                self.add_subscription(subscription_id)
            self.resource_groups[(subscription_id.lower(), name.lower())] = {
                "subscription": subscription_id, "name": name, "location": location, "tags": dict(tags or {})}

    def add_workspace(self, subscription_id: str, resource_group: str, name: str) -> Workspace:
        with self.lock:
            if (subscription_id.lower(), resource_group.lower()) not in self.resource_groups:
                self.add_resource_group(subscription_id, resource_group)
            ws = Workspace(subscription_id, resource_group, name)
            self.workspaces[(subscription_id.lower(), resource_group.lower(), name.lower())] = ws
            if self.default is None:
                self.default = ws
            return ws

    def workspace(self, subscription_id: str, resource_group: str, name: str) -> Workspace:
        """The workspace addressed by a URL, or the 404 ARM would give."""
        sub, rg = subscription_id.lower(), resource_group.lower()
        if sub not in self.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found.")
        if (sub, rg) not in self.resource_groups:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found.")
        ws = self.workspaces.get((sub, rg, name.lower()))
        if ws is None:
            raise ArmError(404, "ResourceNotFound",
                           f"The Resource 'Microsoft.OperationalInsights/workspaces/{name}' under resource group "
                           f"'{resource_group}' was not found. For more details please go to "
                           "https://aka.ms/ARMResourceNotFoundFix")
        return ws

    def _ws(self, workspace: Workspace | None) -> Workspace:
        ws = workspace or self.default
        if ws is None:
            raise RuntimeError("the store has no workspace")
        return ws

    # endregion

    # region incidents (Python API)

    def add_incident(self, title: str, severity: str = "Medium", status: str = "New", **options: Any) -> dict:
        """Create an incident with the next incidentNumber (hidden ones too); returns its API JSON.
        Options: see `new_incident`."""
        with self.lock:
            rec = self.new_incident(title, severity, status, **options)
            return views.incident(self._ws(options.get("workspace")), rec)

    def new_incident(
        self,
        title: str,
        severity: str = "Medium",
        status: str = "New",
        *,
        created: datetime | None = None,
        hidden: bool = False,
        name: str | None = None,
        description: str | None = None,
        owner: dict | None = None,
        labels: list[str] | None = None,
        classification: str | None = None,
        classification_reason: str | None = None,
        alerts: int | list[dict] = 0,
        tactics: list[str] | None = None,
        product_name: str = "Azure Sentinel",
        rule_names: list[str] | None = None,
        provider_name: str = SENTINEL_PROVIDER,
        provider_incident_id: str | None = None,
        workspace: Workspace | None = None,
    ) -> Record:
        """Create an incident with the next incidentNumber (hidden ones too); returns its stored Record
        (bulk seeding uses this: rendering JSON for every new incident would cost more than storing it).

        provider_name="Microsoft XDR" makes a Defender portal incident: providerIncidentId is then the
        next Defender incident ID (unless given) and additionalData.providerIncidentUrl links to it."""
        models.check_enum({"severity": severity}, "severity", models.SEVERITIES, "incident")
        models.check_enum({"status": status}, "status", models.INCIDENT_STATUSES, "incident")
        with self.lock:
            ws = self._ws(workspace)
            stamp = format_utc(created) if created else self.now()
            props: dict[str, Any] = {"title": title, "severity": severity, "status": status}
            if description is not None:
                props["description"] = description
            if owner:
                props["owner"] = models.pick(owner, models.OWNER_KEYS)
            if labels:
                props["labels"] = [{"labelName": label, "labelType": "User"} for label in labels]
            if classification:
                props["classification"] = classification
            if classification_reason:
                props["classificationReason"] = classification_reason
            props.update(firstActivityTimeUtc=stamp, lastActivityTimeUtc=stamp)
            props["relatedAnalyticRuleIds"] = [f"{ws.prefix}/alertRules/{r}" for r in rule_names or []]
            rec = self.create_incident_record(ws, name or self.new_id(), props, stamp, hidden)
            if provider_name != SENTINEL_PROVIDER:
                self._set_provider(ws, rec, provider_name, provider_incident_id)
            specs = [{} for _ in range(alerts)] if isinstance(alerts, int) else alerts
            for spec in specs:
                merged = {"alertDisplayName": title, "severity": severity, "productName": product_name,
                          "tactics": list(tactics or []), "timeGenerated": stamp, **spec}
                self._append_alert(ws, rec, merged)
            return rec

    def create_incident_record(self, ws: Workspace, name: str, props: dict, stamp: str, hidden: bool = False) -> Record:
        number = ws.next_incident_number
        ws.next_incident_number += 1
        props = dict(props)
        props.update(
            createdTimeUtc=stamp, lastModifiedTimeUtc=stamp, incidentNumber=number,
            providerName="Azure Sentinel", providerIncidentId=str(number),
        )
        props.setdefault("relatedAnalyticRuleIds", [])
        rec = Record(name=name, etag=self.new_etag(), properties=props, hidden=hidden)
        ws.incidents[name] = rec
        return rec

    def _set_provider(self, ws: Workspace, rec: Record, provider: str, provider_id: str | None) -> None:
        if provider_id is None:
            provider_id = str(ws.next_defender_number)
            ws.next_defender_number += 1
        rec.properties.update(providerName=provider, providerIncidentId=provider_id)
        if provider == DEFENDER_PROVIDER:
            rec.properties["additionalData"] = {
                "providerIncidentUrl": f"https://security.microsoft.com/incidents/{provider_id}?tid={self.tenant_id}"}

    def touch(self, rec: Record, field_name: str = "lastModifiedTimeUtc") -> None:
        rec.etag = self.new_etag()
        rec.properties[field_name] = self.now()

    def modify_incident(self, name: str, workspace: Workspace | None = None, **props: Any) -> dict:
        """Change properties (e.g. severity="High"); bumps lastModifiedTimeUtc and the etag."""
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, name, include_hidden=True)
            for key, value in props.items():
                if key not in models.INCIDENT_PROPERTIES:
                    raise ValueError(f"{key!r} is not an incident property in the 2025-12-01 spec")
                if isinstance(value, datetime):
                    value = format_utc(value)
                rec.properties[key] = value
            self.touch(rec)
            return views.incident(ws, rec)

    def reveal(self, name: str, workspace: Workspace | None = None) -> dict:
        """Make a hidden incident visible to list and get calls."""
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, name, include_hidden=True)
            rec.hidden = False
            return views.incident(ws, rec)

    def merge_incident(self, source: str, target: str, workspace: Workspace | None = None) -> dict:
        """What the Defender portal does when it merges `source` into `target`: the source's alerts (with
        their relations and entities), labels and analytics rules move to the target; the source is
        closed (classification Undetermined), keeps only the label "Redirected" (AutoAssigned) and gets a
        comment naming the target, both by "Microsoft Defender XDR - alert correlation"; both incidents
        get a new lastModifiedTimeUtc and etag. Comments stay on the source. Returns the target's JSON.
        Closed incidents are not merged (ValueError), as in the portal."""
        with self.lock:
            ws = self._ws(workspace)
            src = self.find_incident(ws, source, include_hidden=True)
            dst = self.find_incident(ws, target, include_hidden=True)
            if src is dst:
                raise ValueError("an incident cannot be merged into itself")
            if "Closed" in (src.properties["status"], dst.properties["status"]):
                raise ValueError("closed incidents are not merged")
            dst.alerts.extend(src.alerts)
            dst.entities.extend(src.entities)
            src.alerts, src.entities = [], []
            for name, relation in list(src.children["relations"].items()):
                if relation.properties.get("relatedResourceKind") == "SecurityAlert":
                    dst.children["relations"][name] = src.children["relations"].pop(name)
            labels = list(dst.properties.get("labels") or [])
            for label in src.properties.get("labels") or []:
                if label["labelName"] not in {x["labelName"] for x in labels}:
                    labels.append(label)
            dst.properties["labels"] = labels
            rules = list(dst.properties.get("relatedAnalyticRuleIds") or [])
            rules += [r for r in src.properties.get("relatedAnalyticRuleIds") or [] if r not in rules]
            dst.properties["relatedAnalyticRuleIds"] = rules
            src.properties.update(status="Closed", classification="Undetermined", labels=[dict(REDIRECTED)])
            for key in ("classificationReason", "classificationComment"):
                src.properties.pop(key, None)
            number = dst.properties["incidentNumber"]
            self.attach_comment(src, f"This incident was merged into incident {number} ({dst.properties['title']}) by "
                               "Microsoft Defender XDR correlation.", author=DEFENDER_CORRELATION)
            self.touch(src)
            self.touch(dst)
            return views.incident(ws, dst)

    def delete_incident(self, name: str, workspace: Workspace | None = None) -> None:
        with self.lock:
            self._ws(workspace).incidents.pop(name, None)

    def incidents(self, workspace: Workspace | None = None, include_hidden: bool = True) -> list[dict]:
        """All incidents (hidden ones too by default) as API JSON, by incidentNumber."""
        with self.lock:
            ws = self._ws(workspace)
            recs = [r for r in ws.incidents.values() if include_hidden or not r.hidden]
            recs.sort(key=lambda r: r.properties["incidentNumber"])
            return [views.incident(ws, r) for r in recs]

    def incident_records(self, workspace: Workspace | None = None) -> list[Record]:
        """The stored incident records (hidden ones too), by incidentNumber; cheaper than `incidents()`."""
        with self.lock:
            return sorted(self._ws(workspace).incidents.values(), key=lambda r: r.properties["incidentNumber"])

    def incident(self, name: str, workspace: Workspace | None = None) -> dict:
        with self.lock:
            ws = self._ws(workspace)
            return views.incident(ws, self.find_incident(ws, name, include_hidden=True))

    def add_comment(self, incident_name: str, message: str, *, name: str | None = None,
                    author: Caller = ANALYST, workspace: Workspace | None = None) -> dict:
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, incident_name, include_hidden=True)
            return views.comment(ws, rec, self.attach_comment(rec, message, name=name, author=author))

    def attach_comment(self, rec: Record, message: str, *, name: str | None = None,
                       author: Caller = ANALYST) -> Record:
        """A comment on a stored incident record (no lookup, no rendering)."""
        stamp = self.now()
        comment = Record(name or self.new_id(), self.new_etag(), {
            "message": message, "createdTimeUtc": stamp, "lastModifiedTimeUtc": stamp,
            "author": author.client_info()})
        rec.children["comments"][comment.name] = comment
        return comment

    def add_alert(self, incident_name: str, workspace: Workspace | None = None, **props: Any) -> dict:
        """Attach a SecurityAlert (spec property names as keyword arguments)."""
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, incident_name, include_hidden=True)
            props.setdefault("alertDisplayName", rec.properties["title"])
            props.setdefault("severity", rec.properties["severity"])
            alert = self._append_alert(ws, rec, props)
            return views.alert(ws, alert)

    def _append_alert(self, ws: Workspace, rec: Record, props: dict) -> dict:
        name = props.pop("name", None) or self.new_id()
        stamp = props.get("timeGenerated") or self.now()
        base = {
            "systemAlertId": name, "alertType": props.get("alertDisplayName", "Alert"),
            "confidenceLevel": "Unknown", "status": "New", "vendorName": "Microsoft",
            "productName": "Azure Sentinel", "startTimeUtc": stamp, "endTimeUtc": stamp,
            "timeGenerated": stamp, "processingEndTime": stamp, "tactics": [],
            "resourceIdentifiers": [{"type": "LogAnalytics", "workspaceId": ws.name,
                                     "subscriptionId": ws.subscription, "resourceGroup": ws.resource_group}],
            "friendlyName": props.get("alertDisplayName", "Alert"),
        }
        base.update(props)
        alert = {"name": name, "properties": models.pick(base, models.ALERT_PROPERTIES)}
        rec.alerts.append(alert)
        # every alert is also a relation of its incident (named like the alert: one per alert and incident)
        relation = Record(name, self.new_etag(), {
            "relatedResourceId": f"{ws.prefix}/entities/{name}", "relatedResourceName": name,
            "relatedResourceType": "Microsoft.SecurityInsights/entities", "relatedResourceKind": "SecurityAlert"})
        rec.children["relations"][name] = relation
        return alert

    def _relate(self, rec: Record, resource_id: str, name: str, kind: str | None = None) -> Record:
        props = {"relatedResourceId": resource_id, **related_fields(resource_id)}
        if kind:
            props["relatedResourceKind"] = kind
        relation = Record(name, self.new_etag(), props)
        rec.children["relations"][name] = relation
        return relation

    def add_relation(self, incident_name: str, resource_id: str, *, name: str | None = None,
                     workspace: Workspace | None = None) -> dict:
        """Relate a bookmark (or any ARM resource) to an incident, as PUT .../relations/{name} does."""
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, incident_name, include_hidden=True)
            relation = self._relate(rec, resource_id, name or self.new_id())
            return views.relation(ws, rec, relation)

    def add_task(self, incident_name: str, title: str, status: str = "New", *, description: str | None = None,
                 name: str | None = None, author: Caller = ANALYST, workspace: Workspace | None = None) -> dict:
        models.check_enum({"status": status}, "status", models.TASK_STATUSES, "incident task")
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, incident_name, include_hidden=True)
            stamp = self.now()
            props = {"title": title, "status": status, "createdTimeUtc": stamp, "lastModifiedTimeUtc": stamp,
                     "createdBy": author.client_info(), "lastModifiedBy": author.client_info()}
            if description is not None:
                props["description"] = description
            task = Record(name or self.new_id(), self.new_etag(), props)
            rec.children["tasks"][task.name] = task
            return views.task(ws, rec, task)

    def add_entity(self, incident_name: str, kind: str, workspace: Workspace | None = None, **props: Any) -> dict:
        """Attach an entity of `kind` (Account, Host, Ip, Url, FileHash, ...)."""
        if kind not in models.ENTITY_PROPERTIES:
            raise ValueError(f"unsupported entity kind {kind!r}")
        with self.lock:
            ws = self._ws(workspace)
            rec = self.find_incident(ws, incident_name, include_hidden=True)
            return views.entity(ws, self.attach_entity(rec, kind, **props))

    def attach_entity(self, rec: Record, kind: str, **props: Any) -> dict:
        """An entity on a stored incident record (no lookup, no rendering); returns the stored entity."""
        entity = {"name": props.pop("name", None) or self.new_id(), "kind": kind,
                  "properties": models.pick(props, models.ENTITY_PROPERTIES[kind])}
        rec.entities.append(entity)
        return entity

    def find_incident(self, ws: Workspace, name: str, include_hidden: bool = False) -> Record:
        rec = ws.incidents.get(name)
        if rec is None or (rec.hidden and not include_hidden):
            raise not_found(f"Incident '{name}' was not found in workspace '{ws.name}'.")
        return rec

    # endregion

    # region other collections (Python API)

    def put_record(self, collection: str, name: str, properties: dict, *, kind: str | None = None,
                   workspace: Workspace | None = None) -> Record:
        """Insert or replace a workspace-level resource (watchlists, bookmarks, alertRules, ...)."""
        with self.lock:
            ws = self._ws(workspace)
            rec = Record(name, self.new_etag(), dict(properties), kind=kind)
            ws.collections[collection][name] = rec
            return rec

    def add_watchlist(self, alias: str, display_name: str, items_search_key: str,
                      items: list[dict[str, str]] | None = None, workspace: Workspace | None = None) -> dict:
        with self.lock:
            ws = self._ws(workspace)
            stamp = self.now_offset()
            rec = self.put_record("watchlists", alias, {
                "watchlistId": self.new_id(), "displayName": display_name, "provider": "Microsoft",
                "source": f"{alias}.csv", "sourceType": "Local", "created": stamp, "updated": stamp,
                "createdBy": ANALYST.user_info(), "updatedBy": ANALYST.user_info(), "description": "",
                "watchlistType": "watchlist", "watchlistAlias": alias, "isDeleted": False, "labels": [],
                "defaultDuration": "P1000D", "tenantId": self.tenant_id, "numberOfLinesToSkip": 0,
                "itemsSearchKey": items_search_key, "contentType": "text/csv", "uploadStatus": "Complete",
                "provisioningState": "Succeeded"}, workspace=ws)
            for row in items or []:
                self.put_watchlist_item(rec, self.new_id(), row, ANALYST)
            return views.watchlist(ws, rec)

    def put_watchlist_item(self, watchlist: Record, item_id: str, values: dict, caller: Caller) -> Record:
        with self.lock:
            old = watchlist.children["items"].get(item_id)
            stamp = self.now_offset()
            props = {
                "watchlistItemType": "watchlist-item", "watchlistItemId": item_id, "tenantId": self.tenant_id,
                "isDeleted": False, "created": old.properties["created"] if old else stamp, "updated": stamp,
                "createdBy": old.properties["createdBy"] if old else caller.user_info(),
                "updatedBy": caller.user_info(), "itemsKeyValue": dict(values), "entityMapping": {},
            }
            item = Record(item_id, self.new_etag(), props)
            watchlist.children["items"][item_id] = item
            return item

    def records(self, collection: str, workspace: Workspace | None = None) -> Iterator[Record]:
        with self.lock:
            return iter(list(self._ws(workspace).collections[collection].values()))

    # endregion

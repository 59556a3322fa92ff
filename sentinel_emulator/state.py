"""The emulated tenant's data: who acts (`Caller`), stored resources (`Record`) and workspaces.

Plain data, no behaviour beyond derived identifiers. `views` renders these as API JSON and
`store` changes them; neither is imported here, so dependencies point one way only:
state <- views <- store (and the ARM handlers use all three).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

HUMAN_ANALYST = {
    "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
    "email": "ada.analyst@contoso.com",
    "name": "Ada Analyst",
    "userPrincipalName": "ada.analyst@contoso.com",
}


@dataclass(frozen=True)
class Caller:
    """Who made a write: shown as comment author, createdBy, updatedBy..."""

    principal: str
    object_id: str
    name: str
    email: str | None = None
    upn: str | None = None

    def client_info(self) -> dict:
        info = {"email": self.email, "name": self.name, "objectId": self.object_id, "userPrincipalName": self.upn}
        return {k: v for k, v in info.items() if v is not None}

    def user_info(self) -> dict:
        info = {"email": self.email, "name": self.name, "objectId": self.object_id}
        return {k: v for k, v in info.items() if v is not None}


ANALYST = Caller("analyst", HUMAN_ANALYST["objectId"], HUMAN_ANALYST["name"],
                 HUMAN_ANALYST["email"], HUMAN_ANALYST["userPrincipalName"])
RESPONDER = Caller("responder", "7b1e9c2d-3f4a-4b5c-8d6e-9f0a1b2c3d4e", "Sam Responder", "sam.responder@contoso.com",
                   "sam.responder@contoso.com")
SENTINEL_USERS = (ANALYST, RESPONDER)  # the people who work incidents in the portal
DEFENDER_CORRELATION = Caller("defender-correlation", "c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
                              "Microsoft Defender XDR - alert correlation")
SENTINEL_PROVIDER = "Azure Sentinel"
DEFENDER_PROVIDER = "Microsoft XDR"  # incidents created or correlated in the Defender portal


@dataclass
class Record:
    """One stored resource. `children` holds sub-collections (comments, relations, tasks, items, actions)."""

    name: str
    etag: str
    properties: dict
    kind: str | None = None
    hidden: bool = False
    children: dict[str, dict[str, "Record"]] = field(default_factory=lambda: defaultdict(dict))
    alerts: list[dict] = field(default_factory=list)
    entities: list[dict] = field(default_factory=list)


@dataclass
class Workspace:
    subscription: str
    resource_group: str
    name: str
    incidents: dict[str, Record] = field(default_factory=dict)
    next_incident_number: int = 1
    next_defender_number: int = 41001  # Defender portal incident IDs are their own sequence
    collections: dict[str, dict[str, Record]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def arm_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.OperationalInsights/workspaces/{self.name}")

    @property
    def prefix(self) -> str:
        return f"{self.arm_id}/providers/Microsoft.SecurityInsights"

    @property
    def customer_id(self) -> str:
        """The workspace ID (a GUID derived from the ARM id) that the Log Analytics query API uses."""
        digest = hashlib.md5(self.arm_id.lower().encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"

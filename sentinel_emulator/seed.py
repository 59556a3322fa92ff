"""Deterministic sample data (`seed=N` incidents plus a few of every other resource) and the
`live` generator that keeps creating, escalating and updating incidents."""

from __future__ import annotations

import gc
import random
import re
import threading
from contextlib import contextmanager
from typing import Iterator
from .clock import to_datetime
from .state import ANALYST, DEFENDER_PROVIDER, SENTINEL_PROVIDER, SENTINEL_USERS, Record
from .store import Store

PRODUCTS = (
    "Azure Sentinel", "Microsoft Defender for Endpoint", "Microsoft Defender for Cloud",
    "Microsoft Entra ID Protection", "Microsoft Defender for Cloud Apps", "Microsoft Defender for Office 365",
)
SCENARIOS = (
    ("Multiple failed sign-ins followed by a success for {user}", ["CredentialAccess", "InitialAccess"]),
    ("Suspicious PowerShell command line on {host}", ["Execution", "DefenseEvasion"]),
    ("Mass download by {user} from SharePoint", ["Collection", "Exfiltration"]),
    ("Impossible travel activity for {user}", ["InitialAccess"]),
    ("Ransomware behaviour detected on {host}", ["Impact"]),
    ("New inbox forwarding rule created by {user}", ["Persistence", "Collection"]),
    ("Communication with a known C2 server from {host}", ["CommandAndControl"]),
    ("Credential dumping tool (Mimikatz) on {host}", ["CredentialAccess"]),
    ("Unusual service principal consent by {user}", ["PrivilegeEscalation", "Persistence"]),
    ("Port scan from {ip} against the DMZ", ["Reconnaissance", "Discovery"]),
    ("Lateral movement with PsExec from {host}", ["LateralMovement", "Execution"]),
    ("Phishing email with malicious attachment delivered to {user}", ["InitialAccess"]),
)
USERS = ("alice", "bob", "carol", "dmitri", "erin", "farah", "gunnar", "hiro")
HOSTS = ("WS-FIN-014", "WS-HR-002", "SRV-DC-01", "SRV-SQL-07", "LAPTOP-ENG-33", "SRV-WEB-02")
SEVERITIES = ("Informational", "Low", "Medium", "High")
SEVERITY_CUMULATIVE = (10, 40, 75, 100)  # weights 10, 30, 35, 25
COMMENTS = (
    "Triage started; checking sign-in logs.", "Reset the user's password and revoked sessions.",
    "Host isolated by the on-call analyst.", "False alarm: approved penetration test.",
)
TASKS = ("Reset the user's password", "Isolate the host", "Collect a memory image", "Notify the asset owner")
OWNER = {"objectId": ANALYST.object_id, "email": ANALYST.email, "assignedTo": ANALYST.name,
         "userPrincipalName": ANALYST.upn, "ownerType": "User"}
CLASSIFY = {"TruePositive": "SuspiciousActivity", "BenignPositive": "SuspiciousButExpected",
            "FalsePositive": "InaccurateData"}


def _ip(rng: random.Random) -> str:
    return f"{rng.choice((10, 172, 192, 203))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic GC while seeding: its full passes over a growing heap cost a third of a 10,000-incident
    seed, and seeding creates no garbage cycles. The previous GC state comes back afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def seed_incidents(store: Store, count: int, rng: random.Random) -> None:
    """`count` incidents over the last three days, numbered in (mostly) created order; about 40% of them
    come from the Defender portal (providerName "Microsoft XDR"), decided by an RNG of their own."""
    with _bulk():
        _seed_incidents(store, count, rng)


def _seed_incidents(store: Store, count: int, rng: random.Random) -> None:
    now = store.clock()
    offsets = sorted((rng.uniform(60, 3 * 86400) for _ in range(count)), reverse=True)
    providers = random.Random(f"providers-{count}")
    rules = _scheduled_rules(store)
    for offset in offsets:
        if rng.random() < 0.1:
            offset += rng.uniform(-60, 60)  # createdTimeUtc slightly out of incidentNumber order, as seen in Azure
        provider = DEFENDER_PROVIDER if providers.random() < 0.4 else SENTINEL_PROVIDER
        add_random_incident(store, rng, to_datetime(now - offset), provider=provider, rules=rules)


def _scheduled_rules(store: Store) -> list[str]:
    return [r.name for r in store.records("alertRules") if r.kind == "Scheduled"][:1]


def add_random_incident(store: Store, rng: random.Random, created=None, *, provider: str = SENTINEL_PROVIDER,
                        rules: list[str] | None = None) -> str:
    """One plausible incident (alerts, entities, maybe comments) drawn from `rng`; returns its name."""
    user, host, ip = rng.choice(USERS), rng.choice(HOSTS), _ip(rng)
    template, tactics = rng.choice(SCENARIOS)
    title = template.format(user=f"{user}@contoso.com", host=host, ip=ip)
    severity = rng.choices(SEVERITIES, cum_weights=SEVERITY_CUMULATIVE)[0]
    status = rng.choices(("New", "Active", "Closed"), cum_weights=(50, 80, 100))[0]
    classification = rng.choice(list(CLASSIFY)) if status == "Closed" else None
    owner = OWNER if status != "New" else None
    alerts = [{"productName": rng.choice(PRODUCTS), "tactics": tactics, "compromisedEntity": host,
               "description": f"{title}. Investigate the related entities.", "name": store_id(rng)}
              for _ in range(rng.randint(1, 3))]
    rules = _scheduled_rules(store) if rules is None else rules
    rec = store.new_incident(
        title, severity, status, created=created, name=store_id(rng), owner=owner, alerts=alerts, tactics=tactics,
        rule_names=rules if rng.random() < 0.7 else None,
        description=f"Generated by the Sentinel emulator: {title.lower()}.", classification=classification,
        classification_reason=CLASSIFY.get(classification or ""),
        labels=["emulator"] if rng.random() < 0.3 else None, provider_name=provider,
    )
    store.attach_entity(rec, "Account", name=store_id(rng), accountName=user, upnSuffix="contoso.com",
                        friendlyName=user, ntDomain="CONTOSO")
    store.attach_entity(rec, "Host", name=store_id(rng), hostName=host, dnsDomain="contoso.com", osFamily="Windows",
                        friendlyName=host)
    store.attach_entity(rec, "Ip", name=store_id(rng), address=ip, friendlyName=ip)
    for n in range(rng.choice((0, 0, 1, 2))):
        store.attach_comment(rec, rng.choice(COMMENTS), name=store_id(rng), author=SENTINEL_USERS[n % 2])
    return rec.name


def store_id(rng: random.Random) -> str:
    """A GUID from the seeding RNG (so seeded names are reproducible)."""
    value = rng.getrandbits(128)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[value % 4]}{text[17:20]}-{text[20:]}"


def seed_resources(store: Store, rng: random.Random) -> None:
    """A few watchlists, indicators, rules, templates, bookmarks and connectors."""
    store.add_watchlist("highValueAssets", "High Value Assets", "Hostname", [
        {"Hostname": h, "Owner": rng.choice(USERS), "Tier": str(rng.randint(0, 2))} for h in HOSTS])
    store.add_watchlist("vipUsers", "VIP Users", "UserPrincipalName", [
        {"UserPrincipalName": f"{u}@contoso.com", "Title": "Executive"} for u in USERS[:3]])
    stamp = store.now()
    for value, kind in (("evil.example.com", "domain-name"), ("198.51.100.23", "ipv4-addr"),
                        ("https://phish.example.net/login", "url")):
        store.put_record("indicators", store_id(rng), {
            "source": "Azure Sentinel", "threatIntelligenceTags": ["emulator"], "displayName": f"Seeded {kind}",
            "description": "Seeded indicator", "pattern": f"[{kind}:value = '{value}']", "patternType": kind,
            "threatTypes": ["malicious-activity"], "confidence": rng.randint(50, 100), "revoked": False,
            "validFrom": stamp, "created": stamp, "lastUpdatedTimeUtc": stamp,
            "externalId": f"indicator--{store_id(rng)}", "friendlyName": value,
            "parsedPattern": [{"patternTypeKey": kind, "patternTypeValues": [{"valueType": "0", "value": value}]}],
        }, kind="indicator")
    rule_id = store_id(rng)
    store.put_record("alertRules", rule_id, {
        "displayName": "Brute force against Entra ID", "description": "Many failures then a success",
        "severity": "High", "enabled": True, "tactics": ["CredentialAccess"], "query": "SigninLogs | take 10",
        "queryFrequency": "PT1H", "queryPeriod": "P1D", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT1H", "suppressionEnabled": False, "lastModifiedUtc": stamp,
        "incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
            "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
            "matchingMethod": "AllEntities"}},
    }, kind="Scheduled")
    store.put_record("alertRules", "BuiltInFusion", {
        "alertRuleTemplateName": "f71aba3d-28fb-450b-b192-4e76a83015c8",
        "displayName": "Advanced Multistage Attack Detection",
        "enabled": True, "severity": "High", "tactics": ["Collection", "CommandAndControl"], "lastModifiedUtc": stamp,
    }, kind="Fusion")
    store.put_record("alertRuleTemplates", "65360bb0-8986-4ade-a89d-af3cf44d28aa", {
        "displayName": "Changes to Amazon VPC settings", "description": "Detects VPC changes", "severity": "Low",
        "status": "Available", "query": "AWSCloudTrail | take 10", "queryFrequency": "P1D", "queryPeriod": "P1D",
        "triggerOperator": "GreaterThan", "triggerThreshold": 0, "tactics": ["PrivilegeEscalation"],
        "alertRulesCreatedByTemplateCount": 0, "createdDateUTC": "2019-02-27T00:00:00Z", "version": "1.0.2",
        "requiredDataConnectors": [{"connectorId": "AWS", "dataTypes": ["AWSCloudTrail"]}],
    }, kind="Scheduled")
    store.put_record("alertRuleTemplates", "f71aba3d-28fb-450b-b192-4e76a83015c8", {
        "displayName": "Advanced Multistage Attack Detection", "description": "Fusion correlation",
        "severity": "High", "status": "Available", "tactics": ["Collection"], "alertRulesCreatedByTemplateCount": 1,
        "createdDateUTC": "2019-07-25T00:00:00Z", "requiredDataConnectors": [],
    }, kind="Fusion")
    store.put_record("automationRules", store_id(rng), {
        "displayName": "Tag emulator incidents", "order": 1,
        "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created"},
        "actions": [{"order": 1, "actionType": "ModifyProperties",
                     "actionConfiguration": {"labels": [{"labelName": "emulator"}]}}],
        "createdTimeUtc": stamp, "lastModifiedTimeUtc": stamp,
        "createdBy": ANALYST.client_info(), "lastModifiedBy": ANALYST.client_info(),
    })
    store.put_record("bookmarks", store_id(rng), {
        "displayName": "Suspicious sign-in", "query": "SigninLogs | take 1", "labels": ["emulator"],
        "notes": "Seeded bookmark", "created": store.now_offset(), "updated": store.now_offset(),
        "createdBy": ANALYST.user_info(), "updatedBy": ANALYST.user_info(),
    })
    tenant = store.tenant_id
    for name, kind, types in (("AzureActiveDirectory", "AzureActiveDirectory", {"alerts": {"state": "Enabled"}}),
                              ("MicrosoftThreatProtection", "MicrosoftThreatProtection",
                               {"incidents": {"state": "Enabled"}})):
        store.put_record("dataConnectors", store_id(rng), {"tenantId": tenant, "dataTypes": types}, kind=kind)


def seed_more_resources(store: Store, seed: int) -> None:
    """The rest of a full integration's resources: NRT and incident-creation rules, another template,
    automation rule and bookmarks, and tasks and bookmark relations on some incidents. Its own RNG,
    so the incidents `seed_incidents` draws stay the same."""
    rng = random.Random(f"resources-{seed}")
    stamp = store.now()
    who = ANALYST.client_info()
    store.put_record("alertRules", store_id(rng), {
        "displayName": "Sign-in from a TOR exit node (NRT)", "description": "Near-real-time sign-in check",
        "severity": "Medium", "enabled": True, "tactics": ["InitialAccess"], "techniques": ["T1078"],
        "query": "SigninLogs | where IPAddress in (TorExitNodes)", "suppressionDuration": "PT1H",
        "suppressionEnabled": False, "lastModifiedUtc": stamp,
        "incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
            "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
            "matchingMethod": "AllEntities"}},
    }, kind="NRT")
    store.put_record("alertRules", store_id(rng), {
        "displayName": "Create incidents from Microsoft Defender for Cloud alerts", "enabled": True,
        "productFilter": "Azure Security Center", "severitiesFilter": ["High", "Medium"],
        "displayNamesFilter": [], "displayNamesExcludeFilter": [], "lastModifiedUtc": stamp,
    }, kind="MicrosoftSecurityIncidentCreation")
    store.put_record("alertRuleTemplates", "b3cfc7c0-092c-481c-a55b-34a3979758cb", {
        "displayName": "Create incidents based on Microsoft Defender for Cloud alerts",
        "description": "Creates an incident for each alert from Microsoft Defender for Cloud",
        "productFilter": "Azure Security Center", "status": "Available", "alertRulesCreatedByTemplateCount": 0,
        "createdDateUTC": "2019-07-16T00:00:00Z", "lastUpdatedDateUTC": "2021-03-12T00:00:00Z",
        "requiredDataConnectors": [{"connectorId": "AzureSecurityCenter", "dataTypes": ["SecurityAlert (ASC)"]}],
    }, kind="MicrosoftSecurityIncidentCreation")
    store.put_record("automationRules", store_id(rng), {
        "displayName": "Assign high-severity incidents to Ada", "order": 2,
        "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created",
                            "conditions": [{"conditionType": "Property", "conditionProperties": {
                                "propertyName": "IncidentSeverity", "operator": "Equals",
                                "propertyValues": ["High"]}}]},
        "actions": [{"order": 1, "actionType": "ModifyProperties", "actionConfiguration": {
            "owner": {"objectId": ANALYST.object_id, "email": ANALYST.email, "assignedTo": ANALYST.name,
                      "userPrincipalName": ANALYST.upn, "ownerType": "User"}}}],
        "createdTimeUtc": stamp, "lastModifiedTimeUtc": stamp, "createdBy": who, "lastModifiedBy": who,
    })
    bookmarks = [next(store.records("bookmarks")).name]
    for title, query in (("Rare process on a domain controller", "SecurityEvent | where EventID == 4688"),
                         ("Mailbox forwarding to an external domain", "OfficeActivity | take 5")):
        name = store_id(rng)
        store.put_record("bookmarks", name, {
            "displayName": title, "query": query, "labels": ["hunting"], "notes": "Seeded bookmark",
            "created": store.now_offset(), "updated": store.now_offset(), "eventTime": store.now_offset(),
            "createdBy": ANALYST.user_info(), "updatedBy": ANALYST.user_info()})
        bookmarks.append(name)
    workspace = store.default
    for number, rec in enumerate(store.incident_records()):
        if number % 4 == 0:
            store.add_task(rec.name, rng.choice(TASKS), rng.choice(("New", "New", "Completed")),
                           name=store_id(rng))
        if number % 7 == 0 and workspace is not None:
            bookmark = bookmarks[number % len(bookmarks)]
            store.add_relation(rec.name, f"{workspace.prefix}/bookmarks/{bookmark}", name=store_id(rng))


class LiveFeed:
    """A background thread that keeps the workspace moving, as analysts and the Defender portal do: new
    incidents (some from Defender), escalations, status changes and closings with a classification,
    correlation renames, comments by Sentinel users, reassignments, and incident merges."""

    ACTIONS = ("create", "escalate", "status", "retitle", "comment", "reassign", "merge")
    WEIGHTS = (35, 15, 15, 8, 12, 8, 7)

    def __init__(self, store: Store, seed: int, interval: float = 3.0) -> None:
        self.store = store
        self.rng = random.Random(seed * 7919 + 1)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sentinel-emulator-live", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.step()

    def step(self) -> str:
        """One change; returns what it did (one of ACTIONS). An action with nothing to act on creates."""
        rng = self.rng
        action = rng.choices(self.ACTIONS, self.WEIGHTS)[0]
        with self.store.lock:
            open_ = [r for r in self.store.incident_records() if not r.hidden and r.properties["status"] != "Closed"]
            acted = action != "create" and bool(open_) and getattr(self, f"_{action}")(open_)
        if not acted:
            provider = DEFENDER_PROVIDER if rng.random() < 0.4 else SENTINEL_PROVIDER
            add_random_incident(self.store, rng, to_datetime(self.store.clock()), provider=provider)
            return "create"
        return action

    def _escalate(self, open_: list[Record]) -> bool:
        low = [r for r in open_ if r.properties["severity"] != "High"]
        if low:
            self.store.modify_incident(self.rng.choice(low).name, severity="High")
        return bool(low)

    def _status(self, open_: list[Record]) -> bool:
        chosen = self.rng.choice(open_)
        if chosen.properties["status"] == "New":
            self.store.modify_incident(chosen.name, status="Active", owner=dict(OWNER))
        else:
            classification = self.rng.choice(list(CLASSIFY))
            self.store.modify_incident(chosen.name, status="Closed", classification=classification,
                                       classificationReason=CLASSIFY[classification],
                                       classificationComment="Closed by the on-call analyst.")
        return True

    def _retitle(self, open_: list[Record]) -> bool:
        """Defender's correlation renames incidents after what their alerts show."""
        chosen = self.rng.choice([r for r in open_ if r.properties.get("providerName") == DEFENDER_PROVIDER] or open_)
        tactics = list(dict.fromkeys(t for a in chosen.alerts for t in a["properties"].get("tactics") or []))
        named = " & ".join(_spaced(t) for t in tactics[:2]) or "multiple stages"
        where = self.rng.choice(("on one endpoint", "on multiple endpoints", "involving one user",
                                 "reported by multiple sources"))
        self.store.modify_incident(chosen.name, title=f"Multi-stage incident involving {named} {where}")
        return True

    def _comment(self, open_: list[Record]) -> bool:
        self.store.add_comment(self.rng.choice(open_).name, self.rng.choice(COMMENTS),
                               author=self.rng.choice(SENTINEL_USERS))
        return True

    def _reassign(self, open_: list[Record]) -> bool:
        user = self.rng.choice(SENTINEL_USERS)
        owner = {"objectId": user.object_id, "email": user.email, "assignedTo": user.name,
                 "userPrincipalName": user.upn, "ownerType": "User"}
        self.store.modify_incident(self.rng.choice(open_).name, owner=owner)
        return True

    def _merge(self, open_: list[Record]) -> bool:
        """Two open incidents with the same owner (or none) and classification, Defender ones preferred."""
        pool = [r for r in open_ if r.properties.get("providerName") == DEFENDER_PROVIDER]
        pool = pool if len(pool) >= 2 else open_
        groups: dict[tuple, list[Record]] = {}
        for rec in pool:
            key = ((rec.properties.get("owner") or {}).get("objectId"), rec.properties.get("classification"))
            groups.setdefault(key, []).append(rec)
        candidates = [g for g in groups.values() if len(g) >= 2]
        if not candidates:
            return False
        source, target = self.rng.sample(self.rng.choice(candidates), 2)
        if source.properties["incidentNumber"] < target.properties["incidentNumber"]:
            source, target = target, source  # the older incident absorbs the newer one
        self.store.merge_incident(source.name, target.name)
        return True


def _spaced(tactic: str) -> str:
    """InitialAccess -> Initial access (as Defender writes tactics in titles)."""
    words = re.findall(r"[A-Z][a-z]*", tactic) or [tactic]
    return " ".join([words[0]] + [w.lower() for w in words[1:]])

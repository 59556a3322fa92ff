"""A local stand-in for Azure: Entra ID, managed identity, the Microsoft Sentinel ARM API
(api-version 2025-12-01 shapes) and the Log Analytics query API, served on 127.0.0.1 only.

Quick use::

    from sentinel_emulator import Emulator
    with Emulator(seed=25) as emu:            # 25 deterministic incidents; HTTPS with a fresh test CA
        emu.base_url, emu.ca_path             # "https://127.0.0.1:PORT" (ARM + sign-in), CA bundle PEM path
        emu.query_url                         # "https://127.0.0.1:PORT2": the Log Analytics query API
        emu.params()                          # instance params (client secret), log_analytics_url included
        emu.certificate_params()              # instance params (certificate: thumbprint + PEM key)
        emu.env()                             # REQUESTS_CA_BUNDLE, IDENTITY_ENDPOINT, IDENTITY_HEADER
        emu.imds_env()                        # AZURE_POD_IDENTITY_AUTHORITY_HOST (+ CA bundle)
        emu.workspace.customer_id             # the workspace ID the query API takes

params() keys: azure_cloud ("Custom"), server_url, authority_url, log_analytics_url, creds_tenant_id,
creds_client_id, credentials (certificate_params: creds_certificate instead), subscriptionID,
resourceGroupName, workspaceName.

TLS trust: requests lets the REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE environment variables override
`Session.verify`, so either export ``emu.env()`` (it sets REQUESTS_CA_BUNDLE to the emulator's CA)
or use ``sentinel_emulator.testing.trusting_session(emu.ca_path)`` (verify=CA, trust_env off).

Constructor: ``Emulator(port=0, seed=0, faults="", latency_ms=0, live=False, tls=True, clock=None, *,
token_lifetime=3600, reads=Limit(250, 25), writes=Limit(200, 10), live_interval=3.0, query_port=0)``.
`clock` is any callable returning epoch seconds (`FakeClock` is a settable one); the store, token
expiry and throttling read time only through it. `tls=False` serves plain http (MSAL refuses
http authorities, so use it only for ARM-only clients). A taken port raises OSError. Seeding 10,000
incidents takes about a second.

The two origins: ARM and sign-in on `base_url`; the Log Analytics query API on `query_url`
(``POST|GET /v1/workspaces/{customerId}/query``, see `sentinel_emulator.loganalytics` for its tables,
errors and partial results, and `sentinel_emulator.kql` for the KQL subset). Each accepts only tokens
issued for its own base URL (client credentials: scope ``<base>/.default``; managed identity:
resource ``<base>``): ARM answers a query-API token with 401 InvalidAuthenticationToken, the query API
an ARM token with 403 InvalidAuthenticationTokenAudience.

ARM conformance: request bodies of PUT/POST operations are checked against the spec's request
schemas (types, enums, required properties, date-times, durations, GUIDs; read-only and unknown
properties ignored) and malformed names in the path (control characters, ``< > * % & : \\ ? / #``,
non-GUID subscriptions, bad resource-group names, relation-name pattern) are refused, each with 400
and an ARM error body naming the property (`sentinel_emulator.validation`). Empty answers have no
Content-Type. Lists page with nextLink/$skipToken (and $top where the spec has it); etag-carrying
PUTs refuse a stale etag with 409 Conflict.

Runtime control: ``emu.set_faults(spec)``, ``emu.set_outage(bool)``, ``emu.set_latency(ms)`` (ARM and
query API), ``emu.set_query_partial(bool)`` (query answers carry a PartialError beside the tables),
``emu.identity.expire_all()``, ``emu.throttle.enabled = False``. Fault grammar: see
`sentinel_emulator.faults` (e.g. ``"429=0.08,500=0.04,reset=0.01,list:503=0.1,query:partial=0.5,seed=7"``).

Observation: ``emu.requests`` (list of RequestRecord of every host, in arrival order: method, path,
query, host, endpoint, status, principal, fault; never headers; throttled answers are status 429
with fault None), ``emu.token_requests`` (Counter of issued tokens by principal: client id, managed
identity client id, or "system").

Store API (``emu.store``; thread-safe; the default workspace unless ``workspace=`` is given)::

    add_incident(title, severity="Medium", status="New", *, created=None, hidden=False, name=None,
                 description=None, owner=None, labels=None, classification=None,
                 classification_reason=None, alerts=0, tactics=None, product_name="Azure Sentinel",
                 rule_names=None, provider_name="Azure Sentinel", provider_incident_id=None) -> dict
                                                     # provider_name="Microsoft XDR": a Defender incident
                                                     # (Defender ID, additionalData.providerIncidentUrl)
    new_incident(...same...) -> Record               # the same without rendering JSON (bulk seeding)
    modify_incident(name, **properties) -> dict      # bumps lastModifiedTimeUtc and etag
    merge_incident(source, target) -> dict           # as the Defender portal merges; returns the target
    reveal(name) -> dict                             # a hidden incident becomes visible
    delete_incident(name); incident(name) -> dict; incidents(include_hidden=True) -> list[dict]
    incident_records() -> list[Record]               # stored records by number (no rendering)
    add_comment(incident, message, *, name=None, author=ANALYST) -> dict
    add_alert(incident, **SecurityAlert properties) -> dict   # also relates the alert to the incident
    add_entity(incident, kind, **entity properties) -> dict
    add_relation(incident, resource_id, *, name=None) -> dict
    add_task(incident, title, status="New", *, description=None, name=None, author=ANALYST) -> dict
    attach_comment(record, ...) / attach_entity(record, kind, ...)   # on a Record (no lookup, no JSON)
    add_watchlist(alias, display_name, items_search_key, items=[{...}]) -> dict
    put_record(collection, name, properties, kind=None)   # bookmarks, indicators, alertRules, ...
    add_subscription(id, display_name); add_resource_group(sub, name, location, tags)

merge_incident: the source's alerts (with their relations and entities), labels and analytics
rules move to the target; the source is closed with classification Undetermined, keeps only the
label "Redirected" (labelType AutoAssigned) and gets a comment naming the target, by "Microsoft
Defender XDR - alert correlation"; both get a new lastModifiedTimeUtc and etag; comments stay.
Closed incidents are not merged (ValueError). Comments PUT through the API are authored by the
caller (the app registration's display name, or the managed identity's), as in Sentinel.

Seeded by default: `seed` incidents over three days (about 40% Microsoft XDR), each with alerts,
entities, alert relations, some comments (by Sentinel users), tasks and bookmark relations; two
watchlists with items, three indicators, analytics rules of the four kinds (Scheduled, NRT, Fusion,
MicrosoftSecurityIncidentCreation), three templates, two automation rules, three bookmarks, two
data connectors, two subscriptions and three resource groups. `live=True` keeps the workspace moving
(`sentinel_emulator.seed.LiveFeed`: new incidents, escalations, closes with a classification,
correlation renames, comments, reassignments, merges).

Hidden incidents get their incidentNumber when added but stay invisible to list and get calls
until revealed (a lower number that shows up after higher ones).

CLI: ``azure-sentinel emulator`` / ``python -m sentinel_emulator`` (see `sentinel_emulator.cli`:
--port, --query-port, --seed, --faults, --latency-ms, --live, --http, --write-instance FILE).
"""

from .clock import FakeClock
from .server import Emulator
from .throttle import Limit

__all__ = ["Emulator", "FakeClock", "Limit"]

"""A local stand-in for Azure: Entra ID, managed identity and the Microsoft Sentinel ARM API
(api-version 2025-12-01 shapes), served on 127.0.0.1 only.

Quick use::

    from sentinel_emulator import Emulator
    with Emulator(seed=25) as emu:            # 25 deterministic incidents; HTTPS with a fresh test CA
        emu.base_url, emu.ca_path             # "https://127.0.0.1:PORT", CA bundle PEM path
        emu.params()                          # instance params (client secret)
        emu.certificate_params()              # instance params (certificate: thumbprint + PEM key)
        emu.env()                             # REQUESTS_CA_BUNDLE, IDENTITY_ENDPOINT, IDENTITY_HEADER
        emu.imds_env()                        # AZURE_POD_IDENTITY_AUTHORITY_HOST (+ CA bundle)

TLS trust: requests lets the REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE environment variables override
`Session.verify`, so either export ``emu.env()`` (it sets REQUESTS_CA_BUNDLE to the emulator's CA)
or use ``sentinel_emulator.testing.trusting_session(emu.ca_path)`` (verify=CA, trust_env off).

Constructor: ``Emulator(port=0, seed=0, faults="", latency_ms=0, live=False, tls=True, clock=None, *,
token_lifetime=3600, reads=Limit(250, 25), writes=Limit(200, 10), live_interval=3.0)``.
`clock` is any callable returning epoch seconds (`FakeClock` is a settable one); the store, token
expiry and throttling read time only through it. `tls=False` serves plain http (MSAL refuses
http authorities, so use it only for ARM-only clients).

Runtime control: ``emu.set_faults(spec)``, ``emu.set_outage(bool)``, ``emu.set_latency(ms)``,
``emu.identity.expire_all()``, ``emu.throttle.enabled = False``. Fault grammar: see
`sentinel_emulator.faults` (e.g. ``"429=0.08,500=0.04,reset=0.01,list:503=0.1,retry_after=2,seed=7"``).

Observation: ``emu.requests`` (list of RequestRecord: method, path, query, host, endpoint, status,
principal, fault; never headers), ``emu.token_requests`` (Counter of issued tokens by principal:
client id, managed identity client id, or "system").

Store API (``emu.store``; thread-safe; the default workspace unless ``workspace=`` is given)::

    add_incident(title, severity="Medium", status="New", *, created=None, hidden=False, name=None,
                 description=None, owner=None, labels=None, classification=None,
                 classification_reason=None, alerts=0, tactics=None, product_name="Azure Sentinel",
                 rule_names=None) -> dict
    modify_incident(name, **properties) -> dict      # bumps lastModifiedTimeUtc and etag
    reveal(name) -> dict                             # a hidden incident becomes visible
    delete_incident(name); incident(name) -> dict; incidents(include_hidden=True) -> list[dict]
    add_comment(incident, message, *, name=None) -> dict
    add_alert(incident, **SecurityAlert properties) -> dict
    add_entity(incident, kind, **entity properties) -> dict
    add_watchlist(alias, display_name, items_search_key, items=[{...}]) -> dict
    put_record(collection, name, properties, kind=None)   # bookmarks, indicators, alertRules, ...

Hidden incidents get their incidentNumber when added but stay invisible to list and get calls
until revealed (a lower number that shows up after higher ones).
"""

from .clock import FakeClock
from .server import Emulator
from .throttle import Limit

__all__ = ["Emulator", "FakeClock", "Limit"]

"""`Emulator`: builds the tenant, serves it on 127.0.0.1 (HTTPS with a fresh test CA, or plain
HTTP) from a background thread, and exposes instance params and environment for clients."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import ssl
import struct
import tempfile
import threading
from collections import Counter
from functools import lru_cache
from typing import Any

import trustme
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import EmulatorApp, RequestRecord, ResetConnection
from .clock import Clock, system_clock
from .faults import FaultInjector
from .identity import App, Certificate, Identity, ManagedIdentity, make_certificate
from .loganalytics import QueryApp
from .seed import LiveFeed, seed_incidents, seed_more_resources, seed_resources
from .store import Store
from .throttle import Limit, Throttle

HOST = "127.0.0.1"  # the only address the emulator ever binds
TENANT_ID = "8d3b7f0e-5a1c-4c2e-9f6a-1b2c3d4e5f60"
CLIENT_ID = "4a7c2e91-0b3d-4f5a-8c6e-7d9f1a2b3c4d"
CERT_CLIENT_ID = "5b8d3fa2-1c4e-4a6b-9d7f-8e0a2b3c4d5e"
MI_SYSTEM_CLIENT_ID = "6c9e4ab3-2d5f-4b7c-8e1a-9f0b3c4d5e6f"
MI_USER_CLIENT_ID = "7daf5bc4-3e6a-4c8d-9f2b-0a1c4d5e6f70"
SUBSCRIPTION_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
SECOND_SUBSCRIPTION_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
RESOURCE_GROUP = "sentinel-rg"
WORKSPACE = "sentinel-ws"


@lru_cache(maxsize=1)
def _client_certificate() -> Certificate:
    """One RSA key pair per process: generating 2048-bit keys per emulator would slow tests down."""
    return make_certificate()


def _listen(port: int, app: Any, context: ssl.SSLContext | None) -> BaseWSGIServer:
    """A threaded server on 127.0.0.1:port; OSError (not werkzeug's print-and-exit) when the port is taken."""
    if port:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((HOST, port))
        finally:
            probe.close()
    try:
        return make_server(HOST, port, app, threaded=True, request_handler=_Handler, ssl_context=context)
    except SystemExit:
        raise OSError(f"port {port} on {HOST} is in use") from None


class _Handler(WSGIRequestHandler):
    """Quiet request handler that turns ResetConnection into a TCP reset."""

    def setup(self) -> None:
        # Without TCP_NODELAY, Nagle's algorithm holds back the small TLS records of a response
        # until the client's delayed ACK: ~15 ms per HTTPS call.
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().setup()

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        if isinstance(error, ResetConnection):
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_connection = True
            self.connection.close()

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error" and os.environ.get("SENTINEL_EMULATOR_DEBUG"):
            super().log(type, message, *args)


class Emulator:
    """A local stand-in for Entra ID, managed identity and the Sentinel ARM API (see package docstring)."""

    def __init__(self, port: int = 0, seed: int = 0, faults: str = "", latency_ms: int = 0, live: bool = False,
                 tls: bool = True, clock: Clock | None = None, *, token_lifetime: int = 3600,
                 reads: Limit = Limit(250, 25.0), writes: Limit = Limit(200, 10.0), live_interval: float = 3.0,
                 query_port: int = 0) -> None:
        self.port = port
        self.query_port = query_port
        self.seed = seed
        self.tls = tls
        self.live = live
        self.live_interval = live_interval
        self.clock: Clock = clock or system_clock
        self.tenant_id = TENANT_ID
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_urlsafe(32)
        self.cert_client_id = CERT_CLIENT_ID
        self.certificate = _client_certificate()
        self.mi_client_id = MI_USER_CLIENT_ID
        self.mi_system_client_id = MI_SYSTEM_CLIENT_ID
        self.subscription_id = SUBSCRIPTION_ID
        self.resource_group = RESOURCE_GROUP
        self.workspace_name = WORKSPACE

        self.store = Store(self.clock, TENANT_ID, seed)
        self.store.add_subscription(SUBSCRIPTION_ID)
        self.store.add_subscription(SECOND_SUBSCRIPTION_ID, "Sentinel Emulator (staging)")
        self.store.add_resource_group(SUBSCRIPTION_ID, RESOURCE_GROUP, tags={"env": "emulator", "team": "soc"})
        self.store.add_resource_group(SUBSCRIPTION_ID, "shared-rg", tags={"env": "shared"})
        self.store.add_resource_group(SUBSCRIPTION_ID, "untagged-rg")
        self.workspace = self.store.add_workspace(SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE)
        rng = random.Random(seed)
        seed_resources(self.store, rng)
        seed_incidents(self.store, seed, rng)
        seed_more_resources(self.store, seed)

        self.identity = Identity(TENANT_ID, self.clock, token_lifetime)
        self.identity.register_app(App(CLIENT_ID, "Sentinel Emulator App", "9e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
                                       secret=self.client_secret))
        cert = self.certificate
        self.identity.register_app(App(CERT_CLIENT_ID, "Sentinel Emulator Cert App",
                                       "0a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", public_key=cert.public_key,
                                       sha1_thumbprint=cert.sha1_thumbprint, sha256_thumbprint=cert.sha256_thumbprint))
        self.identity.register_identity(ManagedIdentity(
            MI_SYSTEM_CLIENT_ID, "1b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "", system=True))
        self.identity.register_identity(ManagedIdentity(
            MI_USER_CLIENT_ID, "2c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f",
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/sentinel-connector", system=False))

        self.throttle = Throttle(self.clock, reads, writes)
        self.faults = FaultInjector(faults, seed)
        self.app = EmulatorApp(self.store, self.identity, self.throttle, self.faults, latency_ms)
        self.query_app = QueryApp(self.store, self.identity, self.faults, self.app.log,
                                  latency_ms=lambda: self.app.latency_ms)
        self._server: BaseWSGIServer | None = None
        self._query_server: BaseWSGIServer | None = None
        self._query_thread: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: str | None = None
        self._live: LiveFeed | None = None
        self.ca_path: str | None = None

    # region lifecycle

    def start(self) -> "Emulator":
        """Serve from a background thread; returns self."""
        if self._server is not None:
            return self
        context = None
        if self.tls:
            ca = trustme.CA()
            leaf = ca.issue_cert(HOST, "localhost")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            leaf.configure_cert(context)
            self._tmpdir = tempfile.mkdtemp(prefix="sentinel-emulator-")
            self.ca_path = os.path.join(self._tmpdir, "ca.pem")
            ca.cert_pem.write_to_path(self.ca_path)
        try:
            self._server = _listen(self.port, self.app, context)
            self._query_server = _listen(self.query_port, self.query_app, context)
        except BaseException:  # a port in use: leave nothing behind (socket, CA directory)
            self.stop()
            raise
        self.port = self._server.port
        self.query_port = self._query_server.port
        self.app.audiences = {self.base_url}
        self.app.authority = f"{self.base_url}/{TENANT_ID}"
        self.query_app.audience = self.query_url
        self.query_app.authority = self.app.authority
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sentinel-emulator", daemon=True)
        self._thread.start()
        self._query_thread = threading.Thread(target=self._query_server.serve_forever, kwargs={"poll_interval": 0.1},
                                              name="sentinel-emulator-query", daemon=True)
        self._query_thread.start()
        if self.live:
            self._live = LiveFeed(self.store, self.seed, self.live_interval)
            self._live.start()
        return self

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        for server, thread in ((self._server, self._thread), (self._query_server, self._query_thread)):
            if server is not None:
                if thread is not None:  # shutdown() waits for serve_forever, so only for a serving server
                    server.shutdown()
                server.server_close()
        self._server = self._query_server = None
        for thread in (self._thread, self._query_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._thread = self._query_thread = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # endregion

    # region what clients need

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def query_url(self) -> str:
        """The Log Analytics query API's base URL (its own origin; also its token audience)."""
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.query_port}"

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request of every host (ARM, identity, query API) in arrival order; `host` tells them apart."""
        return self.app.requests

    @property
    def token_requests(self) -> Counter[str]:
        """Tokens issued so far, by principal (client id, MI client id, or "system")."""
        return self.identity.token_requests

    def params(self) -> dict:
        """Instance params for client-secret auth against this emulator."""
        return {
            "azure_cloud": "Custom", "server_url": self.base_url, "authority_url": self.base_url,
            "creds_tenant_id": {"identifier": "", "password": TENANT_ID},
            "creds_client_id": {"identifier": "", "password": CLIENT_ID},
            "credentials": {"identifier": "", "password": self.client_secret},
            "subscriptionID": SUBSCRIPTION_ID, "resourceGroupName": RESOURCE_GROUP, "workspaceName": WORKSPACE,
            "log_analytics_url": self.query_url,
        }

    def certificate_params(self) -> dict:
        """Instance params for certificate auth (thumbprint + private key of the registered cert app)."""
        params = self.params()
        del params["credentials"]
        params["creds_client_id"] = {"identifier": "", "password": CERT_CLIENT_ID}
        params["creds_certificate"] = {"identifier": self.certificate.sha1_thumbprint,
                                       "password": self.certificate.private_key_pem}
        return params

    def env(self) -> dict[str, str]:
        """Environment for clients: the CA bundle and the App Service managed identity endpoint."""
        env = {"IDENTITY_ENDPOINT": f"{self.base_url}/msi/token", "IDENTITY_HEADER": self.identity.identity_header}
        if self.ca_path:
            env = {"REQUESTS_CA_BUNDLE": self.ca_path, **env}
        return env

    def imds_env(self) -> dict[str, str]:
        """Environment for the IMDS flavour (msal >= 1.32 reads AZURE_POD_IDENTITY_AUTHORITY_HOST)."""
        env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.base_url}
        if self.ca_path:
            env["REQUESTS_CA_BUNDLE"] = self.ca_path
        return env

    # endregion

    # region runtime control

    def set_faults(self, spec: str) -> None:
        """Replace the fault plan (see sentinel_emulator.faults for the grammar); reseeds its RNG."""
        self.faults.set(spec)

    def set_outage(self, on: bool) -> None:
        """While on, every ARM call answers 503."""
        self.faults.set_outage(on)

    def set_latency(self, latency_ms: int) -> None:
        """Delay added to every ARM and query API call."""
        self.app.latency_ms = latency_ms

    def set_query_partial(self, on: bool) -> None:
        """While on, every query API answer carries a PartialError beside its tables."""
        self.query_app.partial = on

    # endregion

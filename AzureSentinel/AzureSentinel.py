"""Microsoft Sentinel integration for Cortex XSOAR-style SOAR platforms.

A drop-in replacement for the official "Microsoft Sentinel" integration: the same parameter,
command, argument and context names, with exactly-once fetching, throttling-aware retries,
conflict-safe updates, retry-safe comments and safe paging.

Read top to bottom: constants; errors; settings; credentials; transport (the one retry loop and
the one pagination loop); the Sentinel client; formatters; commands by resource; fetch; the
command table; main(), the only function that touches `demisto`.
"""

import base64
import hashlib
import ipaddress
import json
import logging
import os
import random
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import demistomock as demisto  # noqa: E402  (the platform provides this module)
import requests
import urllib3
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

# region constants

API_VERSION = "2025-12-01"
USER_AGENT = "AzureSentinelConnector/0.1"
SENTINEL_PROVIDER_PATH = (
    "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/"
    "workspaces/{ws}/providers/Microsoft.SecurityInsights"
)
NEXTLINK_DESCRIPTION = "NextLink for listing commands"
NEXTLINK_KEY = f'AzureSentinel.NextLink(val.Description == "{NEXTLINK_DESCRIPTION}")'
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 60
COMMAND_RETRY_BUDGET_S = 150  # total time a command may spend waiting between retries
MAX_ATTEMPTS = 7  # per request, the first try included
BACKOFF_BASE_S = 0.8
BACKOFF_MAX_S = 30.0
TOKEN_REFRESH_MARGIN_S = 300  # refresh cached tokens 5 minutes before they expire
MAX_PAGES = 1000
PAGE_MAX = 1000  # Sentinel's largest $top
MAX_CONFLICT_ATTEMPTS = 4  # read-modify-write rounds on 409 Conflict

# Statuses worth retrying, and for which methods (DESIGN §5). 429 means "not processed", so it
# is retried for every method; the rest only for idempotent calls.
RETRY_ANY_METHOD = frozenset({429})
RETRY_IDEMPOTENT = frozenset({408, 500, 502, 503, 504})

ERROR_HINTS: dict[int, str] = {
    400: "check the command arguments (and any OData filter)",
    401: "check the tenant ID, client ID and secret or certificate, then run azure-sentinel-auth-reset",
    403: "give the app registration or managed identity the Microsoft Sentinel Contributor (or Responder) "
         "role on the workspace",
    404: "check the ID, the subscription ID, the resource group name and the workspace name",
    409: "the resource was changed by someone else at the same time; run the command again",
    429: "Azure is throttling this principal; wait a minute, or lower the fetch limit or enrichment",
}
SERVER_ERROR_HINT = "Azure had a transient failure; try again in a few minutes"


class Severity(str, Enum):
    INFORMATIONAL = "Informational"
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"


SEVERITY_LEVEL = {"Informational": 0.5, "Low": 1, "Medium": 2, "High": 3}
SEVERITY_ORDER = ["Informational", "Low", "Medium", "High"]


class Status(str, Enum):
    NEW = "New"
    ACTIVE = "Active"
    CLOSED = "Closed"


class Classification(str, Enum):
    BENIGN_POSITIVE = "BenignPositive"
    FALSE_POSITIVE = "FalsePositive"
    TRUE_POSITIVE = "TruePositive"
    UNDETERMINED = "Undetermined"


class ClassificationReason(str, Enum):
    INACCURATE_DATA = "InaccurateData"
    INCORRECT_ALERT_LOGIC = "IncorrectAlertLogic"
    SUSPICIOUS_ACTIVITY = "SuspiciousActivity"
    SUSPICIOUS_BUT_EXPECTED = "SuspiciousButExpected"


# The reason Sentinel needs when closing, if the user gave none (as the official integration does).
DEFAULT_CLASSIFICATION_REASON = {
    "TruePositive": "SuspiciousActivity",
    "BenignPositive": "SuspiciousButExpected",
    "FalsePositive": "InaccurateData",
}


@dataclass(frozen=True)
class Cloud:
    name: str
    arm: str  # resource manager endpoint, no trailing slash
    login: str  # Entra ID authority host, no trailing slash


CLOUDS: dict[str, Cloud] = {
    "Worldwide": Cloud("Worldwide", "https://management.azure.com", "https://login.microsoftonline.com"),
    "US GCC": Cloud("US GCC", "https://management.usgovcloudapi.net", "https://login.microsoftonline.com"),
    "US GCC-High": Cloud("US GCC-High", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    "DoD": Cloud("DoD", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    "China": Cloud("China", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
}
DEFAULT_SERVER_URL = "https://management.azure.com"

# endregion

# region errors


class SentinelError(Exception):
    """Base class. The message is one sentence: what failed and what to do."""


class ConfigError(SentinelError):
    """The instance configuration or the command arguments are wrong; the user must fix them."""


class AuthError(SentinelError):
    """No access token could be obtained."""


class ApiError(SentinelError):
    """The Sentinel (ARM) API answered with an error status."""

    def __init__(self, message: str, status: int = 0, code: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code


class ConflictError(ApiError):
    """409 Conflict: the resource changed since it was read (stale etag)."""


class UnsafeRequestError(SentinelError):
    """A request was refused before it was sent (foreign nextLink, path injection, loop)."""


# endregion

# region settings


def _secret_of(value: Any) -> str:
    """The secret part of a credentials-type (9) param, or a plain string param."""
    if isinstance(value, dict):
        return str(value.get("password") or "").strip()
    return str(value or "").strip()


def _identifier_of(value: Any) -> str:
    return str(value.get("identifier") or "").strip() if isinstance(value, dict) else ""


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("true", "yes", "1", "on")


def _as_list(value: Any) -> list[str]:
    """argToList: a list, a JSON list, or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except ValueError:
            pass
    return [part.strip() for part in text.split(",") if part.strip()]


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> str:
    """An https URL, or http only on loopback. Returned without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} '{url}' is not a valid URL; use the form https://host[:port].")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(f"{what} '{url}' uses http://; only https:// is allowed (http:// only for "
                          f"127.0.0.1 or localhost).")
    return url.strip().rstrip("/")


class AuthKind(str, Enum):
    CLIENT_SECRET = "client secret"
    CERTIFICATE = "certificate"
    MANAGED_IDENTITY = "managed identity"


class Settings(BaseModel):
    """Instance parameters, parsed once (see `settings_from_params`)."""

    model_config = ConfigDict(frozen=True)

    cloud: Cloud
    auth_kind: AuthKind
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    cert_thumbprint: str = ""
    cert_private_key: str = Field(default="", repr=False)
    managed_identity_client_id: str = ""
    subscription_id: str
    resource_group: str
    workspace: str
    verify: bool = True
    proxy: bool = False
    # fetching
    is_fetch: bool = False
    first_fetch: timedelta = timedelta(days=3)
    min_severity: Severity = Severity.INFORMATIONAL
    statuses: tuple[Status, ...] = ()
    fetch_limit: int = Field(default=50, ge=1, le=1000)
    additional_info: tuple[str, ...] = ()
    odata_filter: str = ""
    escalation_horizon: timedelta = timedelta(days=7)
    look_back: timedelta = timedelta(0)
    mirror_direction: str = "None"

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.client_secret, self.cert_private_key) if s]

    @property
    def scope(self) -> str:
        return f"{self.cloud.arm}/.default"


FETCH_TIME_RE = re.compile(r"^\s*(\d+)\s*(minute|hour|day|week|month|year)s?\s*$", re.I)
FETCH_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
ADDITIONAL_INFO = ("Alerts", "Entities", "Comments", "Relations")


def _parse_fetch_time(text: str) -> timedelta:
    match = FETCH_TIME_RE.match(text or "3 days")
    if not match:
        raise ConfigError(f"First fetch timestamp '{text}' is not of the form '<number> <unit>', "
                          f"for example '3 days' or '12 hours'.")
    return timedelta(days=int(match.group(1)) * FETCH_UNIT_DAYS[match.group(2).lower()])


def _whole_number(value: Any, name: str, default: int, low: int, high: int) -> int:
    text = str(value).strip() if value not in (None, "") else str(default)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not '{value}'.")
    return int(text)


def _cloud_from_params(params: dict[str, Any]) -> Cloud:
    name = str(params.get("azure_cloud") or "").strip()
    server_url = str(params.get("server_url") or "").strip()
    authority_url = str(params.get("authority_url") or "").strip()
    if name == "Germany":
        raise ConfigError("Azure Cloud 'Germany' was retired by Microsoft; choose Worldwide, or Custom with "
                          "a Server URL and an Authority URL.")
    if not name and server_url and server_url.rstrip("/") != DEFAULT_SERVER_URL:
        name = "Custom"  # older instances set only the Server URL
    if name in ("", "Worldwide") and not authority_url:
        return CLOUDS["Worldwide"]
    if name in CLOUDS:
        return CLOUDS[name]
    if name not in ("Custom", "Worldwide", ""):
        raise ConfigError(f"Azure Cloud '{name}' is unknown; choose one of {', '.join(CLOUDS)} or Custom.")
    if not server_url:
        raise ConfigError("Azure Cloud 'Custom' needs a Server URL (the Azure Resource Manager endpoint).")
    arm = _check_url(server_url, "Server URL")
    login = _check_url(authority_url or CLOUDS["Worldwide"].login, "Authority URL")
    return Cloud("Custom", arm, login)


def settings_from_params(params: dict[str, Any]) -> Settings:
    """Parse the instance parameters (official names) into Settings, or raise ConfigError."""
    missing = [label for key, label in (("subscriptionID", "Default Subscription ID"),
                                        ("resourceGroupName", "Default Resource Group Name"),
                                        ("workspaceName", "Workspace Name"))
               if not str(params.get(key) or "").strip()]
    if missing:
        raise ConfigError(f"Set {', '.join(missing)} in the instance configuration.")

    cloud = _cloud_from_params(params)
    tenant = _secret_of(params.get("creds_tenant_id")) or _secret_of(params.get("tenant_id"))
    client_id = (_secret_of(params.get("creds_client_id"))
                 or _identifier_of(params.get("credentials")))
    secret = _secret_of(params.get("credentials"))
    cert = params.get("creds_certificate")
    thumbprint = _identifier_of(cert) or _secret_of(params.get("certificate_thumbprint"))
    private_key = _secret_of(cert) or _secret_of(params.get("private_key"))
    use_mi = _as_bool(params.get("use_managed_identities"))

    if use_mi:
        if secret or private_key:
            raise ConfigError("Use Azure Managed Identities is set together with a client secret or private "
                              "key; clear one of them.")
        kind = AuthKind.MANAGED_IDENTITY
    elif secret and (thumbprint or private_key):
        raise ConfigError("Both a client secret and a certificate are set; keep only one of them.")
    elif secret:
        kind = AuthKind.CLIENT_SECRET
    elif thumbprint or private_key:
        if not (thumbprint and private_key):
            raise ConfigError("Certificate authentication needs both the Certificate Thumbprint and the "
                              "Private Key.")
        kind = AuthKind.CERTIFICATE
    else:
        raise ConfigError("No credentials are set: give a Client Secret, a Certificate Thumbprint and Private "
                          "Key, or select Use Azure Managed Identities.")
    if kind is not AuthKind.MANAGED_IDENTITY:
        if not tenant:
            raise ConfigError("Set the Tenant ID (the Directory ID of the app registration).")
        if not client_id:
            raise ConfigError("Set the Client ID (the Application ID of the app registration).")

    min_severity = str(params.get("min_severity") or "Informational")
    statuses = _as_list(params.get("statuses_to_fetch"))
    additional = _as_list(params.get("fetch_additional_info"))
    for value, allowed, what in ((statuses, [s.value for s in Status], "Incident Statuses to Fetch"),
                                 (additional, ADDITIONAL_INFO, "Additional info to fetch"),
                                 ([min_severity], SEVERITY_ORDER, "The minimum severity of incidents to fetch")):
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise ConfigError(f"{what} has unknown value(s) {', '.join(unknown)}; use {', '.join(allowed)}.")
    odata_filter = str(params.get("odata_filter") or "").strip()
    if odata_filter:
        _check_odata_filter(odata_filter)

    try:
        return Settings(
            cloud=cloud, auth_kind=kind, tenant_id=tenant, client_id=client_id, client_secret=secret,
            cert_thumbprint=thumbprint.replace(":", "").replace(" ", ""), cert_private_key=private_key,
            managed_identity_client_id=_secret_of(params.get("managed_identities_client_id")),
            subscription_id=str(params["subscriptionID"]).strip(),
            resource_group=str(params["resourceGroupName"]).strip(),
            workspace=str(params["workspaceName"]).strip(),
            verify=not _as_bool(params.get("insecure")), proxy=_as_bool(params.get("proxy")),
            is_fetch=_as_bool(params.get("isFetch")),
            first_fetch=_parse_fetch_time(str(params.get("fetch_time") or "3 days")),
            min_severity=Severity(min_severity), statuses=tuple(Status(s) for s in statuses),
            fetch_limit=_whole_number(params.get("limit"), "Maximum number of incidents per fetch", 50, 1, 1000),
            additional_info=tuple(additional), odata_filter=odata_filter,
            escalation_horizon=timedelta(days=_whole_number(params.get("escalation_horizon_days"),
                                                            "Escalation horizon (days)", 7, 0, 30)),
            look_back=timedelta(minutes=_whole_number(params.get("look_back"), "Minutes to look back", 0, 0,
                                                      1440)),
            mirror_direction=str(params.get("mirror_direction") or "None"),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"Instance parameter {'.'.join(map(str, first['loc']))} is invalid: {first['msg']}.") \
            from None


def _check_odata_filter(text: str) -> None:
    """Reject filters that cannot be a single OData expression: unbalanced quotes or parentheses."""
    depth, in_string = 0, False
    for char in text:
        if char == "'":
            in_string = not in_string
        elif not in_string and char in "()":
            depth += 1 if char == "(" else -1
            if depth < 0:
                break
    if in_string or depth != 0:
        raise ConfigError(f"Odata Filter '{text}' has unbalanced quotes or parentheses; write one OData "
                          f"expression such as properties/title ne 'Test'.")
    if re.match(r"^\s*(and|or)\b", text, re.I):
        raise ConfigError("Odata Filter must not start with 'and'/'or': it is combined with the built-in "
                          "filters automatically.")


# endregion

# region http: session, failures, the one retry loop


class RedirectRefused(requests.RequestException):
    """A 3xx answer. Redirects are never followed: the token, the secret or a request body would go
    to the Location host."""

    def __init__(self, method: str, url: str, status: int, location: str):
        self.status = status
        self.host = urlsplit(url).netloc
        self.location_host = urlsplit(location).netloc or "an unnamed host"
        super().__init__(f"{self.host} answered {method} with HTTP {status}, a redirect to {self.location_host}")


class TlsSetupError(requests.RequestException):
    """The local TLS setup is unusable (a CA bundle file that is missing or unreadable)."""


class TimeoutSession(requests.Session):
    """The session every request goes through (ARM, the query API, sign-in, managed identity).

    Each request has a timeout (MSAL's discovery and identity calls set none), uses the session's
    TLS setting (requests would otherwise let REQUESTS_CA_BUNDLE re-enable verification that
    `insecure` turned off) and never follows a redirect: a 3xx raises RedirectRefused.
    """

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
        kwargs.setdefault("verify", self.verify)
        kwargs["allow_redirects"] = False
        try:
            response = super().request(method, url, *args, **kwargs)
        except OSError as exc:
            if isinstance(exc, requests.RequestException):
                raise
            raise TlsSetupError(_first_line(str(exc))) from None  # e.g. a CA bundle path that does not exist
        if 300 <= response.status_code < 400:
            raise RedirectRefused(str(method), str(url), response.status_code, response.headers.get("Location", ""))
        return response


def new_session(settings: Settings) -> requests.Session:
    """The one HTTP session for every call of an invocation, honouring `insecure` and `proxy`."""
    session = TimeoutSession()
    session.headers["User-Agent"] = USER_AGENT
    # Without `proxy`, ignore proxy variables (as the platform does) but keep a CA bundle if one is set.
    session.trust_env = settings.proxy
    if not settings.verify:
        session.verify = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the user chose this
    elif not settings.proxy:
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


TRANSIENT_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)


def describe_failure(exc: requests.RequestException, host: str) -> tuple[bool, str]:
    """(worth retrying?, what happened and what to do) for a request that got no usable answer."""
    if isinstance(exc, RedirectRefused):
        return False, (f"{exc.host} answered with HTTP {exc.status}, a redirect to {exc.location_host}, which is "
                       f"never followed (the access token or the request would go there); check the Server URL, "
                       f"the Authority URL and any proxy in between")
    if isinstance(exc, requests.exceptions.SSLError):
        match = re.search(r"\[SSL: [A-Z0-9_]+\] ([^(')\]]+)", str(exc))
        reason = match.group(1).strip() if match else "TLS handshake failed"
        return False, (f"the TLS connection to {host} failed ({reason}); if a proxy or a private CA intercepts "
                       f"TLS, point REQUESTS_CA_BUNDLE at its CA bundle (PEM), or, not recommended, select "
                       f"'Trust any certificate (not secure)' (insecure)")
    if isinstance(exc, TlsSetupError):
        return False, (f"the local TLS setup is unusable ({exc}); point REQUESTS_CA_BUNDLE at an existing CA "
                       f"bundle file (PEM) or unset it")
    if isinstance(exc, TRANSIENT_EXCEPTIONS):
        return True, f"{type(exc).__name__} talking to {host}; check the network and proxy settings, then try again"
    return False, f"{type(exc).__name__} for a request to {host}; check the Server URL and the proxy settings"


class Retryable(Exception):
    """One attempt failed in a way worth retrying; `final` is the error to raise when no retry is left."""

    def __init__(self, final: "SentinelError", reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.final = final
        self.reason = reason
        self.retry_after = retry_after


T = TypeVar("T")


class RetryPolicy:
    """The one retry loop: at most MAX_ATTEMPTS attempts per request, waiting Retry-After when given,
    else exponential backoff with jitter, all within one time budget per command (shared by every
    request of the invocation, sign-in included). `now`, `sleep` and `jitter` are injectable.
    """

    def __init__(self, now: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = lambda _msg: None, budget_s: float = COMMAND_RETRY_BUDGET_S,
                 jitter: Callable[[], float] = random.random):
        self.now = now
        self.sleep = sleep
        self.log = log
        self.jitter = jitter
        self.deadline = now() + budget_s
        self.retries = 0
        self._lock = threading.Lock()

    def run(self, attempt: Callable[[], T], what: str) -> T:
        """`attempt()` until it returns, raises something else than Retryable, or retries run out."""
        number = 0
        while True:
            number += 1
            try:
                return attempt()
            except Retryable as exc:
                if not self._wait(number, exc.retry_after, f"{what}: {exc.reason}"):
                    raise exc.final from None

    def _wait(self, attempt: int, retry_after: float | None, what: str) -> bool:
        """Sleep before the next attempt; False when attempts or the time budget are used up."""
        if attempt >= MAX_ATTEMPTS:
            return False
        delay = retry_after if retry_after is not None else min(
            BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1)) * (0.5 + self.jitter() / 2)
        if self.now() + delay > self.deadline:
            return False
        with self._lock:
            self.retries += 1
        self.log(f"Retrying {what} in {delay:.1f}s (attempt {attempt + 1} of {MAX_ATTEMPTS}).")
        self.sleep(delay)
        return True


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("x-ms-retry-after-ms", 0.001), ("retry-after-ms", 0.001), ("Retry-After", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                try:  # an HTTP date
                    return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
                except (TypeError, ValueError):
                    continue
    return None


def _snippet(text: str, length: int = 80) -> str:
    return " ".join(text.split())[:length]


# endregion

# region credentials


@dataclass
class AccessToken:
    token: str
    expires_on: float


class TokenEndpoints:
    """The HTTP client MSAL is given: the session, with every answer checked before MSAL reads it.

    A transient status (408, 429, 5xx) raises Retryable, so the one retry loop repeats the whole
    sign-in; a body that is not a JSON object raises AuthError, so MSAL never parses or logs it.
    """

    TRANSIENT = RETRY_ANY_METHOD | RETRY_IDEMPOTENT

    def __init__(self, session: requests.Session):
        self._session = session

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._checked(url, self._session.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._checked(url, self._session.post(url, **kwargs))

    def close(self) -> None:
        """MSAL may close its client; the session belongs to the invocation."""

    def _checked(self, url: str, response: requests.Response) -> requests.Response:
        host, status = urlsplit(url).netloc, response.status_code
        # The body of a 2xx may hold a token: it is never quoted.
        shown = f" ({_snippet(response.text)!r})" if status >= 400 and response.text.strip() else ""
        if status in self.TRANSIENT:
            raise Retryable(AuthError(f"The sign-in endpoint {host} answered HTTP {status}{shown}; it is failing "
                                      f"for now, try again in a few minutes."),
                            f"HTTP {status}", _retry_after(response.headers))
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            problem = "a body that is not JSON" if data is None else f"a JSON {_json_type(data)} instead of an object"
        else:
            problem = _token_answer_problem(url, data) if status < 400 else None
        if problem:
            raise AuthError(f"The sign-in endpoint {host} answered HTTP {status} with {problem}{shown}; check the "
                            f"Azure Cloud (or Authority URL) and the proxy settings.")
        return response


def _token_answer_problem(url: str, data: dict[str, Any]) -> str | None:
    """What is wrong with a successful sign-in answer MSAL would otherwise trip over (None if nothing)."""
    if urlsplit(url).path.endswith("/.well-known/openid-configuration"):
        missing = [k for k in ("authorization_endpoint", "token_endpoint") if not isinstance(data.get(k), str)]
        return f"a discovery document without {' and '.join(missing)}" if missing else None
    if "access_token" in data and (not isinstance(data["access_token"], str) or not data["access_token"]):
        return "an access token that is not a string"
    for key in ("expires_in", "expires_on"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not str(value).strip().isdigit()):
            return f"an `{key}` that is not a whole number of seconds"
    return None


class Credential:
    """One `get_token()` for every kind of credential and one resource (ARM, or the Log Analytics
    query API), with the token cached across runs.

    The cache lives in the integration context (a dict the caller persists): per credential, the
    token and its expiry, under a key derived from cloud, tenant, client and scope. Never the
    secret. A malformed cache entry is ignored (the credential signs in again).
    """

    CONTEXT_KEY = "azure_tokens"

    def __init__(self, settings: Settings, session: requests.Session, context: dict[str, Any],
                 resource: str | None = None, retry: RetryPolicy | None = None, now: Callable[[], float] = time.time):
        self._settings = settings
        self._session = session
        self._context = context
        self.resource = resource or settings.cloud.arm
        self._retry = retry or RetryPolicy(now=now)
        self._now = now
        self._lock = threading.Lock()  # enrichment threads share the credential

    @property
    def scope(self) -> str:
        return f"{self.resource}/.default"

    @property
    def cache_key(self) -> str:
        s = self._settings
        ident = "|".join((s.auth_kind.value, s.cloud.login, s.tenant_id, s.client_id,
                          s.managed_identity_client_id, self.scope))
        return hashlib.sha256(ident.encode()).hexdigest()[:32]

    def get_token(self) -> str:
        with self._lock:
            cached = self._cached()
            if cached:
                return cached
            token = self._retry.run(self._sign_in, f"sign-in with {self._settings.auth_kind.value}")
            tokens = self._context.get(self.CONTEXT_KEY)
            if not isinstance(tokens, dict):
                tokens = self._context[self.CONTEXT_KEY] = {}
            for key in [k for k, v in tokens.items() if not _token_entry(v, self._now())]:
                del tokens[key]  # expired or malformed entries
            tokens[self.cache_key] = {"access_token": token.token, "expires_on": token.expires_on}
            return token.token

    def invalidate(self) -> None:
        """Forget this credential's cached token (after a 401)."""
        tokens = self._context.get(self.CONTEXT_KEY)
        if isinstance(tokens, dict):
            tokens.pop(self.cache_key, None)

    def _cached(self) -> str | None:
        tokens = self._context.get(self.CONTEXT_KEY)
        return _token_entry(tokens.get(self.cache_key), self._now()) if isinstance(tokens, dict) else None

    def _sign_in(self) -> AccessToken:
        """One sign-in through MSAL (imported here: with a cached token the heaviest import is skipped)."""
        import msal

        s = self._settings
        http = TokenEndpoints(self._session)
        try:
            if s.auth_kind is AuthKind.MANAGED_IDENTITY:
                identity = (msal.UserAssignedManagedIdentity(client_id=s.managed_identity_client_id)
                            if s.managed_identity_client_id else msal.SystemAssignedManagedIdentity())
                result = msal.ManagedIdentityClient(identity, http_client=http).acquire_token_for_client(
                    resource=self.resource)
            else:
                credential: Any = (s.client_secret if s.auth_kind is AuthKind.CLIENT_SECRET
                                   else {"private_key": s.cert_private_key, "thumbprint": s.cert_thumbprint})
                app = msal.ConfidentialClientApplication(
                    s.client_id, client_credential=credential, authority=f"{s.cloud.login}/{s.tenant_id}",
                    http_client=http, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                    # A custom authority is not in Microsoft's instance list; skip that look-up.
                    instance_discovery=False if s.cloud.name == "Custom" else None,
                )
                result = app.acquire_token_for_client(scopes=[self.scope])
        except (Retryable, AuthError):
            raise
        except requests.RequestException as exc:
            transient, message = describe_failure(exc, urlsplit(s.cloud.login).netloc)
            error = AuthError(f"Sign-in with {s.auth_kind.value} failed: {message}.")
            if transient:
                raise Retryable(error, type(exc).__name__) from None
            raise error from None
        except ValueError as exc:  # MSAL: bad authority, tenant discovery failure, malformed key
            raise AuthError(f"Sign-in with {s.auth_kind.value} failed: {_first_line(str(exc))}; check the "
                            f"Tenant ID, Authority URL and credentials.") from None
        except (KeyError, TypeError, AttributeError, IndexError) as exc:  # MSAL reading an odd document
            raise AuthError(f"Sign-in with {s.auth_kind.value} failed: the sign-in endpoint answered in a form "
                            f"MSAL cannot read; check the Azure Cloud (or Authority URL) and any proxy in "
                            f"between.") from None
        except Exception as exc:
            module = type(exc).__module__
            if module.startswith("jwt") and s.auth_kind is AuthKind.CERTIFICATE:  # PyJWT's InvalidKeyError
                raise AuthError("The certificate's Private Key could not be read; paste the PEM private key "
                                "(-----BEGIN PRIVATE KEY-----) that matches the Certificate Thumbprint.") from None
            if module.startswith("msal"):
                raise AuthError(f"Sign-in with {s.auth_kind.value} failed: {_first_line(str(exc))}; check the "
                                f"credentials and the Azure Cloud setting.") from None
            raise
        return _access_token(s, result, self._now())


def _token_entry(entry: Any, now: float) -> str | None:
    """The token of a cache entry that is well-formed and not about to expire, else None."""
    if not isinstance(entry, dict):
        return None
    token, expires_on = entry.get("access_token"), entry.get("expires_on")
    if not isinstance(token, str) or not token or isinstance(expires_on, bool) \
            or not isinstance(expires_on, (int, float)):
        return None
    return token if expires_on - TOKEN_REFRESH_MARGIN_S > now else None


def _access_token(settings: Settings, result: Any, now: float) -> AccessToken:
    if not isinstance(result, dict):
        raise AuthError(f"Sign-in with {settings.auth_kind.value} returned no result; check the credentials.")
    token = result.get("access_token")
    if not token:
        if "error" in result:
            raise AuthError(_token_error_message(settings, result))
        raise AuthError(f"Sign-in with {settings.auth_kind.value} answered without an access token; check the "
                        f"Azure Cloud (or Authority URL) and the proxy settings.")
    if not isinstance(token, str):
        raise AuthError(f"Sign-in with {settings.auth_kind.value} answered with an access token that is not a "
                        f"string; check the Azure Cloud (or Authority URL) and the proxy settings.")
    try:
        expires_in = float(result.get("expires_in") or 3599)
    except (TypeError, ValueError):
        raise AuthError(f"Sign-in with {settings.auth_kind.value} answered with an expiry that is not a number; "
                        f"check the Azure Cloud (or Authority URL).") from None
    return AccessToken(token, now + max(0.0, expires_in))


def reset_tokens(context: dict[str, Any]) -> None:
    """Forget every cached token (azure-sentinel-auth-reset)."""
    context.pop(Credential.CONTEXT_KEY, None)


AAD_HINTS = {
    7000215: "the client secret is wrong; copy the secret's Value (not its ID) from the app registration",
    7000222: "the client secret has expired; create a new one and update the instance",
    700016: "no application with this Client ID exists in the tenant",
    90002: "the tenant was not found; check the Tenant ID",
    700027: "the certificate signature was rejected; check the thumbprint and that the certificate is "
            "uploaded to the app registration",
}


def _token_error_message(settings: Settings, result: dict[str, Any]) -> str:
    code = str(result.get("error") or "unknown_error")
    description = _first_line(str(result.get("error_description") or ""))
    codes = result.get("error_codes")
    hint = next((AAD_HINTS[c] for c in (codes if isinstance(codes, list) else []) if isinstance(c, int) and c in AAD_HINTS),
                "check the credentials and the Azure Cloud setting, then run azure-sentinel-auth-reset")
    return f"Sign-in with {settings.auth_kind.value} failed ({code}: {description}); {hint}."


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


# endregion

# region transport


@dataclass
class Response:
    status: int
    data: Any


class Transport:
    """The one place that sends requests to an API (ARM, or the Log Analytics query API).

    Rules (DESIGN §5), enforced here so that every command inherits them:
    - the bearer token goes only to this API's own scheme, host and port (`base`);
    - redirects are never followed (the session raises RedirectRefused on a 3xx);
    - a link from a server `nextLink` or a `next_link` argument must, after percent-decoding and
      with dot segments refused, stay on the collection the command asked for (the path is pinned,
      not just the host);
    - a 2xx body must have the shape the API defines (a JSON object; `value` a list of objects,
      `properties` objects, `nextLink` a string): anything else is one clear ApiError, never an
      empty result;
    - retries (connection errors, mid-body resets and 408/5xx for idempotent calls, 429 for all)
      go through the one RetryPolicy; a 401 refreshes the token once.
    `log` receives one line per retry (never headers or tokens).
    """

    def __init__(self, session: requests.Session, credential: Credential, base: str,
                 retry: RetryPolicy | None = None, api_version: str | None = API_VERSION):
        self.session = session
        self.credential = credential
        self.base = urlsplit(base)
        self.base_url = base
        self.retry = retry or RetryPolicy()
        self.api_version = api_version

    @property
    def log(self) -> Callable[[str], None]:
        return self.retry.log

    @property
    def retries(self) -> int:
        return self.retry.retries

    # -- one request ---------------------------------------------------------------------------

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one logical request and return its parsed, shape-checked body (None when empty)."""
        return self.send(method, url, **kwargs).data

    def send(self, method: str, url: str, *, params: dict[str, Any] | None = None, body: Any = None,
             idempotent: bool | None = None, pin: str | None = None, items_key: str | None = None,
             allow_empty: bool | None = None) -> Response:
        """Send one logical request (retried by the policy); return its final status and body.

        `pin`: the collection path `url` must stay on (for links). `items_key`: the body is a page
        whose list is under that key. `allow_empty`: an empty body is fine (default: DELETE only).
        """
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE")
        if allow_empty is None:
            allow_empty = method == "DELETE"
        self.check_url(url, pin)
        query = dict(params or {})
        if self.api_version and "api-version" not in parse_qsl_dict(url):
            query.setdefault("api-version", self.api_version)
        path = urlsplit(url).path
        what = f"{method} {_resource_path(path)}"
        refreshed = False

        def attempt() -> Response:
            nonlocal refreshed
            raw = self._once(method, url, query, body, idempotent, what)
            if raw.status_code == 401 and not refreshed:
                refreshed = True
                self.credential.invalidate()
                raw = self._once(method, url, query, body, idempotent, what)
            status = raw.status_code
            if status in RETRY_ANY_METHOD or (idempotent and status in RETRY_IDEMPOTENT):
                raise Retryable(_api_error(what, raw), f"HTTP {status}", _retry_after(raw.headers))
            if status >= 400:
                raise _api_error(what, raw)
            return Response(status, parse_body(raw, what, items_key=items_key, allow_empty=allow_empty))

        return self.retry.run(attempt, what)

    def _once(self, method: str, url: str, query: dict[str, Any], body: Any, idempotent: bool,
              what: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.credential.get_token()}", "Accept": "application/json"}
        try:
            return self.session.request(method, url, params=query, json=body, headers=headers,
                                        timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
        except requests.RequestException as exc:
            transient, message = describe_failure(exc, self.base.netloc)
            error = ApiError(f"{what} failed: {message}.")
            if transient and idempotent:
                raise Retryable(error, type(exc).__name__) from None
            raise error from None

    # -- URL safety ------------------------------------------------------------------------------

    def check_url(self, url: str, pin: str | None = None) -> None:
        """Only this API's endpoint (and, for links, only the pinned collection) receives the token."""
        parts = urlsplit(url)
        if (parts.scheme, parts.hostname, parts.port) != (self.base.scheme, self.base.hostname, self.base.port):
            raise UnsafeRequestError(f"Refusing to send a request to {parts.scheme}://{parts.netloc}: only "
                                     f"{self.base.scheme}://{self.base.netloc} (the configured endpoint) "
                                     f"receives the access token.")
        if parts.username or parts.password:
            raise UnsafeRequestError("Refusing a URL that carries user information.")
        if pin is not None and (_segments(parts.path) is None or _segments(parts.path) != _segments(pin)):
            raise UnsafeRequestError(f"Refusing the link to {_resource_path(unquote(parts.path))[:160]}: it "
                                     f"leaves {_resource_path(pin)}, the collection this command reads; pass "
                                     f"back the next_link this command returned.")

    # -- the one pagination loop -----------------------------------------------------------------

    def pages(self, method: str, url: str, *, params: dict[str, Any] | None = None, body: Any = None,
              items_key: str = "value", top: Callable[[], int] | None = None, idempotent: bool | None = None,
              next_link: str | None = None) -> Iterator[tuple[list[Any], str | None]]:
        """Yield (items, nextLink) page by page over the collection `url`.

        `next_link` (a caller's link) continues a previous listing instead of starting it. Every
        link is checked against `url`'s collection before it is sent. `top`, when given, sizes
        each page ($top), so a caller that wants N items never receives more than it asked for
        and can hand the remaining nextLink on without losing items. Repeated links and more than
        MAX_PAGES pages stop with an error.
        """
        pin = urlsplit(url).path
        seen: set[str] = set()
        link = next_link
        for _ in range(MAX_PAGES):
            if link is None:
                query = dict(params or {})
                if top is not None:
                    query["$top"] = top()
                data = self.request(method, url, params=query, body=body, idempotent=idempotent,
                                    items_key=items_key)
            else:
                data = self.request(method, with_top(link, top()) if top else link, body=body,
                                    idempotent=idempotent, pin=pin, items_key=items_key)
            next_link = data.get("nextLink") or None
            yield data[items_key], next_link
            if not next_link:
                return
            if next_link in seen:
                raise UnsafeRequestError("The API returned the same nextLink twice; stopping to avoid a loop.")
            seen.add(next_link)
            link = next_link
        raise UnsafeRequestError(f"Stopped after {MAX_PAGES} pages; narrow the query with a filter.")

    def collect(self, method: str, url: str, limit: int, **kwargs: Any) -> tuple[list[Any], str | None]:
        """Up to `limit` items across pages, and the nextLink to continue from (None when done)."""
        items: list[Any] = []
        next_link = None
        for page, next_link in self.pages(method, url, top=lambda: min(PAGE_MAX, limit - len(items)), **kwargs):
            items.extend(page)
            if len(items) >= limit:
                break
        return items[:limit], next_link


def parse_qsl_dict(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def with_top(url: str, top: int) -> str:
    """The same URL with $top set to `top` (the other query parameters kept as they are)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "$top"]
    query.append(("$top", str(top)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="$/:'(),")))


def _segments(path: str) -> list[str] | None:
    """A path's segments, percent-decoded and lower-cased (ARM paths are case-insensitive); None
    when decoding reveals dot segments, backslashes, encoded slashes' leftovers or empty segments."""
    decoded = unquote(path)
    if "%" in decoded or "\\" in decoded:
        return None
    segments = decoded.strip("/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        return None
    return [s.lower() for s in segments]


def _resource_path(path: str) -> str:
    """A path as a user reads it: the part after the Sentinel provider, when there is one."""
    return path.split("/providers/Microsoft.SecurityInsights", 1)[-1] or path


def parse_body(raw: requests.Response, what: str, *, items_key: str | None = None,
               allow_empty: bool = False) -> Any:
    """The JSON body of a 2xx answer, checked for the shape the API defines; else one ApiError."""
    status = raw.status_code
    if status == 204 or not raw.content:
        if allow_empty:
            return None
        raise ApiError(f"{what}: Azure answered HTTP {status} with an empty body where the API defines a JSON "
                       f"object; a proxy may be answering instead of Azure: check the proxy settings.", status)
    try:
        data = raw.json()
    except ValueError:
        raise ApiError(f"{what}: Azure answered HTTP {status} with a body that is not JSON: "
                       f"{_snippet(raw.text)!r}; a proxy, firewall or captive portal may be answering instead "
                       f"of Azure: check the proxy settings.", status) from None
    problem = _shape_problem(data, items_key)
    if problem:
        raise ApiError(f"{what}: Azure answered HTTP {status} with {problem}, which the API never sends; a "
                       f"proxy may be altering the answers: check the proxy settings.", status)
    return data


def _shape_problem(data: Any, items_key: str | None) -> str | None:
    if not isinstance(data, dict):
        return f"a JSON {_json_type(data)} where an object was expected"
    if items_key is None:
        return _resource_problem(data, "the body")
    items = data.get(items_key)
    if not isinstance(items, list):
        return f"`{items_key}` that is not a list"
    problems = (_resource_problem(item, f"an item of `{items_key}`") for item in items)
    problem = next((p for p in problems if p), None)
    if problem:
        return problem
    if data.get("nextLink") is not None and not isinstance(data["nextLink"], str):
        return "`nextLink` that is not a string"
    return None


def _resource_problem(value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} that is not an object"
    if value.get("properties") is not None and not isinstance(value["properties"], dict):
        return f"`properties` in {where} that is not an object"
    return None


def _api_error(what: str, raw: requests.Response) -> ApiError:
    """One sentence from an ARM error: status, ARM code, message and what to do."""
    status = raw.status_code
    try:
        body = raw.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    code = str(error.get("code") or raw.reason or "Error")
    message = _first_line(str(error.get("message") or "")).rstrip(".")
    hint = ERROR_HINTS.get(status) or (SERVER_ERROR_HINT if status >= 500 else "check the request")
    text = f"{what} failed with HTTP {status} {code}" + (f": {message}" if message else "") + f". What to do: {hint}."
    cls = ConflictError if status == 409 else ApiError
    return cls(text, status=status, code=code)


# endregion

# region client


ID_FORBIDDEN = re.compile(r"[/\\?#%\x00-\x1f\x7f]")


def safe_id(value: Any, what: str = "ID") -> str:
    """Validate a value that becomes one URL path segment; refuse traversal and separators."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise ConfigError(f"The {what} is empty; give the {what}.")
    if text in (".", "..") or ID_FORBIDDEN.search(text) or len(text) > 256:
        raise ConfigError(f"The {what} {text[:80]!r} is not valid: it must not contain '/', '\\', '?', '#', "
                          f"'%' or control characters, nor be '.' or '..'.")
    return text


def odata_quote(value: str) -> str:
    """A string literal for an OData $filter: quoted, with embedded quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


class Client:
    """Sentinel API operations for one workspace. Never touches `demisto`."""

    def __init__(self, transport: Transport, subscription_id: str, resource_group: str, workspace: str):
        self.transport = transport
        self.workspace_url = f"{transport.base_url}/" + SENTINEL_PROVIDER_PATH.format(
            sub=quote(safe_id(subscription_id, "subscription ID"), safe=""),
            rg=quote(safe_id(resource_group, "resource group name"), safe=""),
            ws=quote(safe_id(workspace, "workspace name"), safe=""))

    def url(self, *segments: str) -> str:
        """The workspace URL plus path segments; each variable segment must come through safe_id."""
        return "/".join([self.workspace_url, *(quote(s, safe="") for s in segments)])

    # any workspace resource: the one generic path for list, get, put, post and delete
    def collect(self, segments: tuple[str, ...], limit: int, next_link: str | None = None,
             params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        return self.transport.collect("GET", self.url(*segments), limit, params=params, next_link=next_link)

    def get(self, *segments: str) -> dict[str, Any]:
        return self.transport.request("GET", self.url(*segments))

    def put(self, *segments: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.transport.request("PUT", self.url(*segments), body=body)

    def post(self, *segments: str, body: Any = None, items_key: str | None = None, idempotent: bool = False,
             allow_empty: bool = False) -> Any:
        return self.transport.request("POST", self.url(*segments), body=body, items_key=items_key,
                                      idempotent=idempotent, allow_empty=allow_empty)

    def delete(self, *segments: str) -> bool:
        """Delete a resource; False when it did not exist (ARM answers 204)."""
        return self.transport.send("DELETE", self.url(*segments)).status != 204

    # incidents
    def get_incident(self, incident_id: str) -> dict[str, Any]:
        return self.get("incidents", incident_id)

    def list_incidents(self, limit: int, odata_filter: str | None = None, orderby: str | None = None,
                       next_link: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        params = {k: v for k, v in (("$filter", odata_filter), ("$orderby", orderby)) if v}
        return self.collect(("incidents",), limit, next_link, params)

    def iter_incident_pages(self, odata_filter: str, orderby: str, top: Callable[[], int]
                            ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Incident pages in `orderby` order; `top()` sizes each page when it is requested."""
        return self.transport.pages("GET", self.url("incidents"),
                                    params={"$filter": odata_filter, "$orderby": orderby}, top=top)

    def put_incident(self, incident_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.put("incidents", incident_id, body=body)

    # incident sub-resources (also read by fetch enrichment)
    def list_comments(self, incident_id: str, limit: int, next_link: str | None = None
                      ) -> tuple[list[dict[str, Any]], str | None]:
        return self.collect(("incidents", incident_id, "comments"), limit, next_link)

    def put_comment(self, incident_id: str, comment_id: str, message: str) -> dict[str, Any]:
        return self.put("incidents", incident_id, "comments", comment_id, body={"properties": {"message": message}})

    def list_relations(self, incident_id: str, limit: int, odata_filter: str | None = None,
                       next_link: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        return self.collect(("incidents", incident_id, "relations"), limit, next_link,
                         {"$filter": odata_filter} if odata_filter else {})

    def list_alerts(self, incident_id: str) -> list[dict[str, Any]]:
        return self.post("incidents", incident_id, "alerts", items_key="value", idempotent=True)["value"]

    def list_entities(self, incident_id: str) -> dict[str, Any]:
        return self.post("incidents", incident_id, "entities", items_key="entities", idempotent=True)


# endregion

# region formatters


def format_time(value: Any) -> str | None:
    """An ARM timestamp (up to 7 fractional digits) as the official '%Y-%m-%dT%H:%M:%SZ'."""
    parsed = parse_time(value)
    return parsed.strftime(DATE_FORMAT) if parsed else None


TIMESTAMP_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    match = TIMESTAMP_RE.match(str(value).strip())
    if not match:
        return None
    *fields, fraction, zone = match.groups()  # datetime() checks the ranges, as strptime did (ValueError)
    parsed = datetime(*map(int, fields), int((fraction or "0")[:6].ljust(6, "0")), tzinfo=timezone.utc)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        return parsed - sign * timedelta(hours=hours, minutes=minutes)
    return parsed


def iso_z(moment: datetime) -> str:
    """A UTC datetime as an OData datetime literal."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _obj(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else an empty one: a malformed nested field reads as absent."""
    return value if isinstance(value, dict) else {}


def _objs(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (anything else reads as an empty list)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def incident_context(incident: dict[str, Any]) -> dict[str, Any]:
    """An ARM incident as the official `AzureSentinel.Incident` context object."""
    props = _obj(incident.get("properties"))
    owner = _obj(props.get("owner"))
    extra = _obj(props.get("additionalData"))
    return {
        "ID": incident.get("name"),
        "IncidentNumber": props.get("incidentNumber"),
        "Title": props.get("title"),
        "Description": props.get("description"),
        "Severity": props.get("severity"),
        "Status": props.get("status"),
        "AssigneeName": owner.get("assignedTo"),
        "AssigneeEmail": owner.get("email"),
        "AssigneeObjectID": owner.get("objectId"),
        "AssigneeUPN": owner.get("userPrincipalName"),
        "Label": [{"Name": label.get("labelName"), "Type": label.get("labelType")}
                  for label in _objs(props.get("labels"))],
        "FirstActivityTimeUTC": format_time(props.get("firstActivityTimeUtc")),
        "LastActivityTimeUTC": format_time(props.get("lastActivityTimeUtc")),
        "LastModifiedTimeUTC": format_time(props.get("lastModifiedTimeUtc")),
        "CreatedTimeUTC": format_time(props.get("createdTimeUtc")),
        "AlertsCount": extra.get("alertsCount"),
        # The official manifest documents *Count, its code emits *sCount: emit both.
        "BookmarksCount": extra.get("bookmarksCount"),
        "BookmarkCount": extra.get("bookmarksCount"),
        "CommentsCount": extra.get("commentsCount"),
        "CommentCount": extra.get("commentsCount"),
        "AlertProductNames": extra.get("alertProductNames"),
        "Tactics": extra.get("tactics"),
        "Techniques": extra.get("techniques"),
        "ProviderName": props.get("providerName"),
        "ProviderIncidentId": props.get("providerIncidentId"),
        "ProviderIncidentUrl": extra.get("providerIncidentUrl"),
        "FirstActivityTimeGenerated": format_time(props.get("firstActivityTimeUtc")),
        "LastActivityTimeGenerated": format_time(props.get("lastActivityTimeUtc")),
        "Etag": incident.get("etag"),
        "IncidentUrl": props.get("incidentUrl"),
        "Deleted": False,
    }


def comment_context(comment: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(comment.get("properties"))
    author = _obj(props.get("author"))
    return {
        "ID": comment.get("name"),
        "IncidentID": incident_id,
        "Message": props.get("message"),
        "AuthorName": author.get("assignedTo") or author.get("name"),
        "AuthorEmail": author.get("email"),
        "CreatedTimeUTC": format_time(props.get("createdTimeUtc")),
    }


def relation_context(relation: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(relation.get("properties"))
    return {"ID": props.get("relatedResourceName"), "Kind": props.get("relatedResourceKind"),
            "IncidentID": incident_id}


def entity_context(entity: dict[str, Any], incident_id: str) -> dict[str, Any]:
    return {"ID": entity.get("name"), "IncidentId": incident_id, "Kind": entity.get("kind"),
            "Properties": entity.get("properties")}


def alert_context(alert: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(alert.get("properties"))
    techniques = _obj(props.get("additionalData")).get("MitreTechniques")
    return {
        "ID": props.get("systemAlertId") or alert.get("name"),
        "IncidentId": incident_id,
        "Kind": alert.get("kind"),
        "Tactic": props.get("tactics"),
        "Techniques": props.get("techniques") or techniques,
        "Technique": techniques,
        "DisplayName": props.get("alertDisplayName"),
        "Description": props.get("description"),
        "ConfidenceLevel": props.get("confidenceLevel"),
        "Severity": props.get("severity"),
        "VendorName": props.get("vendorName"),
        "ProductName": props.get("productName"),
        "ProductComponentName": props.get("productComponentName"),
    }


INCIDENT_HEADERS = ["ID", "IncidentNumber", "Title", "Description", "Severity", "Status", "AssigneeName",
                    "AssigneeEmail", "Label", "FirstActivityTimeUTC", "LastActivityTimeUTC",
                    "LastModifiedTimeUTC", "CreatedTimeUTC", "AlertsCount", "BookmarksCount", "CommentsCount",
                    "AlertProductNames", "Tactics", "Etag"]
COMMENT_HEADERS = ["ID", "IncidentID", "Message", "AuthorName", "AuthorEmail", "CreatedTimeUTC"]
ALERT_HEADERS = ["ID", "Kind", "Tactic", "DisplayName", "Description", "ConfidenceLevel", "Severity",
                 "VendorName", "ProductName", "ProductComponentName"]


def pascal_to_space(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(_cell(v) for v in value)
    elif isinstance(value, dict):
        value = ", ".join(f"{k}: {_cell(v)}" for k, v in value.items() if v not in (None, "", []))
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(title: str, rows: list[dict[str, Any]], headers: list[str] | None = None) -> str:
    """A titled markdown table; columns with no value in any row are left out (removeNull)."""
    lines = [f"### {title}"]
    if not rows:
        return lines[0] + "\n**No entries.**\n"
    headers = headers or list(rows[0])
    columns = [h for h in headers if any(row.get(h) not in (None, "", []) for row in rows)]
    lines.append("|" + "|".join(pascal_to_space(c) for c in columns) + "|")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["|" + "|".join(_cell(row.get(c)) for c in columns) + "|" for row in rows]
    return "\n".join(lines) + "\n"


def note(raw: Any, readable: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A note entry: raw API data for the War Room, markdown for people, context for playbooks."""
    return {"Type": 1, "ContentsFormat": "json", "Contents": raw, "HumanReadable": readable,
            "ReadableContentsFormat": "markdown", "EntryContext": context or {}}


def error_entry(message: str) -> dict[str, Any]:
    return {"Type": 4, "ContentsFormat": "text", "Contents": message}


def next_link_context(next_link: str | None) -> dict[str, Any]:
    # Spaces become %20 so the link survives being passed back as one CLI argument.
    return {NEXTLINK_KEY: {"Description": NEXTLINK_DESCRIPTION, "URL": next_link.replace(" ", "%20")}} \
        if next_link else {}


# endregion

# region command arguments


def _positive_limit(maximum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= maximum:
            raise ValueError(f"must be a whole number from 1 to {maximum}")
        return int(text)
    return check


SafeId = Annotated[str, AfterValidator(lambda v: safe_id(v))]
CommentId = Annotated[str, AfterValidator(lambda v: safe_id(v, "comment ID"))]
TextList = Annotated[list[str], BeforeValidator(_as_list)]  # argToList: a list, JSON list or "a,b"
Flag = Annotated[bool, BeforeValidator(_as_bool)]


class ArgsModel(BaseModel):
    """Base for command arguments: unknown keys ignored, empty strings treated as absent."""

    model_config = ConfigDict(extra="ignore", use_enum_values=True, defer_build=True)  # built when first used

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class Args(ArgsModel):
    """Arguments of a command that also takes the workspace overrides (used in build_run)."""

    subscription_id: str | None = None
    resource_group_name: str | None = None
    workspace_name: str | None = None


def parse_args(model: type[BaseModel], args: dict[str, Any]) -> Any:
    """Turn raw platform args into `model`, or raise one ConfigError naming the argument."""
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "arguments"
        message = str(first.get("ctx", {}).get("error") or first["msg"])
        if first["type"] == "missing":
            raise ConfigError(f"Argument '{name}' is required.") from None
        raise ConfigError(f"Argument '{name}' is invalid: {message}.") from None


class IncidentArgs(Args):
    incident_id: SafeId


LIST_LIMIT_MAX = 1000


class ListArgs(Args):
    limit: int = 50
    next_link: str | None = None

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> int:
        return _positive_limit(LIST_LIMIT_MAX)(50 if value is None else value)


# endregion

# region the command registry


@dataclass
class Run:
    """What one invocation works with, built once in main()."""

    settings: Settings
    client: Client
    context: dict[str, Any]
    now: Callable[[], datetime]
    last_run: Any = field(default_factory=dict)
    instance: str = ""
    new_id: Callable[[], str] = field(default_factory=lambda: _once(lambda: str(uuid.uuid4())))
    file_path: Callable[[str], dict[str, Any]] = field(default=lambda entry_id: {})  # demisto.getFilePath


def _once(make: Callable[[], str]) -> Callable[[], str]:
    """A generator of one value per invocation: every call returns the first value made."""
    value: list[str] = []

    def get() -> str:
        if not value:
            value.append(make())
        return value[0]
    return get


CommandFn = Callable[[Run, dict[str, Any]], Any]
COMMANDS: dict[str, CommandFn] = {}
WORKSPACE_FREE: set[str] = set()  # commands without subscription/resource group/workspace overrides


def command(name: str, *, workspace: bool = True) -> Callable[[CommandFn], CommandFn]:
    """Register the decorated function as the implementation of the platform command `name`."""
    def register(fn: CommandFn) -> CommandFn:
        COMMANDS[name] = fn
        if not workspace:
            WORKSPACE_FREE.add(name)
        return fn
    return register


def write_with_etag(client: Client, segments: tuple[str, ...], apply: Callable[[dict[str, Any] | None],
                    dict[str, Any]], *, create: bool = True) -> dict[str, Any]:
    """Read-modify-write of one resource with its etag; on 409 re-read and re-apply (bounded rounds).

    `apply(current)` builds the body from the current resource (None when it does not exist yet and
    `create` is set): it must carry only what the user asked to change over the current values, so
    re-applying after a conflict never undoes a concurrent change to another field.
    """
    what = "/".join(segments)
    for round_number in range(1, MAX_CONFLICT_ATTEMPTS + 1):
        try:
            current: dict[str, Any] | None = client.get(*segments)
        except ApiError as exc:
            if exc.status != 404 or not create:
                raise
            current = None
        body = apply(current)
        if current and current.get("etag"):
            body["etag"] = current["etag"]
        try:
            return client.put(*segments, body=body)
        except ConflictError:
            if round_number == MAX_CONFLICT_ATTEMPTS:
                raise ConflictError(f"{what} kept changing while it was being updated ({MAX_CONFLICT_ATTEMPTS} "
                                    f"attempts got 409 Conflict); run the command again later.", status=409,
                                    code="Conflict") from None
            client.transport.log(f"{what} changed concurrently; re-reading and re-applying the requested fields "
                                 f"(round {round_number + 1}).")
    raise AssertionError("unreachable")


def list_note(title: str, items: list[dict[str, Any]], rows: list[dict[str, Any]], key: str,
              headers: list[str] | None = None, next_link: str | None = None) -> dict[str, Any]:
    """The entry of a list command: raw items, a table, the rows under `key`, and NextLink when more remain."""
    more = "\nMore remain: pass next_link to continue." if next_link else ""
    return note(items, markdown_table(f"{title} ({len(rows)} results)", rows, headers) + more,
                {key: rows, **next_link_context(next_link)})


def deleted_note(what: str, existed: bool, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The entry of a delete command (a 204 means there was nothing to delete)."""
    return note({}, f"{what} was deleted successfully." if existed else f"{what} does not exist.", context)


# endregion

# region incidents


def incident_note(incident: dict[str, Any], title: str) -> dict[str, Any]:
    """The entry for one incident: raw JSON, a one-row table and the Incident context."""
    row = incident_context(incident)
    return note(incident, markdown_table(title.format(id=row["ID"]), [row], INCIDENT_HEADERS), {INCIDENT_KEY: row})


INCIDENT_KEY = "AzureSentinel.Incident(val.ID && val.ID == obj.ID)"


@command("azure-sentinel-get-incident-by-id")
def get_incident_by_id_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(IncidentArgs, args)
    return incident_note(client.get_incident(a.incident_id), "Incident {id} details")


class ListIncidentsArgs(ListArgs):
    filter: str | None = None


@command("azure-sentinel-list-incidents")
def list_incidents_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(ListIncidentsArgs, args)
    incidents, next_link = client.list_incidents(a.limit, a.filter, "properties/createdTimeUtc asc", a.next_link)
    rows = [incident_context(i) for i in incidents]
    context = {INCIDENT_KEY: rows, **next_link_context(next_link)}
    more = " More remain: pass next_link to continue." if next_link else ""
    readable = markdown_table(f"Incidents List ({len(rows)} results)", rows, INCIDENT_HEADERS) + more
    return note(incidents, readable, context)


class UpdateIncidentArgs(IncidentArgs):
    title: str | None = None
    description: str | None = None
    severity: Severity | None = None
    status: Status | None = None
    classification: Classification | None = None
    classification_comment: str | None = None
    classification_reason: ClassificationReason | None = None
    assignee_email: str | None = None
    user_principal_name: str | None = None
    assignee_objectid: str | None = None
    labels: TextList = Field(default_factory=list)
    unassign: Flag = False


def incident_changes(a: UpdateIncidentArgs) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The fields the user set, as a function that applies them to the current properties.

    Fields the user did not set are carried over unchanged, so re-applying after a 409 never
    undoes a concurrent change to another field.
    """
    simple = {"title": a.title, "description": a.description, "severity": a.severity, "status": a.status,
              "classification": a.classification, "classificationComment": a.classification_comment,
              "classificationReason": a.classification_reason}
    owner_changes = {k: v for k, v in (("email", a.assignee_email), ("userPrincipalName", a.user_principal_name),
                                       ("objectId", a.assignee_objectid)) if v}

    def apply(current: dict[str, Any]) -> dict[str, Any]:
        props = {k: v for k, v in current.items() if k in WRITABLE_INCIDENT_PROPERTIES}
        props.update({k: v for k, v in simple.items() if v is not None})
        if a.unassign:
            props["owner"] = {}
        elif owner_changes:
            # A new assignee replaces the old one; keep only what identifies the new owner.
            props["owner"] = owner_changes
        if a.labels:
            existing = _objs(props.get("labels"))
            names = {label.get("labelName") for label in existing}
            props["labels"] = existing + [{"labelName": n, "labelType": "User"} for n in a.labels if n not in names]
        if a.classification and not a.classification_reason and a.classification != current.get("classification"):
            props.pop("classificationReason", None)  # the old reason belongs to the old classification
        if props.get("status") == "Closed" and props.get("classification") and not props.get("classificationReason"):
            reason = DEFAULT_CLASSIFICATION_REASON.get(props["classification"])
            if reason:
                props["classificationReason"] = reason
        if props.get("status") == "Closed" and not props.get("classification"):
            raise ConfigError("Closing an incident needs a classification; give classification (and "
                              "classification_comment) with status=Closed.")
        return props

    return apply


WRITABLE_INCIDENT_PROPERTIES = frozenset({
    "title", "description", "severity", "status", "classification", "classificationComment",
    "classificationReason", "owner", "labels", "firstActivityTimeUtc", "lastActivityTimeUtc",
})


def update_incident(client: Client, incident_id: str, apply: Callable[[dict[str, Any]], dict[str, Any]]
                    ) -> dict[str, Any]:
    """Read-modify-write with the etag; on 409 re-read and re-apply (bounded rounds)."""
    return write_with_etag(client, ("incidents", incident_id),
                           lambda current: {"properties": apply(_obj((current or {}).get("properties")))},
                           create=False)


@command("azure-sentinel-update-incident")
def update_incident_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(UpdateIncidentArgs, args)
    return incident_note(update_incident(client, a.incident_id, incident_changes(a)), "Updated incident {id} details")


class CreateIncidentArgs(ArgsModel):
    title: str
    severity: Severity | None = None
    status: Status
    description: str | None = None
    labels: TextList = Field(default_factory=list)


@command("azure-sentinel-create-incident", workspace=False)
def create_incident_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateIncidentArgs, args)
    props: dict[str, Any] = {"title": a.title, "severity": a.severity or Severity.INFORMATIONAL.value,
                             "status": a.status}
    if a.description:
        props["description"] = a.description
    if a.labels:
        props["labels"] = [{"labelName": label, "labelType": "User"} for label in a.labels]
    # The ID is chosen once per invocation, so a retried PUT updates the same incident.
    return incident_note(run.client.put_incident(run.new_id(), {"properties": props}), "Created incident {id} details")


@command("azure-sentinel-delete-incident")
def delete_incident_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(IncidentArgs, args)
    client.delete("incidents", a.incident_id)
    return note({}, f"Incident {a.incident_id} was deleted successfully.",
                {INCIDENT_KEY: {"ID": a.incident_id, "Deleted": True}})


# endregion

# region incident comments


def _comment_key(incident_id: str) -> str:
    return f"AzureSentinel.IncidentComment(val.ID === obj.ID && val.IncidentID === '{incident_id}')"


class ListCommentsArgs(IncidentArgs, ListArgs):
    pass


@command("azure-sentinel-list-incident-comments")
def list_incident_comments_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(ListCommentsArgs, args)
    comments, next_link = client.list_comments(a.incident_id, a.limit, a.next_link)
    rows = [comment_context(c, a.incident_id) for c in comments]
    context = {_comment_key(a.incident_id): rows, **next_link_context(next_link)}
    readable = markdown_table(f"Incident {a.incident_id} Comments ({len(rows)} results)", rows, COMMENT_HEADERS)
    return note(comments, readable, context)


class AddCommentArgs(IncidentArgs):
    message: str
    comment_id: CommentId | None = None


@command("azure-sentinel-incident-add-comment")
def incident_add_comment_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(AddCommentArgs, args)
    # One ID per invocation (or the caller's stable ID): a PUT retried after a lost response
    # overwrites the same comment instead of adding a second one.
    comment_id = a.comment_id or run.new_id()
    comment = run.client.put_comment(a.incident_id, comment_id, a.message)
    row = comment_context(comment, a.incident_id)
    return note(comment, markdown_table(f"Incident {a.incident_id} new comment details", [row], COMMENT_HEADERS),
                {_comment_key(a.incident_id): row})


class DeleteCommentArgs(IncidentArgs):
    comment_id: CommentId


@command("azure-sentinel-incident-delete-comment")
def incident_delete_comment_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(DeleteCommentArgs, args)
    if not client.delete("incidents", a.incident_id, "comments", a.comment_id):
        return note({}, f"Comment {a.comment_id} does not exist.")
    return note({}, f"Comment {a.comment_id} was deleted successfully from incident {a.incident_id}.")


# endregion

# region incident relations, entities and alerts


class ListRelationsArgs(IncidentArgs, ListArgs):
    # Free text as in the official manifest (Account, Host, Ip, Url, ...): new kinds appear over time.
    entity_kinds: TextList = Field(default_factory=list)
    filter: str | None = None


@command("azure-sentinel-list-incident-relations")
def list_incident_relations_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(ListRelationsArgs, args)
    clauses = [f"({a.filter})"] if a.filter else []
    if a.entity_kinds:
        clauses.append(f"search.in(properties/relatedResourceKind, {odata_quote(','.join(a.entity_kinds))}, ',')")
    relations, next_link = client.list_relations(a.incident_id, a.limit, " and ".join(clauses) or None,
                                                 a.next_link)
    rows = [relation_context(r, a.incident_id) for r in relations]
    key = f"AzureSentinel.IncidentRelatedResource(val.ID === obj.ID && val.IncidentID == '{a.incident_id}')"
    readable = markdown_table(f"Incident {a.incident_id} Relations ({len(rows)} results)", rows,
                              ["ID", "Kind", "IncidentID"])
    return note(relations, readable, {key: rows, **next_link_context(next_link)})


@command("azure-sentinel-list-incident-entities")
def list_incident_entities_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(IncidentArgs, args)
    data = client.list_entities(a.incident_id)
    rows = [entity_context(e, a.incident_id) for e in data["entities"]]
    key = "AzureSentinel.IncidentEntity(val.ID === obj.ID && val.IncidentId === obj.IncidentId)"
    readable = markdown_table(f"Incident {a.incident_id} Entities ({len(rows)} results)",
                              [{"ID": r["ID"], "Kind": r["Kind"], "Properties": r["Properties"]} for r in rows])
    return note(data, readable, {key: rows})


@command("azure-sentinel-list-incident-alerts")
def list_incident_alerts_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    client = run.client
    a = parse_args(IncidentArgs, args)
    alerts = client.list_alerts(a.incident_id)
    rows = [alert_context(al, a.incident_id) for al in alerts]
    key = "AzureSentinel.IncidentAlert(val.ID === obj.ID && val.IncidentId === obj.IncidentId)"
    readable = markdown_table(f"Incident {a.incident_id} Alerts ({len(rows)} results)", rows, ALERT_HEADERS)
    return note({"value": alerts}, readable, {key: rows})


# endregion

# region watchlists

WATCHLIST_KEY = "AzureSentinel.Watchlist(val.ID === obj.ID)"
WATCHLIST_ITEM_KEY = "AzureSentinel.WatchlistItem(val.ID === obj.ID)"
WATCHLIST_MAX_BYTES = 3_800_000  # the API's limit for inline (rawContent) watchlists
WATCHLIST_HEADERS = ["Name", "ID", "DisplayName", "Description", "Provider", "Source", "Alias", "ItemsSearchKey",
                     "Label", "Created", "Updated", "CreatedBy", "UpdatedBy"]


def watchlist_context(watchlist: dict[str, Any]) -> dict[str, Any]:
    props = _obj(watchlist.get("properties"))
    return {"Name": watchlist.get("name"), "ID": props.get("watchlistId"), "DisplayName": props.get("displayName"),
            "Description": props.get("description"), "Provider": props.get("provider"),
            "Source": props.get("source"), "Created": format_time(props.get("created")),
            "Updated": format_time(props.get("updated")), "CreatedBy": _obj(props.get("createdBy")).get("name"),
            "UpdatedBy": _obj(props.get("updatedBy")).get("name"), "Alias": props.get("watchlistAlias"),
            "Label": props.get("labels") or [], "ItemsSearchKey": props.get("itemsSearchKey")}


def watchlist_item_context(item: dict[str, Any], alias: str) -> dict[str, Any]:
    props = _obj(item.get("properties"))
    return {"WatchlistAlias": alias, "ID": props.get("watchlistItemId") or item.get("name"), "Name": item.get("name"),
            "Created": format_time(props.get("created")), "Updated": format_time(props.get("updated")),
            "CreatedBy": _obj(props.get("createdBy")).get("name"), "UpdatedBy": _obj(props.get("updatedBy")).get("name"),
            "ItemsKeyValue": _obj(props.get("itemsKeyValue"))}


class ListWatchlistsArgs(ListArgs):
    watchlist_alias: SafeId | None = None


@command("azure-sentinel-list-watchlists")
def list_watchlists_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListWatchlistsArgs, args)
    if a.watchlist_alias:
        items, next_link = [run.client.get("watchlists", a.watchlist_alias)], None
    else:
        items, next_link = run.client.collect(("watchlists",), a.limit, a.next_link)
    return list_note("Watchlists", items, [watchlist_context(w) for w in items], WATCHLIST_KEY, WATCHLIST_HEADERS,
                     next_link)


class WatchlistArgs(Args):
    watchlist_alias: SafeId


@command("azure-sentinel-delete-watchlist")
def delete_watchlist_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(WatchlistArgs, args)
    return deleted_note(f"Watchlist {a.watchlist_alias}", run.client.delete("watchlists", a.watchlist_alias))


class WatchlistCreateArgs(WatchlistArgs):
    watchlist_display_name: str
    description: str | None = None
    provider: str = "XSOAR"
    labels: TextList = Field(default_factory=list)
    lines_to_skip: Annotated[int, Field(ge=0)] = 0
    file_entry_id: str
    items_search_key: str
    content_type: str = "text/csv"

    @field_validator("content_type")
    @classmethod
    def _csv(cls, value: str) -> str:
        if value.strip().lower() != "text/csv":
            raise ValueError("Microsoft Sentinel accepts only text/csv")
        return "text/csv"


def read_watchlist_file(run: Run, entry_id: str) -> tuple[str, str]:
    """(file name, CSV text) of a file entry, refused before sending when above the API's inline limit."""
    try:
        found = run.file_path(entry_id)
        path, name = str(found["path"]), str(found.get("name") or "watchlist.csv")
        with open(path, "rb") as handle:
            raw = handle.read(WATCHLIST_MAX_BYTES + 1)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"Argument 'file_entry_id': the file entry {entry_id!r} cannot be read "
                          f"({type(exc).__name__}); give the entry ID of a CSV file in this incident.") from None
    if len(raw) > WATCHLIST_MAX_BYTES:
        raise ConfigError(f"The file {name} is larger than 3.8 MB, the most Microsoft Sentinel accepts inline; "
                          f"upload a large watchlist from Azure Storage in the Microsoft Sentinel portal "
                          f"(Watchlist > New > large watchlist), or split it into several watchlists.")
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"The file {name} is not UTF-8 text; save the CSV as UTF-8 and upload it again.") from None


@command("azure-sentinel-watchlist-create-update")
def watchlist_create_update_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(WatchlistCreateArgs, args)
    name, content = read_watchlist_file(run, a.file_entry_id)
    wanted = {"watchlistAlias": a.watchlist_alias, "displayName": a.watchlist_display_name, "provider": a.provider,
              "source": name, "sourceType": "Local", "itemsSearchKey": a.items_search_key, "contentType": a.content_type,
              "numberOfLinesToSkip": a.lines_to_skip, "rawContent": content, "labels": a.labels or None,
              "description": a.description}
    wanted = {k: v for k, v in wanted.items() if v is not None}
    watchlist = write_with_etag(run.client, ("watchlists", a.watchlist_alias), lambda current: {
        "properties": {**_obj((current or {}).get("properties")), **wanted}})
    row = watchlist_context(watchlist)
    return note(watchlist, markdown_table(f"Watchlist {a.watchlist_alias} was created or updated", [row],
                                          WATCHLIST_HEADERS), {WATCHLIST_KEY: row})


class ListWatchlistItemsArgs(ListArgs, WatchlistArgs):
    watchlist_item_id: SafeId | None = None


@command("azure-sentinel-list-watchlist-items")
def list_watchlist_items_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListWatchlistItemsArgs, args)
    segments = ("watchlists", a.watchlist_alias, "watchlistItems")
    if a.watchlist_item_id:
        items, next_link = [run.client.get(*segments, a.watchlist_item_id)], None
    else:
        items, next_link = run.client.collect(segments, a.limit, a.next_link)
    rows = [watchlist_item_context(i, a.watchlist_alias) for i in items]
    return list_note(f"Watchlist {a.watchlist_alias} items", items, rows, WATCHLIST_ITEM_KEY,
                     ["ID", "ItemsKeyValue", "Created", "Updated", "CreatedBy", "UpdatedBy"], next_link)


class WatchlistItemArgs(WatchlistArgs):
    watchlist_item_id: SafeId


@command("azure-sentinel-delete-watchlist-item")
def delete_watchlist_item_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(WatchlistItemArgs, args)
    existed = run.client.delete("watchlists", a.watchlist_alias, "watchlistItems", a.watchlist_item_id)
    return deleted_note(f"Watchlist item {a.watchlist_item_id}", existed)


def _json_object(value: Any) -> dict[str, Any]:
    """A JSON object given as text (or already an object)."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise ValueError(f"must be a JSON object ({exc.msg} at character {exc.pos})") from None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object such as {\"column\": \"value\"}")
    return parsed


JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_object)]


class CreateWatchlistItemArgs(WatchlistArgs):
    watchlist_item_id: SafeId | None = None
    item_key_value: JsonObject


@command("azure-sentinel-create-update-watchlist-item")
def create_update_watchlist_item_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateWatchlistItemArgs, args)
    item_id = a.watchlist_item_id or run.new_id()
    item = write_with_etag(run.client, ("watchlists", a.watchlist_alias, "watchlistItems", item_id),
                           lambda current: {"properties": {**_obj((current or {}).get("properties")),
                                                           "itemsKeyValue": a.item_key_value}})
    row = watchlist_item_context(item, a.watchlist_alias)
    return note(item, markdown_table(f"Watchlist {a.watchlist_alias} item {item_id} was created or updated", [row],
                                     ["ID", "ItemsKeyValue", "Created", "Updated"]), {WATCHLIST_ITEM_KEY: row})


# endregion

# region threat intelligence

# endregion

# region analytics rules and templates

# endregion

# region automation rules

# endregion

# region bookmarks

# endregion

# region incident tasks

# endregion

# region data connectors

# endregion

# region subscriptions and resource groups

# endregion

# region KQL queries (Log Analytics)

# endregion

# region fetch-incidents

FETCH_STATE_VERSION = 1
MIN_OVERLAP = timedelta(minutes=15)  # re-read window for late-visible incidents and clock skew
NUMBER_OVERLAP = 100  # never-emitted numbers this far below the cursor are read again (late arrivals)
MAX_LATE_RANGES = 8  # ... named in at most this many number ranges of the filter
REREAD_SLACK = 50  # first page: room for more incidents behind the cursor than the last run read
PRUNE_MARGIN = timedelta(days=1)  # created times may run out of number order; prune with slack
MARK_EVERY = timedelta(hours=6)  # one (number, created) checkpoint per this much created time
ENRICH_CONCURRENCY = 10  # requests' connection pool size: each worker keeps its connection
# Client-side pacing below ARM's read bucket per principal (250 calls, refilled at 25 a second), so a
# large enrichment slows down instead of collecting 429s: ENRICH_BURST calls at once, then ENRICH_RATE a second.
ENRICH_BURST = 200
ENRICH_RATE = 20.0
ENRICH_MAX_ITEMS = 500
MIRROR_DIRECTIONS = {"None": None, "Incoming": "In", "Outgoing": "Out", "Incoming And Outgoing": "Both"}


class FetchState(BaseModel):
    """lastRun: small, versioned, derived only from what a successful run handed over.

    cursor: the highest incident number consumed in number order (new incidents).
    floor: numbers at or below it are never emitted again (pruned, or fetched before a migration).
    emitted: bitmap of emitted numbers above `floor` (zlib + base64), bit i = number floor + 1 + i.
    modified_since: high-water mark (server time) of the modifications read behind the cursor.
    marks: [number, created minute] checkpoints used to prune the bitmap past the horizon.
    behind_read: incidents behind the cursor the last run read (the next first page has room for them).
    Added later as an optional hint: a lastRun without it reads as 0, and older releases ignore it (an
    unknown key), so it did not need a new version, which would make a downgrade stop fetching.
    """

    model_config = ConfigDict(defer_build=True)  # built by the first fetch, not when any command starts

    version: int = FETCH_STATE_VERSION
    window_start: str
    cursor: int = Field(default=0, ge=0)
    floor: int = Field(default=0, ge=0)
    modified_since: str
    emitted: str = ""
    marks: list[tuple[int, int]] = []  # pydantic copies a mutable default for each instance
    behind_read: int = Field(default=0, ge=0)

    @field_validator("window_start", "modified_since")
    @classmethod
    def _a_time(cls, value: str) -> str:
        if parse_time(value) is None:
            raise ValueError("not a timestamp")
        return value

    @field_validator("emitted")
    @classmethod
    def _a_bitmap(cls, value: str) -> str:
        if value:
            try:
                zlib_decompress(value)
            except (ValueError, zlib.error):  # binascii.Error is a ValueError
                raise ValueError("not a base64 zlib bitmap") from None
        return value


class EmittedSet:
    """Incident numbers already emitted, as a bitmap over (floor, ...]; numbers <= floor count as emitted."""

    def __init__(self, floor: int, encoded: str = ""):
        self.floor = floor
        self.bits = int.from_bytes(zlib_decompress(encoded), "little") if encoded else 0

    def __contains__(self, number: int) -> bool:
        return number <= self.floor or bool(self.bits >> (number - self.floor - 1) & 1)

    def add(self, number: int) -> None:
        if number > self.floor:
            self.bits |= 1 << (number - self.floor - 1)

    def raise_floor(self, floor: int) -> None:
        if floor > self.floor:
            self.bits >>= floor - self.floor
            self.floor = floor

    def encode(self) -> str:
        raw = self.bits.to_bytes((self.bits.bit_length() + 7) // 8, "little")
        return base64.b64encode(zlib.compress(raw, 9)).decode() if raw else ""


def zlib_decompress(encoded: str) -> bytes:
    return zlib.decompress(base64.b64decode(encoded, validate=True))


KNOWN_STATE_VERSIONS = (FETCH_STATE_VERSION,)
OFFICIAL_STATE_KEYS = frozenset({"last_fetch_time", "last_fetch_ids", "last_incident_number", "lookback_fetch_ids"})
DAMAGED_STATE = ("The stored fetch state (lastRun) is damaged ({why}); nothing was fetched. Reset the instance's "
                 "'last run' to fetch again from the first fetch window (incidents fetched before may then "
                 "arrive again).")


def initial_state(last_run: Any, settings: Settings, now: datetime) -> FetchState:
    """The state to continue from: ours, the official integration's, or a first run.

    Anything else is damaged and stops the fetch: a silent restart would deliver every incident again.
    """
    start = iso_z(now - settings.first_fetch)
    if last_run is None or last_run == {}:
        return FetchState(window_start=start, modified_since=iso_z(now))
    if not isinstance(last_run, dict):
        raise SentinelError(DAMAGED_STATE.format(why=f"a JSON {_json_type(last_run)}, not an object"))
    if "version" in last_run:
        version = last_run["version"]
        if type(version) is not int or version not in KNOWN_STATE_VERSIONS:
            raise SentinelError(DAMAGED_STATE.format(why=f"unknown version {version!r}"))
        try:
            return FetchState.model_validate(last_run)
        except ValidationError as exc:
            first = exc.errors()[0]
            why = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
            raise SentinelError(DAMAGED_STATE.format(why=why)) from None
    if not set(last_run) <= OFFICIAL_STATE_KEYS:
        unknown = ", ".join(sorted(set(last_run) - OFFICIAL_STATE_KEYS))[:120]
        raise SentinelError(DAMAGED_STATE.format(why=f"neither this integration's nor the official one's: {unknown}"))
    return _continue_official(last_run, settings, now)


def _continue_official(last_run: dict[str, Any], settings: Settings, now: datetime) -> FetchState:
    """Continue after the official integration: everything up to its cursor counts as fetched."""
    number = last_run.get("last_incident_number")
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number)
    if number in (None, "", 0):  # it never fetched by number: continue from its time cursor
        fetched_until = parse_time(last_run.get("last_fetch_time"))
        start = iso_z(fetched_until) if fetched_until else iso_z(now - settings.first_fetch)
        return FetchState(window_start=start, modified_since=iso_z(now))
    if type(number) is not int or number < 0:
        raise SentinelError(DAMAGED_STATE.format(why=f"last_incident_number {number!r} is not a whole number"))
    return FetchState(window_start=iso_z(now - settings.first_fetch), cursor=number, floor=number,
                      modified_since=iso_z(now))


def fetch_filter(settings: Settings, *clauses: str) -> str:
    """The server-side filter: the pass's own clauses, then severity, statuses and the user's filter."""
    parts = list(clauses)
    wanted = SEVERITY_ORDER[SEVERITY_ORDER.index(settings.min_severity.value):]
    if len(wanted) < len(SEVERITY_ORDER):
        parts.append("(" + " or ".join(f"properties/severity eq {odata_quote(s)}" for s in wanted) + ")")
    if settings.statuses:
        parts.append("(" + " or ".join(f"properties/status eq {odata_quote(s.value)}"
                                       for s in settings.statuses) + ")")
    if settings.odata_filter:
        parts.append(f"({settings.odata_filter})")
    return " and ".join(parts)


def _number(incident: dict[str, Any]) -> int:
    """The incident number of an incident that passed `_incident_problem`."""
    return int(incident["properties"]["incidentNumber"])


def _incident_problem(incident: dict[str, Any]) -> str | None:
    """Why an incident of a list page cannot be fetched (a poison record), or None."""
    name = incident.get("name")
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or ID_FORBIDDEN.search(name):
        return f"its name {str(name)[:80]!r} is not a valid incident ID"
    number = _obj(incident.get("properties")).get("incidentNumber")
    if type(number) is not int or number < 1:
        return f"its incidentNumber {str(number)[:40]!r} is not a whole number"
    return None


def _created(incident: dict[str, Any]) -> datetime:
    return _time_key(str(incident["properties"].get("createdTimeUtc") or ""))


def _modified(incident: dict[str, Any]) -> str:
    return str(incident["properties"].get("lastModifiedTimeUtc") or "")


@dataclass
class FetchResult:
    incidents: list[dict[str, Any]]  # ARM incidents picked, in emission order
    state: FetchState
    escalated: int = 0
    new: int = 0
    skipped: list[str] = field(default_factory=list)  # poison records left out, one line each


def _fetchable(pages: Iterator[tuple[list[dict[str, Any]], str | None]], skipped: dict[str, str]
               ) -> Iterator[list[dict[str, Any]]]:
    """The pages without poison records; each one left out is noted once in `skipped`."""
    for page, _ in pages:
        kept = []
        for incident in page:
            problem = _incident_problem(incident)
            if problem is None:
                kept.append(incident)
            else:
                name = str(incident.get("name"))[:80]
                skipped.setdefault(name, f"Skipped incident {name!r}: {problem}.")
        yield kept


def select_incidents(client: Client, settings: Settings, state: FetchState, now: datetime) -> FetchResult:
    """Pick at most `limit` incidents no run has emitted, and derive the next state from them.

    One listing in incident-number order (usually one request) selects, with the filters pushed to
    the server, the incidents each run must look at:
    - behind the cursor, created inside the horizon: escalations (modified since the high-water mark
      minus an overlap) and late arrivals (the numbers among the NUMBER_OVERLAP below the cursor that
      were never emitted, in case they became visible late);
    - ahead of the cursor: new incidents created inside the first-fetch window.
    Pages are followed until `limit` incidents are picked; emitted numbers are skipped and never
    count against the limit. The high-water mark moves only when every incident behind the cursor
    was read; otherwise the next run reads them again (the bitmap drops the repeats).
    """
    emitted = EmittedSet(state.floor, state.emitted)
    skipped: dict[str, str] = {}
    budget = settings.fetch_limit
    picked: list[dict[str, Any]] = []
    overlap = max(settings.look_back, MIN_OVERLAP)
    window_start = parse_time(state.window_start) or now - settings.first_fetch
    horizon_start = max(window_start, now - max(settings.escalation_horizon, 2 * overlap))
    late = _late_ranges(emitted, max(state.cursor - NUMBER_OVERLAP, state.floor), state.cursor)
    since = (parse_time(state.modified_since) or now) - overlap
    query = fetch_filter(settings, _selection(state, window_start, horizon_start, since, late))

    rereads = sum(1 for low, high in late for n in range(low, high + 1) if n in emitted)
    newest, behind_done, listing_ended, last_read = state.modified_since, state.cursor == state.floor, True, 0
    behind_read = 0

    def page_size() -> int:
        if not last_read:  # the first page: the budget, plus the emitted incidents it may read again
            return min(PAGE_MAX, budget + rereads + state.behind_read + REREAD_SLACK)
        return PAGE_MAX if last_read <= state.cursor else min(PAGE_MAX, budget - len(picked))

    cursor = state.cursor
    pages = client.iter_incident_pages(query, "properties/incidentNumber asc", page_size)
    for page in _fetchable(pages, skipped):
        for incident in page:
            number = _number(incident)
            behind_done = behind_done or number > state.cursor
            if len(picked) == budget:
                break
            last_read = number
            if number <= state.cursor:
                behind_read += 1
                newest = max(newest, _modified(incident), key=_time_key)
                # The server filtered behind the cursor by the horizon; a record outside it is not revived.
                if number in emitted or _created(incident) < horizon_start:
                    continue
            else:
                cursor = number
            picked.append(incident)
            emitted.add(number)
        if len(picked) == budget:
            listing_ended = False
            break
    behind_done = behind_done or listing_ended
    escalated = sum(1 for incident in picked if _number(incident) <= state.cursor)

    marks = _update_marks(state.marks, picked, cursor)
    floor = max([state.floor] + [n for n, minute in marks
                                 if minute * 60 < (now - settings.escalation_horizon - PRUNE_MARGIN).timestamp()])
    emitted.raise_floor(min(floor, cursor))
    next_state = FetchState(window_start=state.window_start, cursor=cursor, floor=emitted.floor,
                            modified_since=newest if behind_done else state.modified_since,
                            emitted=emitted.encode(), marks=[m for m in marks if m[0] > emitted.floor],
                            behind_read=behind_read)
    return FetchResult(picked, next_state, escalated=escalated, new=len(picked) - escalated,
                       skipped=list(skipped.values()))


def _selection(state: FetchState, window_start: datetime, horizon_start: datetime, since: datetime,
               late: list[tuple[int, int]]) -> str:
    """The filter clause that selects new incidents and, behind the cursor, escalations and late arrivals."""
    number = "properties/incidentNumber"
    new = f"({number} gt {state.cursor} and properties/createdTimeUtc ge {iso_z(window_start)})"
    if state.cursor == state.floor:
        return new
    changed = f"({number} gt {state.floor} and {number} le {state.cursor} and properties/lastModifiedTimeUtc ge " \
              f"{iso_z(since)})"
    unseen = [f"{number} eq {low}" if low == high else f"({number} ge {low} and {number} le {high})"
              for low, high in late]
    behind = f"(properties/createdTimeUtc ge {iso_z(horizon_start)} and ({' or '.join([changed, *unseen])}))"
    return f"({new} or {behind})"


def _late_ranges(emitted: "EmittedSet", low: int, high: int) -> list[tuple[int, int]]:
    """The numbers in (low, high] never emitted, as at most MAX_LATE_RANGES inclusive ranges (where
    there would be more, the ranges closest together are joined: the bitmap drops what they add)."""
    ranges: list[list[int]] = []
    for number in range(low + 1, high + 1):
        if number in emitted:
            continue
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    while len(ranges) > MAX_LATE_RANGES:
        closest = min(range(len(ranges) - 1), key=lambda i: ranges[i + 1][0] - ranges[i][1])
        ranges[closest][1] = ranges.pop(closest + 1)[1]
    return [(first, last) for first, last in ranges]


def _time_key(value: str) -> datetime:
    return parse_time(value) or datetime.min.replace(tzinfo=timezone.utc)


def _update_marks(marks: list[tuple[int, int]], picked: list[dict[str, Any]], cursor: int
                  ) -> list[tuple[int, int]]:
    """Add a (number, created minute) checkpoint when the newest one is MARK_EVERY old."""
    marks = [(int(number), int(minute)) for number, minute in marks]
    newest = max(picked, key=_number, default=None)
    created = parse_time(newest["properties"].get("createdTimeUtc")) if newest else None
    if newest is None or created is None or _number(newest) != cursor:
        return marks
    minute = int(created.timestamp() // 60)
    if not marks or minute - marks[-1][1] >= MARK_EVERY.total_seconds() // 60:
        marks.append((cursor, minute))
    return marks


ENRICHMENTS: dict[str, Callable[[Client, str], list[Any]]] = {
    "Alerts": lambda client, iid: client.list_alerts(iid),
    "Entities": lambda client, iid: client.list_entities(iid)["entities"],
    "Comments": lambda client, iid: client.list_comments(iid, ENRICH_MAX_ITEMS)[0],
    "Relations": lambda client, iid: client.list_relations(iid, ENRICH_MAX_ITEMS)[0],
}


class Pacer:
    """A token bucket shared by threads: `wait()` returns when one more call fits the rate."""

    def __init__(self, burst: int, rate: float, now: Callable[[], float], sleep: Callable[[float], None]):
        self._burst, self._rate, self._now, self._sleep = burst, rate, now, sleep
        self._tokens, self._updated = float(burst), now()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:  # take a token now; a caller that took one on credit sleeps until it is earned
            moment = self._now()
            self._tokens = min(float(self._burst), self._tokens + (moment - self._updated) * self._rate) - 1
            self._updated = moment
            delay = -self._tokens / self._rate
        if delay > 0:
            self._sleep(delay)


def enrich(client: Client, incidents: list[dict[str, Any]], kinds: tuple[str, ...]
           ) -> list[dict[str, Any]]:
    """For each incident, {"alerts": [...], ...} plus "enrichment_errors" for what failed.

    Runs with bounded concurrency, paced below ARM's read limit; every call goes through the
    transport, so a 429 is still honoured per call. A failed enrichment never drops the incident.
    """
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(i, kind) for i in range(len(incidents)) for kind in kinds]
    extras: list[dict[str, Any]] = [{} for _ in incidents]
    pacer = Pacer(ENRICH_BURST, ENRICH_RATE, client.transport.retry.now, client.transport.retry.sleep)

    def run(job: tuple[int, str]) -> tuple[int, str, Any, str | None]:
        index, kind = job
        try:
            pacer.wait()
            return index, kind, ENRICHMENTS[kind](client, safe_id(incidents[index].get("name"))), None
        except SentinelError as exc:
            return index, kind, [], str(exc)
        except Exception as exc:  # any failure of one call: the incident is kept, the error listed
            return index, kind, [], f"Unexpected {type(exc).__name__} while reading the {kind.lower()}."

    with ThreadPoolExecutor(max_workers=ENRICH_CONCURRENCY) as pool:
        for index, kind, items, error in pool.map(run, jobs):
            extras[index][kind.lower()] = items
            if error:
                extras[index].setdefault("enrichment_errors", {})[kind.lower()] = error
    return extras


def fetch_context(incident: dict[str, Any]) -> dict[str, Any]:
    """The official integration's formatted incident for rawJSON (its incoming mapper reads these keys)."""
    props = _obj(incident.get("properties"))
    rules = props.get("relatedAnalyticRuleIds")
    return {
        **incident_context(incident),
        "tags": [label.get("labelName") for label in _objs(props.get("labels"))],
        "owner": _obj(props.get("owner")),
        "relatedAnalyticRuleIds": [str(rule).rsplit("/", 1)[-1] for rule in rules if isinstance(rule, str)]
        if isinstance(rules, list) else [],
        "classification": props.get("classification"),
        "classificationComment": props.get("classificationComment"),
        "classificationReason": props.get("classificationReason"),
    }


def to_platform_incident(incident: dict[str, Any], extra: dict[str, Any], settings: Settings,
                         instance: str) -> dict[str, Any]:
    raw = {**fetch_context(incident), **extra,
           "mirror_direction": MIRROR_DIRECTIONS.get(settings.mirror_direction),
           "mirror_instance": instance}
    return {
        "name": f"[Microsoft Sentinel] #{raw['IncidentNumber']} {raw.get('Title') or ''}".strip(),
        "occurred": raw.get("CreatedTimeUTC"),
        "severity": SEVERITY_LEVEL.get(str(raw.get("Severity")), 0),
        "dbotMirrorId": str(incident.get("name")),
        "rawJSON": json.dumps(raw),
    }


@command("fetch-incidents", workspace=False)
def fetch_incidents_command(run: Run, args: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any],
                                                                      dict[str, Any]]:
    return fetch_incidents(run.client, run.settings, run.last_run, run.now(), run.instance)


def fetch_incidents(client: Client, settings: Settings, last_run: Any, now: datetime,
                    instance: str) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """One fetch run: (platform incidents, next lastRun, stats). Raises on failure; then nothing changes."""
    state = initial_state(last_run, settings, now)
    result = select_incidents(client, settings, state, now)
    extras = (enrich(client, result.incidents, settings.additional_info) if settings.additional_info
              else [{} for _ in result.incidents])
    incidents = [to_platform_incident(i, e, settings, instance) for i, e in zip(result.incidents, extras)]
    next_run = result.state.model_dump()
    stats = {"incidents": len(incidents), "escalated": result.escalated, "new": result.new,
             "cursor": result.state.cursor, "retries": client.transport.retries,
             "enrichment_failures": sum(1 for e in extras if e.get("enrichment_errors")),
             "skipped": len(result.skipped), "skipped_records": result.skipped,
             "last_run_bytes": len(json.dumps(next_run))}
    return incidents, next_run, stats


# endregion

# region mirroring

# endregion

# region auth and test-module


@command("test-module", workspace=False)
def test_module_command(run: Run, args: dict[str, Any]) -> str:
    return test_module(run.client, run.settings, run.now())


def test_module(client: Client, settings: Settings, now: datetime) -> str:
    """Sign in and read one incident; with fetching on, also run a dry fetch (nothing emitted)."""
    client.list_incidents(1)
    if settings.is_fetch:
        dry = settings.model_copy(update={"fetch_limit": 1})
        select_incidents(client, dry, initial_state({}, dry, now), now)
    return "ok"


@command("azure-sentinel-auth-reset", workspace=False)
def auth_reset_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    reset_tokens(run.context)
    return note({}, "Authorization was reset successfully: the cached access tokens were removed and new ones "
                    "will be requested on the next command.")


# endregion

# region main


class Redactor:
    """Masks every known secret (client secret, private key, tokens) in text bound for logs or entries.

    `dynamic` returns secrets that appear during the run (access tokens once they are acquired).
    Anything shaped like a JWT or an `access_token` JSON value is masked too, known or not.
    """

    PATTERNS = (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
                re.compile(r'(?<="access_token":)\s*"[^"]*"'), re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{8,}"))

    def __init__(self, secrets: list[str], dynamic: Callable[[], list[str]] = list):
        self._secrets = [s for s in secrets if s and len(s) >= 4]
        self._dynamic = dynamic

    def __call__(self, text: str) -> str:
        for secret in self._secrets + [s for s in self._dynamic() if s and len(s) >= 4]:
            text = text.replace(secret, "<redacted>")
            for line in secret.splitlines():
                if len(line) >= 16:
                    text = text.replace(line, "<redacted>")
        for pattern in self.PATTERNS:
            text = pattern.sub("<redacted>", text)
        return text


def _cached_tokens(context: dict[str, Any]) -> list[str]:
    tokens = context.get(Credential.CONTEXT_KEY)
    entries = tokens.values() if isinstance(tokens, dict) else []
    return [str(e.get("access_token")) for e in entries if isinstance(e, dict) and e.get("access_token")]


LIBRARY_LOGGERS = ("msal", "urllib3")


class _LogBridge(logging.Handler):
    """Library log records (MSAL, urllib3) as lines of the integration's redacted debug log:
    never on stderr, never with a traceback."""

    bridge = True

    def __init__(self, log: Callable[[str], None]):
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._log(f"{record.name} {record.levelname.lower()}: {_first_line(record.getMessage())}")
        except Exception:  # noqa: BLE001 - logging must never break a command
            pass


def route_library_logs(log: Callable[[str], None]) -> None:
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "bridge", False)]
        logger.addHandler(_LogBridge(log))
        logger.propagate = False


def build_run(params: dict[str, Any], args: dict[str, Any], command: str, context: dict[str, Any],
              log: Callable[[str], None], now: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep) -> Run:
    settings = settings_from_params(params)
    session = new_session(settings)
    retry = RetryPolicy(now=now, sleep=sleep, log=log)
    credential = Credential(settings, session, context, retry=retry, now=now)
    transport = Transport(session, credential, settings.cloud.arm, retry)
    overrides = command not in WORKSPACE_FREE

    def chosen(arg: str, default: str) -> str:
        return (overrides and str(args.get(arg) or "").strip()) or default

    client = Client(transport, chosen("subscription_id", settings.subscription_id),
                    chosen("resource_group_name", settings.resource_group), chosen("workspace_name", settings.workspace))
    return Run(settings=settings, client=client, context=context, now=lambda: datetime.fromtimestamp(now(), timezone.utc))


def _platform_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def main() -> None:
    """The only function that talks to the platform. Nothing escapes it but a failed fetch."""
    command, context, before = "", {}, ""
    redact = Redactor([])
    try:
        command = str(demisto.command() or "")
        params = _platform_dict(demisto.params())
        args = _platform_dict(demisto.args())
        context = _platform_dict(demisto.getIntegrationContext())  # a malformed context is ignored
        before = json.dumps(context, sort_keys=True, default=str)
        redact = Redactor([_secret_of(params.get("credentials")), _secret_of(params.get("creds_certificate")),
                           _secret_of(params.get("private_key"))], dynamic=lambda: _cached_tokens(context))

        def log(message: str) -> None:
            demisto.debug(redact(message))

        route_library_logs(log)
        if command not in COMMANDS:
            raise ConfigError(f"Command '{command}' is not implemented by this integration.")
        run = build_run(params, args, command, context, log)
        run.file_path = demisto.getFilePath
        if command == "fetch-incidents":
            run.last_run, run.instance = demisto.getLastRun(), str(demisto.integrationInstance() or "")
            incidents, next_run, stats = COMMANDS[command](run, args)
            for line in stats.pop("skipped_records"):
                demisto.error(redact(f"fetch-incidents: {line}"))
            demisto.incidents(incidents)
            demisto.setLastRun(next_run)  # only after the incidents were handed over
            demisto.info(f"fetch-incidents: {json.dumps(stats)}")
        else:
            demisto.results(COMMANDS[command](run, args))
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
        expected = isinstance(exc, SentinelError)
        detail = str(exc) if expected else f"Unexpected error {type(exc).__name__}: {exc}"
        if command == "fetch-incidents":  # the platform keeps the old lastRun and retries the window
            demisto.error(redact(f"fetch-incidents failed: {detail}"))
            raise SentinelError(redact(detail)) from None
        demisto.error(redact(f"{command} failed: {detail}"))
        demisto.results(error_entry(redact(f"Failed to execute {command} command. Error: {detail}")))
    finally:
        if before and json.dumps(context, sort_keys=True, default=str) != before:
            try:
                demisto.setIntegrationContext(context)
            except Exception as exc:  # noqa: BLE001
                demisto.error(redact(f"Could not save the integration context: {type(exc).__name__}."))


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()

# endregion

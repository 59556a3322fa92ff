"""Microsoft Sentinel integration for Cortex XSOAR-style SOAR platforms.

A drop-in replacement for the official "Microsoft Sentinel" integration: the same parameter,
command, argument and context names, with exactly-once fetching, throttling-aware retries,
conflict-safe updates, retry-safe comments and safe paging.

Read top to bottom: constants, errors, settings, HTTP (the one retry loop), credentials, transport
(the one pagination loop), client, formatters, arguments, the command registry, the commands by
resource, fetch, mirroring, and main(), the only function that touches `demisto`.
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
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

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
ISO_DURATION = r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"  # PT5H, P1D, P2DT1H30M

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


def _choices(name: str, *values: str) -> Any:
    return Enum(name, {v: v for v in values}, type=str)  # predefined values: a wrong one gets an error listing them


Severity = _choices("Severity", "Informational", "Low", "Medium", "High")
SEVERITY_LEVEL = {"Informational": 0.5, "Low": 1, "Medium": 2, "High": 3}
SEVERITY_ORDER = ["Informational", "Low", "Medium", "High"]
Status = _choices("Status", "New", "Active", "Closed")
Classification = _choices("Classification", "BenignPositive", "FalsePositive", "TruePositive", "Undetermined")
ClassificationReason = _choices("ClassificationReason", "InaccurateData", "IncorrectAlertLogic", "SuspiciousActivity",
                                "SuspiciousButExpected")
# The reasons that fit each classification; the first is the one used when closing without a reason (as the
# official integration does).
REASONS_FOR = {"TruePositive": ("SuspiciousActivity",), "BenignPositive": ("SuspiciousButExpected",),
               "FalsePositive": ("InaccurateData", "IncorrectAlertLogic"), "Undetermined": ()}
DEFAULT_CLASSIFICATION_REASON = {classification: reasons[0] for classification, reasons in REASONS_FOR.items()
                                 if reasons}


@dataclass(frozen=True)
class Cloud:
    name: str
    arm: str  # resource manager endpoint, no trailing slash
    login: str  # Entra ID authority host, no trailing slash
    query: str = ""  # Log Analytics query API, no trailing slash ("" for a Custom cloud without one)


CLOUDS: dict[str, Cloud] = {
    "Worldwide": Cloud("Worldwide", "https://management.azure.com", "https://login.microsoftonline.com",
                       "https://api.loganalytics.io"),
    "US GCC": Cloud("US GCC", "https://management.usgovcloudapi.net", "https://login.microsoftonline.com",
                    "https://api.loganalytics.us"),
    "US GCC-High": Cloud("US GCC-High", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
                         "https://api.loganalytics.us"),
    "DoD": Cloud("DoD", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
                 "https://api.loganalytics.us"),
    "China": Cloud("China", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
                   "https://api.loganalytics.azure.cn"),
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
        except (ValueError, RecursionError):  # not a JSON list after all: the commas decide
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
    workspace_id: str = ""  # the workspace's customer ID for KQL queries ("" = read it from ARM)
    verify: bool = True
    proxy: bool = False
    # fetching
    is_fetch: bool = False
    first_fetch: timedelta = timedelta(days=3)
    min_severity: Severity = Severity.Informational
    statuses: tuple[Status, ...] = ()
    fetch_limit: int = Field(default=50, ge=1, le=1000)
    additional_info: tuple[str, ...] = ()
    odata_filter: str = ""
    escalation_horizon: timedelta = timedelta(days=7)
    look_back: timedelta = timedelta(0)
    # mirroring
    mirror_direction: str = "None"
    close_incident: bool = False  # closed in Sentinel -> close the SOAR incident
    close_ticket: bool = False  # closed in the SOAR -> close the Sentinel incident
    comment_tag: str = "comment"  # entries with this tag become Sentinel comments

    @property
    def scope(self) -> str:
        return f"{self.cloud.arm}/.default"


MAX_AGE_DAYS = 365_000  # 1000 years, the longest age (first fetch, indicator times): now minus it is a time
FETCH_TIME_RE = re.compile(r"^\s*(\d+)\s*(minute|hour|day|week|month|year)s?\s*$", re.I)
FETCH_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
ADDITIONAL_INFO = ("Alerts", "Entities", "Comments", "Relations")


def _parse_fetch_time(text: str) -> timedelta:
    match = FETCH_TIME_RE.match(text or "3 days")
    if not match:
        raise ConfigError(f"First fetch timestamp '{text}' is not of the form '<number> <unit>', "
                          f"for example '3 days' or '12 hours'.")
    window = _age(match)
    if window is None:
        raise ConfigError(f"First fetch timestamp '{text}' goes back more than 1000 years; give a shorter "
                          f"window, for example '30 days'.")
    return window


def _age(match: re.Match[str]) -> timedelta | None:
    """The time a FETCH_TIME_RE match names ('3 days'), or None beyond MAX_AGE_DAYS."""
    days = int(match.group(1)) * FETCH_UNIT_DAYS[match.group(2).lower()]
    return timedelta(days=days) if days <= MAX_AGE_DAYS else None


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
    query_url = str(params.get("log_analytics_url") or "").strip()
    return Cloud("Custom", arm, login, _check_url(query_url, "Log Analytics query API URL") if query_url else "")


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
            workspace_id=str(params.get("workspace_id") or "").strip(),
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
            close_incident=_as_bool(params.get("close_incident")), close_ticket=_as_bool(params.get("close_ticket")),
            comment_tag=str(params.get("comment_tag") or "").strip() or "comment",
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
    """A 3xx answer: never followed, or the token, the secret or a request body would go to its Location."""

    def __init__(self, method: str, url: str, status: int, location: str):
        self.status = status
        self.host = urlsplit(url).netloc
        self.location_host = urlsplit(location).netloc or "an unnamed host"
        super().__init__(f"{self.host} answered {method} with HTTP {status}, a redirect to {self.location_host}")


class TlsSetupError(requests.RequestException):
    """The local TLS setup is unusable (a CA bundle file that is missing or unreadable)."""


class TimeoutSession(requests.Session):
    """The session of every request: with a timeout (MSAL's calls set none), the session's TLS setting (else
    REQUESTS_CA_BUNDLE would re-enable what `insecure` turned off), and RedirectRefused on a 3xx."""

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
    """The one retry loop: MAX_ATTEMPTS per request, waiting Retry-After or a jittered backoff, within one
    time budget shared by every request of the invocation (sign-in included)."""

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
    """The HTTP client MSAL is given: a transient status raises Retryable (the retry loop repeats the sign-in),
    a body that is not a JSON object AuthError (so MSAL never parses or logs it)."""

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
    """`get_token()` for one kind of credential and one resource (ARM, or the query API). The token and its
    expiry (never the secret) are cached in the integration context under a key derived from cloud, tenant,
    client and scope; a malformed entry is ignored."""

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
        _obj(self._context.get(self.CONTEXT_KEY)).pop(self.cache_key, None)

    def _cached(self) -> str | None:
        return _token_entry(_obj(self._context.get(self.CONTEXT_KEY)).get(self.cache_key), self._now())

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
        except (KeyError, TypeError, AttributeError, IndexError):  # MSAL reading an odd document
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
    known = [AAD_HINTS[c] for c in (codes if isinstance(codes, list) else []) if isinstance(c, int) and c in AAD_HINTS]
    hint = known[0] if known else ("check the credentials and the Azure Cloud setting, then run "
                                   "azure-sentinel-auth-reset")
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
    """The one place that sends requests to an API (ARM, or the Log Analytics query API). Every command
    inherits its rules (DESIGN §5): the token goes only to `base`'s scheme, host and port; a link (a server
    nextLink or a next_link argument) must stay on the collection the command reads, after decoding; a 2xx
    body must have the shape the API defines, else one ApiError; retries go through the one RetryPolicy,
    and a 401 refreshes the token once."""

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
        """One logical request, retried by the policy. `pin`: the collection a link must stay on; `items_key`:
        the body is a page with its list there; `allow_empty`: an empty body is fine (default: DELETE only)."""
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE")
        if allow_empty is None:
            allow_empty = method == "DELETE"
        self.check_url(url, pin)
        query = dict(params or {})
        if self.api_version and "api-version" not in dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)):
            query.setdefault("api-version", self.api_version)
        what = f"{method} {_resource_path(urlsplit(url).path)}"
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
        if _origin(parts) != _origin(self.base):
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
              next_link: str | None = None, body_top: str | None = None) -> Iterator[tuple[list[Any], str | None]]:
        """Yield (items, nextLink) over the collection `url`, from its start or from a caller's `next_link`
        (each link checked against `url`). `top()` sizes each page ($top, and the body field `body_top`, e.g.
        queryIndicators' pageSize), so a caller never gets more than it asked for and loses nothing when it
        hands the nextLink on. A repeated link or more than MAX_PAGES pages stop with an error."""
        pin = urlsplit(url).path
        seen: set[str] = set()
        link = next_link
        for _ in range(MAX_PAGES):
            size = top() if top is not None else None
            sized_body = {**(body or {}), body_top: size} if body_top and size is not None else body
            if link is None:
                query = dict(params or {})
                if size is not None:
                    query["$top"] = size
                data = self.request(method, url, params=query, body=sized_body, idempotent=idempotent,
                                    items_key=items_key)
            else:
                data = self.request(method, with_top(link, size) if size is not None else link, body=sized_body,
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

    def collect(self, method: str, url: str, limit: int, sized: bool = True, next_link: str | None = None,
                params: dict[str, Any] | None = None, **kwargs: Any) -> tuple[list[Any], str | None]:
        """Up to `limit` items and the link to continue from (None when done). A page larger than what is left
        (where the API takes no $top, `sized` False, or a server ignored it) is cut and the link is that page's
        own URL with `#skip=N`: passed back as next_link, it continues inside the page, so nothing is skipped."""
        link, skip = _split_skip(next_link)
        current = link or f"{url}?{urlencode(params or {}, quote_via=quote, safe='$/:,')}"  # the page being read
        items: list[Any] = []
        top = (lambda: min(PAGE_MAX, limit - len(items))) if sized else None
        following = None
        for page, following in self.pages(method, url, top=top, next_link=link, params=params, **kwargs):
            page, skipped, skip = page[skip:], skip, 0
            room = limit - len(items)
            if len(page) > room:
                return items + page[:room], f"{current}#skip={skipped + room}"
            items.extend(page)
            if len(items) >= limit:
                break
            current = following or current
        return items[:limit], following


def _origin(parts: SplitResult) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; a malformed port is no origin."""
    try:
        return parts.scheme, parts.hostname, parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return parts.scheme, None, None


def _split_skip(link: str | None) -> tuple[str | None, int]:
    """A next_link and the `#skip=N` continuation inside its page (0 when it has none)."""
    if not link or "#skip=" not in link:
        return link, 0
    base, _, count = link.rpartition("#skip=")
    if not count.isdigit() or not base:
        raise ConfigError("The next_link ends in a malformed '#skip=' part; pass back the link the command returned.")
    return base, int(count)


def with_top(url: str, top: int) -> str:
    """The same URL with $top set to `top` (the other query parameters kept as they are)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "$top"]
    query.append(("$top", str(top)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="$/:'(),")))


def _segments(path: str) -> list[str] | None:
    """A path's segments, decoded and lower-cased (ARM paths are case-insensitive); None when decoding
    reveals dot segments, backslashes, leftover escapes or empty segments."""
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
    except (ValueError, RecursionError):
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
    inner = error
    for _ in range(5):  # the query API nests the useful detail (e.g. a KQL parse error) in `innererror`
        if not isinstance(inner.get("innererror"), dict):
            break
        inner = inner["innererror"]
    if inner is not error and inner.get("message"):
        message += f" ({inner.get('code') or 'detail'}: {_first_line(str(inner['message'])).rstrip('.')})"
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


# The lists whose API takes $top (the spec gives the others only $skipToken, or no options at all).
SIZED_COLLECTIONS = frozenset({"incidents", "comments", "relations", "indicators"})


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

    def arm_url(self, *segments: str) -> str:
        """An ARM URL outside the workspace (subscriptions, resource groups, the workspace itself)."""
        return "/".join([self.transport.base_url, *(quote(s, safe="") for s in segments)])

    # any workspace resource: the one generic path for list, get, put, post and delete
    def collect(self, segments: tuple[str, ...], limit: int, next_link: str | None = None,
                params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` items (whole pages for lists whose API takes no $top) and the nextLink."""
        return self.transport.collect("GET", self.url(*segments), limit, params=params, next_link=next_link,
                                      sized=segments[-1].lower() in SIZED_COLLECTIONS)

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
    *fields, fraction, zone = match.groups()
    try:
        parsed = datetime(*map(int, fields), int((fraction or "0")[:6].ljust(6, "0")), tzinfo=timezone.utc)
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            parsed -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
    except (ValueError, OverflowError):  # the right shape but no calendar time (month 13; in UTC past year 9999)
        return None
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


def _who(value: Any, keys: tuple[str, ...] = ("name", "email", "userPrincipalName", "objectId")) -> Any:
    """A UserInfo or ClientInfo object as one readable name: the first of `keys` it has (None: none)."""
    who = _obj(value)
    return next((who[key] for key in keys if who.get(key)), None)


def incident_context(incident: dict[str, Any]) -> dict[str, Any]:
    """An ARM incident as the official `AzureSentinel.Incident` context object."""
    props = _obj(incident.get("properties"))
    owner = _obj(props.get("owner"))
    extra = _obj(props.get("additionalData"))
    first, last = format_time(props.get("firstActivityTimeUtc")), format_time(props.get("lastActivityTimeUtc"))
    return {
        "ID": incident.get("name"), "IncidentNumber": props.get("incidentNumber"), "Title": props.get("title"),
        "Description": props.get("description"), "Severity": props.get("severity"), "Status": props.get("status"),
        "AssigneeName": owner.get("assignedTo"), "AssigneeEmail": owner.get("email"),
        "AssigneeObjectID": owner.get("objectId"), "AssigneeUPN": owner.get("userPrincipalName"),
        "Label": [{"Name": label.get("labelName"), "Type": label.get("labelType")}
                  for label in _objs(props.get("labels"))],
        "FirstActivityTimeUTC": first, "LastActivityTimeUTC": last,
        "LastModifiedTimeUTC": format_time(props.get("lastModifiedTimeUtc")),
        "CreatedTimeUTC": format_time(props.get("createdTimeUtc")),
        "AlertsCount": extra.get("alertsCount"),
        # The official manifest documents *Count, its code emits *sCount: emit both.
        "BookmarksCount": extra.get("bookmarksCount"), "BookmarkCount": extra.get("bookmarksCount"),
        "CommentsCount": extra.get("commentsCount"), "CommentCount": extra.get("commentsCount"),
        "AlertProductNames": extra.get("alertProductNames"), "Tactics": extra.get("tactics"),
        "Techniques": extra.get("techniques"),
        "ProviderName": props.get("providerName"), "ProviderIncidentId": props.get("providerIncidentId"),
        "ProviderIncidentUrl": extra.get("providerIncidentUrl"),
        "FirstActivityTimeGenerated": first, "LastActivityTimeGenerated": last,
        "Etag": incident.get("etag"), "IncidentUrl": props.get("incidentUrl"), "Deleted": False,
    }


def comment_context(comment: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(comment.get("properties"))
    return {"ID": comment.get("name"), "IncidentID": incident_id, "Message": props.get("message"),
            "AuthorName": _who(props.get("author"), ("assignedTo", "name")),
            "AuthorEmail": _obj(props.get("author")).get("email"),
            "CreatedTimeUTC": format_time(props.get("createdTimeUtc"))}


def relation_context(relation: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(relation.get("properties"))
    return {"ID": props.get("relatedResourceName"), "Kind": props.get("relatedResourceKind"),
            "IncidentID": incident_id}


def entity_context(entity: dict[str, Any], incident_id: str) -> dict[str, Any]:
    return {"ID": entity.get("name"), "IncidentId": incident_id, "Kind": entity.get("kind"),
            "Properties": entity.get("properties")}


ALERT_FIELDS = {"DisplayName": "alertDisplayName", "Description": "description", "ConfidenceLevel": "confidenceLevel",
                "Severity": "severity", "VendorName": "vendorName", "ProductName": "productName",
                "ProductComponentName": "productComponentName"}  # context key -> alert property


def alert_context(alert: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(alert.get("properties"))
    techniques = _obj(props.get("additionalData")).get("MitreTechniques")
    return {"ID": props.get("systemAlertId") or alert.get("name"), "IncidentId": incident_id, "Kind": alert.get("kind"),
            "Tactic": props.get("tactics"), "Techniques": props.get("techniques") or techniques,
            "Technique": techniques, **{key: props.get(name) for key, name in ALERT_FIELDS.items()}}


INCIDENT_HEADERS = ["ID", "IncidentNumber", "Title", "Description", "Severity", "Status", "AssigneeName",
                    "AssigneeEmail", "Label", "FirstActivityTimeUTC", "LastActivityTimeUTC",
                    "LastModifiedTimeUTC", "CreatedTimeUTC", "AlertsCount", "BookmarksCount", "CommentsCount",
                    "AlertProductNames", "Tactics", "Etag"]
COMMENT_HEADERS = ["ID", "IncidentID", "Message", "AuthorName", "AuthorEmail", "CreatedTimeUTC"]
ALERT_HEADERS = ["ID", "Kind", "Tactic", *ALERT_FIELDS]


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
    """A titled markdown table (columns: `headers`, else every row's keys in the order first seen); columns
    with no value in any row are left out (removeNull)."""
    lines = [f"### {title}"]
    if not rows:
        return lines[0] + "\n**No entries.**\n"
    headers = headers or list(dict.fromkeys(key for row in rows for key in row))
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


def _limit(maximum: int) -> Callable[[Any], int]:
    """A check of a `limit` argument: a whole number from 1 to `maximum` (absent: 50)."""
    def check(value: Any) -> int:
        text = str(50 if value is None else value).strip()
        if not text.isdigit() or not 1 <= int(text) <= maximum:
            raise ValueError(f"must be a whole number from 1 to {maximum}")
        return int(text)
    return check


LIST_LIMIT_MAX = 1000
Limit = Annotated[int, BeforeValidator(_limit(LIST_LIMIT_MAX))]
SafeId = Annotated[str, AfterValidator(lambda v: safe_id(v))]
CommentId = Annotated[str, AfterValidator(lambda v: safe_id(v, "comment ID"))]
TextList = Annotated[list[str], BeforeValidator(_as_list)]  # argToList: a list, JSON list or "a,b"
Flag = Annotated[bool, BeforeValidator(_as_bool)]


def json_arg(value: Any, shape: type = dict, lenient: bool = False) -> Any:
    """A JSON argument, as text or as the value itself: an object (shape=dict) or a list of objects (shape=list;
    one object is a list of one). `lenient`, for the platform's own arguments: nothing is an empty one, and
    the shape is left to the args model (update-remote-system skips what is not an entry)."""
    what = "object" if shape is dict else "list of objects"
    try:
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise ValueError(f"it is not valid JSON ({exc}); write a JSON {what}") from None
    except RecursionError:
        raise ValueError(f"it is nested too deeply to read; write a flatter JSON {what}") from None
    if lenient and value is None:
        return shape()
    value = [value] if shape is list and isinstance(value, dict) else value
    if not lenient and (not isinstance(value, shape) or shape is list and not all(isinstance(v, dict) for v in value)):
        raise ValueError("it must be a JSON object" if shape is dict else "it must be a JSON list of objects")
    return value


JsonObject = Annotated[dict[str, Any], BeforeValidator(json_arg)]


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


class ListArgs(Args):
    limit: Limit = 50
    next_link: str | None = None


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
    `apply(current)` (None: not there yet, with `create`) must put only the user's changes over the current
    values, so that re-applying never undoes a concurrent change to another field."""
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


def merge_properties(current: dict[str, Any] | None, wanted: dict[str, Any], only: frozenset[str] | None = None,
                     drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A PUT body: the current properties (those in `only`, none in `drop`) with the values the user gave (not
    None or []) over them, so that re-applying it after a 409 keeps concurrent changes to other fields."""
    props = {k: v for k, v in _obj((current or {}).get("properties")).items()
             if (only is None or k in only) and k not in drop}
    props.update({k: v for k, v in wanted.items() if v not in (None, [])})
    return {"properties": props}


def get_or_list(client: Client, segments: tuple[str, ...], item_id: str | None, a: ListArgs
                ) -> tuple[list[dict[str, Any]], str | None]:
    """The one resource whose ID is given, else up to `limit` of the collection (following pages)."""
    if item_id:
        return [client.get(*segments, item_id)], None
    return client.collect(segments, a.limit, a.next_link)


MORE_REMAIN = "More remain: pass next_link to continue."


def list_note(title: str, items: Any, rows: list[dict[str, Any]], key: str, headers: list[str] | None = None,
              next_link: str | None = None, context: Any = None, more: str = "\n" + MORE_REMAIN) -> dict[str, Any]:
    """The entry of a list command: raw items, a table of `rows` (then `more` when more remain), the context
    under `key` (the rows unless given), and NextLink."""
    return note(items, markdown_table(f"{title} ({len(rows)} results)", rows, headers) + (more if next_link else ""),
                {key: rows if context is None else context, **next_link_context(next_link)})


Transform = Callable[[dict[str, Any]], dict[str, Any]]


def show_or_list(run: Run, a: ListArgs, segments: tuple[str, ...], item_id: str | None, title: str, to_row: Transform,
                 key: str, headers: list[str], table: Transform = lambda row: row, clean: Transform = lambda item: item
                 ) -> dict[str, Any]:
    """One resource (when its ID is given) or a page of the collection; `clean` shapes each API item, `table`
    each row shown (the context holds the rows themselves)."""
    found, next_link = get_or_list(run.client, segments, item_id, a)
    items = [clean(item) for item in found]
    rows = [to_row(item) for item in items]
    if item_id:
        return note(items[0], markdown_table(f"{title}: {item_id}", [table(rows[0])], headers), {key: rows[0]})
    return list_note(title, items, [table(row) for row in rows], key, headers, next_link, context=rows)


def item_note(raw: Any, title: str, row: dict[str, Any], key: str, headers: list[str] | None = None) -> dict[str, Any]:
    """The entry of one resource: its raw JSON, a one-row table and the row as its context."""
    return note(raw, markdown_table(title, [row], headers), {key: row})


def plain_delete(name: str, model: type[Args], what: str, *path: str, key: str | None = None,
                 id_fields: tuple[str, ...] = ("ID",)) -> None:
    """Register `name`: delete one resource and say whether it existed (ARM answers 204 when not). `what` and
    the `path` segments name the arguments in braces ("{bookmark_id}"); when it existed, the context under
    `key` (if any) marks the deleted ID, given as each of `id_fields`, Deleted."""
    @command(name)
    def delete(run: Run, args: dict[str, Any]) -> dict[str, Any]:
        a = parse_args(model, args).model_dump()
        segments, subject = tuple(segment.format(**a) for segment in path), what.format(**a)
        if not run.client.delete(*segments):
            return note({}, f"{subject} does not exist.")
        return note({}, f"{subject} was deleted successfully.",
                    {key: {**dict.fromkeys(id_fields, segments[-1]), "Deleted": True}} if key else None)


# endregion

# region incidents


def incident_note(incident: dict[str, Any], title: str) -> dict[str, Any]:
    row = incident_context(incident)
    return item_note(incident, title.format(id=row["ID"]), row, INCIDENT_KEY, INCIDENT_HEADERS)


INCIDENT_KEY = "AzureSentinel.Incident(val.ID && val.ID == obj.ID)"


@command("azure-sentinel-get-incident-by-id")
def get_incident_by_id_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IncidentArgs, args)
    return incident_note(run.client.get_incident(a.incident_id), "Incident {id} details")


class ListIncidentsArgs(ListArgs):
    filter: str | None = None


@command("azure-sentinel-list-incidents")
def list_incidents_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListIncidentsArgs, args)
    incidents, next_link = run.client.list_incidents(a.limit, a.filter, "properties/createdTimeUtc asc", a.next_link)
    return list_note("Incidents List", incidents, [incident_context(i) for i in incidents], INCIDENT_KEY,
                     INCIDENT_HEADERS, next_link, more=" " + MORE_REMAIN)


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
    """The fields the user set, as a function that applies them over the current properties."""
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
            props["labels"] = with_user_labels(props.get("labels"), a.labels)
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


def with_user_labels(labels: Any, names: list[str]) -> list[dict[str, Any]]:
    """The label objects of `labels`, then a User label for each of `names` not among them (each once)."""
    existing = _objs(labels)
    have = {label["labelName"] for label in existing if isinstance(label.get("labelName"), str)}
    return existing + [{"labelName": name, "labelType": "User"} for name in dict.fromkeys(names) if name not in have]


def update_incident(client: Client, incident_id: str, apply: Callable[[dict[str, Any]], dict[str, Any]]
                    ) -> dict[str, Any]:
    return write_with_etag(client, ("incidents", incident_id),
                           lambda current: {"properties": apply(_obj((current or {}).get("properties")))},
                           create=False)


@command("azure-sentinel-update-incident")
def update_incident_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(UpdateIncidentArgs, args)
    return incident_note(update_incident(run.client, a.incident_id, incident_changes(a)),
                         "Updated incident {id} details")


class CreateIncidentArgs(ArgsModel):
    title: str
    severity: Severity | None = None
    status: Status
    description: str | None = None
    labels: TextList = Field(default_factory=list)


@command("azure-sentinel-create-incident", workspace=False)
def create_incident_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateIncidentArgs, args)
    props: dict[str, Any] = {"title": a.title, "severity": a.severity or Severity.Informational.value,
                             "status": a.status}
    if a.description:
        props["description"] = a.description
    if a.labels:
        props["labels"] = with_user_labels([], a.labels)
    # The ID is chosen once per invocation, so a retried PUT updates the same incident.
    return incident_note(run.client.put("incidents", run.new_id(), body={"properties": props}),
                         "Created incident {id} details")


@command("azure-sentinel-delete-incident")
def delete_incident_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IncidentArgs, args)
    run.client.delete("incidents", a.incident_id)
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
    a = parse_args(ListCommentsArgs, args)
    comments, next_link = run.client.list_comments(a.incident_id, a.limit, a.next_link)
    rows = [comment_context(c, a.incident_id) for c in comments]
    return list_note(f"Incident {a.incident_id} Comments", comments, rows, _comment_key(a.incident_id),
                     COMMENT_HEADERS, next_link, more="")


class AddCommentArgs(IncidentArgs):
    message: str
    comment_id: CommentId | None = None


@command("azure-sentinel-incident-add-comment")
def incident_add_comment_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(AddCommentArgs, args)
    # One ID per invocation (or the caller's): a PUT retried after a lost answer overwrites the same comment.
    comment = run.client.put_comment(a.incident_id, a.comment_id or run.new_id(), a.message)
    return item_note(comment, f"Incident {a.incident_id} new comment details", comment_context(comment, a.incident_id),
                     _comment_key(a.incident_id), COMMENT_HEADERS)


class DeleteCommentArgs(IncidentArgs):
    comment_id: CommentId


@command("azure-sentinel-incident-delete-comment")
def incident_delete_comment_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(DeleteCommentArgs, args)
    if not run.client.delete("incidents", a.incident_id, "comments", a.comment_id):
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
    a = parse_args(ListRelationsArgs, args)
    clauses = [f"({a.filter})"] if a.filter else []
    if a.entity_kinds:
        clauses.append(f"search.in(properties/relatedResourceKind, {odata_quote(','.join(a.entity_kinds))}, ',')")
    relations, next_link = run.client.list_relations(a.incident_id, a.limit, " and ".join(clauses) or None,
                                                     a.next_link)
    key = f"AzureSentinel.IncidentRelatedResource(val.ID === obj.ID && val.IncidentID == '{a.incident_id}')"
    return list_note(f"Incident {a.incident_id} Relations", relations,
                     [relation_context(r, a.incident_id) for r in relations], key, ["ID", "Kind", "IncidentID"],
                     next_link, more="")


@command("azure-sentinel-list-incident-entities")
def list_incident_entities_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IncidentArgs, args)
    data = run.client.list_entities(a.incident_id)
    rows = [entity_context(e, a.incident_id) for e in data["entities"]]
    return list_note(f"Incident {a.incident_id} Entities", data, rows,
                     "AzureSentinel.IncidentEntity(val.ID === obj.ID && val.IncidentId === obj.IncidentId)",
                     ["ID", "Kind", "Properties"])


@command("azure-sentinel-list-incident-alerts")
def list_incident_alerts_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IncidentArgs, args)
    alerts = run.client.list_alerts(a.incident_id)
    rows = [alert_context(alert, a.incident_id) for alert in alerts]
    return list_note(f"Incident {a.incident_id} Alerts", {"value": alerts}, rows,
                     "AzureSentinel.IncidentAlert(val.ID === obj.ID && val.IncidentId === obj.IncidentId)",
                     ALERT_HEADERS)


RELATION_NAME = re.compile(r"^[a-zA-Z0-9-]{3,63}$")  # the API's rule for relation names
RelationName = Annotated[str, Field(pattern=RELATION_NAME.pattern)]


def arm_id(client: Client, *segments: str) -> str:
    """The ARM resource ID of a workspace resource, as ARM writes it (a path, not a URL)."""
    return unquote(client.url(*segments)[len(client.transport.base_url):])


def workspace_resource(client: Client, value: str) -> str:
    """`value` when it is the full ARM ID of a bookmark or an alert (an entity) of this workspace."""
    prefix, value = arm_id(client), value.strip()
    match = re.fullmatch(r"(bookmarks|entities)/([^/\\?#%\x00-\x1f\x7f]+)", value[len(prefix) + 1:], re.I)
    if not value.lower().startswith(prefix.lower() + "/") or not match or match.group(2) in (".", ".."):
        raise ConfigError(f"Argument 'related_resource_id' must be the full resource ID of a bookmark or alert in this "
                          f"workspace, such as {prefix}/bookmarks/<bookmark ID> (.../entities/<alert ID> for an "
                          f"alert); got {value[:80]!r}.")
    return value


def put_relation(client: Client, incident_id: str, name: str, resource_id: str) -> dict[str, Any]:
    """Create or update one relation of an incident (with the relation's etag when it exists)."""
    return write_with_etag(client, ("incidents", incident_id, "relations", name),
                           lambda current: {"properties": {"relatedResourceId": resource_id}})


class CreateRelationArgs(IncidentArgs):
    relation_name: RelationName | None = None
    related_resource_id: str


@command("azure-sentinel-create-incident-relation")
def create_incident_relation_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateRelationArgs, args)
    resource_id = workspace_resource(run.client, a.related_resource_id)
    relation = put_relation(run.client, a.incident_id, a.relation_name or run.new_id(), resource_id)
    row = {"RelationName": relation.get("name"), **relation_context(relation, a.incident_id)}
    key = "AzureSentinel.IncidentRelatedResource(val.ID === obj.ID && val.IncidentID === obj.IncidentID)"
    return item_note(relation, f"Incident {a.incident_id} new relation", row, key)


class RelationArgs(IncidentArgs):
    relation_name: RelationName


plain_delete("azure-sentinel-delete-incident-relation", RelationArgs, "Relation {relation_name} of incident "
             "{incident_id}", "incidents", "{incident_id}", "relations", "{relation_name}")


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
            "Updated": format_time(props.get("updated")), "CreatedBy": _who(props.get("createdBy"), ("name",)),
            "UpdatedBy": _who(props.get("updatedBy"), ("name",)), "Alias": props.get("watchlistAlias"),
            "Label": props.get("labels") or [], "ItemsSearchKey": props.get("itemsSearchKey")}


def watchlist_item_context(item: dict[str, Any], alias: str) -> dict[str, Any]:
    props = _obj(item.get("properties"))
    return {"WatchlistAlias": alias, "ID": props.get("watchlistItemId") or item.get("name"), "Name": item.get("name"),
            "Created": format_time(props.get("created")), "Updated": format_time(props.get("updated")),
            "CreatedBy": _who(props.get("createdBy"), ("name",)), "UpdatedBy": _who(props.get("updatedBy"), ("name",)),
            "ItemsKeyValue": _obj(props.get("itemsKeyValue"))}


class ListWatchlistsArgs(ListArgs):
    watchlist_alias: SafeId | None = None


@command("azure-sentinel-list-watchlists")
def list_watchlists_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListWatchlistsArgs, args)
    items, next_link = get_or_list(run.client, ("watchlists",), a.watchlist_alias, a)
    return list_note("Watchlists", items, [watchlist_context(w) for w in items], WATCHLIST_KEY, WATCHLIST_HEADERS,
                     next_link)


class WatchlistArgs(Args):
    watchlist_alias: SafeId


plain_delete("azure-sentinel-delete-watchlist", WatchlistArgs, "Watchlist {watchlist_alias}", "watchlists",
             "{watchlist_alias}")


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
              "source": name, "sourceType": "Local", "itemsSearchKey": a.items_search_key,
              "contentType": a.content_type, "numberOfLinesToSkip": a.lines_to_skip, "rawContent": content,
              "labels": a.labels, "description": a.description}
    watchlist = write_with_etag(run.client, ("watchlists", a.watchlist_alias),
                                lambda current: merge_properties(current, wanted))
    return item_note(watchlist, f"Watchlist {a.watchlist_alias} was created or updated", watchlist_context(watchlist),
                     WATCHLIST_KEY, WATCHLIST_HEADERS)


class ListWatchlistItemsArgs(ListArgs, WatchlistArgs):
    watchlist_item_id: SafeId | None = None


@command("azure-sentinel-list-watchlist-items")
def list_watchlist_items_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListWatchlistItemsArgs, args)
    segments = ("watchlists", a.watchlist_alias, "watchlistItems")
    items, next_link = get_or_list(run.client, segments, a.watchlist_item_id, a)
    rows = [watchlist_item_context(i, a.watchlist_alias) for i in items]
    return list_note(f"Watchlist {a.watchlist_alias} items", items, rows, WATCHLIST_ITEM_KEY,
                     ["ID", "ItemsKeyValue", "Created", "Updated", "CreatedBy", "UpdatedBy"], next_link)


class WatchlistItemArgs(WatchlistArgs):
    watchlist_item_id: SafeId


plain_delete("azure-sentinel-delete-watchlist-item", WatchlistItemArgs, "Watchlist item {watchlist_item_id}",
             "watchlists", "{watchlist_alias}", "watchlistItems", "{watchlist_item_id}")


class CreateWatchlistItemArgs(WatchlistArgs):
    watchlist_item_id: SafeId | None = None
    item_key_value: JsonObject


@command("azure-sentinel-create-update-watchlist-item")
def create_update_watchlist_item_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateWatchlistItemArgs, args)
    item_id = a.watchlist_item_id or run.new_id()
    item = write_with_etag(run.client, ("watchlists", a.watchlist_alias, "watchlistItems", item_id),
                           lambda current: merge_properties(current, {"itemsKeyValue": a.item_key_value}))
    return item_note(item, f"Watchlist {a.watchlist_alias} item {item_id} was created or updated",
                     watchlist_item_context(item, a.watchlist_alias), WATCHLIST_ITEM_KEY,
                     ["ID", "ItemsKeyValue", "Created", "Updated"])


# endregion

# region threat intelligence

TI = ("threatIntelligence", "main")
INDICATOR_KEY = "AzureSentinel.ThreatIndicator(val.ID && val.ID == obj.ID)"
INDICATOR_HEADERS = ["Name", "DisplayName", "Values", "Types", "Source", "Confidence", "Tags", "ValidUntil"]
# indicator_type argument -> the STIX pattern type Sentinel stores (and queryIndicators filters on)
PATTERN_TYPES = {"ipv4": "ipv4-addr", "ipv6": "ipv6-addr", "file": "file", "url": "url", "domain": "domain-name"}
HASH_LENGTHS = {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}  # hexadecimal digits
DEFAULT_KILL_CHAIN = "lockheed-martin-cyber-kill-chain"  # for phases given without "<chain>:"
DERIVED_INDICATOR_PROPERTIES = frozenset({"parsedPattern", "lastUpdatedTimeUtc", "friendlyName"})  # not sent back
# context field -> indicator property (the official names; times are formatted)
INDICATOR_FIELDS = {"Confidence": "confidence", "CreatedByRef": "createdByRef", "ExternalID": "externalId",
                    "ExternalId": "externalId", "Revoked": "revoked", "Source": "source",
                    "Tags": "threatIntelligenceTags", "DisplayName": "displayName", "Description": "description",
                    "Types": "threatTypes", "ThreatTypes": "threatTypes", "Pattern": "pattern",
                    "PatternType": "patternType"}
INDICATOR_TIMES = {"Created": "created", "LastUpdatedTimeUtc": "lastUpdatedTimeUtc", "ValidFrom": "validFrom",
                   "ValidUntil": "validUntil"}
IndicatorType = _choices("IndicatorType", *PATTERN_TYPES)
ThreatType = _choices("ThreatType", "anomalous-activity", "attribution", "anonymization", "benign",
                      "malicious-activity", "compromised", "unknown")
HashType = _choices("HashType", *HASH_LENGTHS)


def _ti_time(value: Any) -> Any:
    """An ISO 8601 date or date-time (UTC unless it says otherwise), or an age such as '7 days' (ago)."""
    text = str(value).strip()
    match = FETCH_TIME_RE.match(re.sub(r"(?i)\s+ago$", "", text))
    if match:
        age = _age(match)
        if age is None:
            raise ValueError("an age must be at most 1000 years")
        return age
    try:
        moment = datetime.fromisoformat(text)
        return iso_z(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 date or time (2026-01-31, 2026-01-31T08:00:00Z) or an age such "
                         "as '7 days'") from None


TiTime = Annotated[Any, BeforeValidator(_ti_time)]  # resolved against the clock by _at
Confidence = Annotated[int, Field(ge=0, le=100)]
ThreatTypes = Annotated[list[ThreatType], BeforeValidator(_as_list)]


def _at(run: Run, when: Any) -> str | None:
    return iso_z(run.now() - when) if isinstance(when, timedelta) else when


def indicator_context(indicator: dict[str, Any]) -> dict[str, Any]:
    """An ARM threat intelligence indicator as the official `AzureSentinel.ThreatIndicator` context."""
    props = _obj(indicator.get("properties"))
    parsed = _objs(props.get("parsedPattern"))
    literals = re.findall(r"=\s*'((?:[^'\\]|\\.)*)'", str(props.get("pattern") or ""))  # when nothing is parsed
    return {
        "ID": indicator.get("id"), "Name": indicator.get("name"), "ETag": indicator.get("etag"),
        "Type": indicator.get("type"), "Kind": indicator.get("kind"),
        **{name: props.get(prop) for name, prop in INDICATOR_FIELDS.items()},
        **{name: format_time(props.get(prop)) for name, prop in INDICATOR_TIMES.items()},
        "KillChainPhases": [{"KillChainName": p.get("killChainName"), "PhaseName": p.get("phaseName")}
                            for p in _objs(props.get("killChainPhases"))],
        "ParsedPattern": [{"PatternTypeKey": p.get("patternTypeKey"), "PatternTypeValues": [
            {"Value": v.get("value"), "ValueType": v.get("valueType")} for v in _objs(p.get("patternTypeValues"))]}
            for p in parsed],
        "Values": [v.get("value") for p in parsed for v in _objs(p.get("patternTypeValues"))]
        or [re.sub(r"\\(.)", r"\1", v) for v in literals],
        "Deleted": False,
    }


def indicator_note(indicator: dict[str, Any], title: str) -> dict[str, Any]:
    row = indicator_context(indicator)
    return item_note(indicator, title.format(name=row["Name"]), row, INDICATOR_KEY, INDICATOR_HEADERS)


class IndicatorListArgs(ListArgs):
    indicator_name: SafeId | None = None


@command("azure-sentinel-threat-indicator-list")
def threat_indicator_list_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IndicatorListArgs, args)
    items, next_link = get_or_list(run.client, (*TI, "indicators"), a.indicator_name, a)
    if a.indicator_name:
        return indicator_note(items[0], "Threat Indicator {name}")
    return list_note("Threat Indicators", items, [indicator_context(i) for i in items], INDICATOR_KEY,
                     INDICATOR_HEADERS, next_link)


class IndicatorQueryArgs(ListArgs):
    min_confidence: Confidence | None = None
    max_confidence: Confidence | None = None
    min_valid_until: TiTime | None = None
    max_valid_until: TiTime | None = None
    include_disabled: Flag = False
    sources: TextList = Field(default_factory=list)
    indicator_types: Annotated[list[IndicatorType], BeforeValidator(_as_list)] = Field(default_factory=list)
    threat_types: ThreatTypes = Field(default_factory=list)
    keywords: TextList = Field(default_factory=list)


@command("azure-sentinel-threat-indicator-query")
def threat_indicator_query_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IndicatorQueryArgs, args)
    if None not in (a.min_confidence, a.max_confidence) and a.min_confidence > a.max_confidence:
        raise ConfigError("Argument 'min_confidence' is greater than 'max_confidence'; swap or widen them.")
    criteria = {key: value for key, value in {
        "minConfidence": a.min_confidence, "maxConfidence": a.max_confidence,
        "minValidUntil": _at(run, a.min_valid_until), "maxValidUntil": _at(run, a.max_valid_until),
        "includeDisabled": a.include_disabled, "sources": a.sources, "keywords": a.keywords,
        "patternTypes": [PATTERN_TYPES[t] for t in a.indicator_types], "threatTypes": a.threat_types,
    }.items() if value not in (None, [])}
    # Every page POSTs the same criteria, sized by pageSize (kept equal to $top); links stay on queryIndicators.
    items, next_link = run.client.transport.collect("POST", run.client.url(*TI, "queryIndicators"), a.limit,
                                                    body=criteria, body_top="pageSize", idempotent=True,
                                                    next_link=a.next_link)
    return list_note("Threat Indicators", items, [indicator_context(i) for i in items], INDICATOR_KEY,
                     INDICATOR_HEADERS, next_link)


class IndicatorArgs(Args):  # the indicator fields of create and update (None: not given)
    value: str
    indicator_type: IndicatorType
    display_name: str | None = None
    description: str | None = None
    hash_type: HashType | None = None
    confidence: Confidence | None = None
    threat_types: ThreatTypes = Field(default_factory=list)
    kill_chains: TextList = Field(default_factory=list)
    tags: TextList = Field(default_factory=list)
    valid_from: TiTime | None = None
    valid_until: TiTime | None = None
    created_by: str | None = None
    revoked: Flag | None = None


def indicator_pattern(kind: str, value: str, hash_type: str | None) -> str:
    """A STIX pattern for one value; the value is a quoted, escaped literal, so it cannot leave it."""
    if not value or re.search(r"[\x00-\x1f\x7f]", value):
        raise ConfigError("Argument 'value' is empty or has control characters; give the indicator's value.")
    literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind == "file":
        if not hash_type:
            raise ConfigError("Argument 'hash_type' is required when indicator_type is file (MD5, SHA-1, SHA-256 "
                              "or SHA-512).")
        if not re.fullmatch(f"[0-9A-Fa-f]{{{HASH_LENGTHS[hash_type]}}}", value):
            raise ConfigError(f"Argument 'value' is not a {hash_type} hash: give {HASH_LENGTHS[hash_type]} "
                              f"hexadecimal digits.")
        return f"[file:hashes.'{hash_type}' = {literal}]"
    try:
        if kind in ("ipv4", "ipv6"):
            (ipaddress.IPv4Network if kind == "ipv4" else ipaddress.IPv6Network)(value, strict=False)
    except ValueError:
        raise ConfigError(f"Argument 'value' is not an {kind.upper()} address or network: {value[:80]!r}.") from None
    return f"[{PATTERN_TYPES[kind]}:value = {literal}]"


def indicator_changes(run: Run, a: IndicatorArgs) -> dict[str, Any]:
    """The properties the user set (and only those), checked; kill chain phases are '<chain>:<phase>' or a
    phase of the default (Lockheed Martin) kill chain."""
    phases = [(chain.strip(), phase.strip()) for chain, _, phase in (k.rpartition(":") for k in a.kill_chains)]
    changes = {
        "displayName": a.display_name, "description": a.description, "confidence": a.confidence,
        "threatTypes": a.threat_types or None, "threatIntelligenceTags": a.tags or None,
        "killChainPhases": [{"killChainName": chain or DEFAULT_KILL_CHAIN, "phaseName": phase}
                            for chain, phase in phases if phase] or None,
        "validFrom": _at(run, a.valid_from), "validUntil": _at(run, a.valid_until), "createdByRef": a.created_by,
        "revoked": a.revoked, "patternType": PATTERN_TYPES[a.indicator_type],
        "pattern": indicator_pattern(a.indicator_type, a.value.strip(), a.hash_type),
    }
    if changes["validFrom"] and changes["validUntil"] and changes["validUntil"] <= changes["validFrom"]:
        raise ConfigError("Argument 'valid_until' is not after 'valid_from'; give a later valid_until.")
    return {k: v for k, v in changes.items() if v is not None}


class CreateIndicatorArgs(IndicatorArgs):
    display_name: str
    threat_types: Annotated[ThreatTypes, Field(min_length=1)]
    revoked: Flag = False


@command("azure-sentinel-threat-indicator-create")
def threat_indicator_create_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateIndicatorArgs, args)
    props = {"source": "Microsoft Sentinel", "validFrom": iso_z(run.now()), **indicator_changes(run, a)}
    # Not idempotent (each call makes a new indicator): the transport retries it only on 429.
    created = run.client.post(*TI, "createIndicator", body={"kind": "indicator", "properties": props})
    return indicator_note(created, "New threat indicator {name}")


class UpdateIndicatorArgs(IndicatorArgs):
    indicator_name: SafeId


@command("azure-sentinel-threat-indicator-update")
def threat_indicator_update_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(UpdateIndicatorArgs, args)
    changes = indicator_changes(run, a)
    updated = write_with_etag(run.client, (*TI, "indicators", a.indicator_name), lambda current: {
        "kind": "indicator", **merge_properties(current, changes, drop=DERIVED_INDICATOR_PROPERTIES)}, create=False)
    return indicator_note(updated, "Updated threat indicator {name}")


class DeleteIndicatorsArgs(Args):
    indicator_names: Annotated[list[SafeId], BeforeValidator(_as_list), Field(min_length=1)]


@command("azure-sentinel-threat-indicator-delete")
def threat_indicator_delete_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(DeleteIndicatorsArgs, args)
    rows: list[dict[str, Any]] = []
    for name in dict.fromkeys(a.indicator_names):
        try:
            existed = run.client.delete(*TI, "indicators", name)
        except SentinelError as exc:
            if not rows:
                raise
            raise ApiError(f"Deleted {', '.join(r['Name'] for r in rows)}, then: {exc}") from None
        rows.append({"Name": name, "Result": "deleted" if existed else "did not exist"})
    return note({}, markdown_table("Threat indicators deleted", rows),
                {"AzureSentinel.ThreatIndicator(val.Name && val.Name == obj.Name)":
                 [{"Name": r["Name"], "Deleted": True} for r in rows]})


class IndicatorTagsArgs(Args):
    indicator_name: SafeId
    tags: Annotated[TextList, Field(min_length=1)]


def _retag(run: Run, args: dict[str, Any], action: str, body: Callable[[list[str]], dict[str, Any]]) -> dict:
    """POST appendTags/replaceTags (repeating either leaves the same tags: safe to retry), then read back."""
    a = parse_args(IndicatorTagsArgs, args)
    path = (*TI, "indicators", a.indicator_name)
    run.client.post(*path, action, body=body(a.tags), idempotent=True, allow_empty=True)
    return indicator_note(run.client.get(*path), "Threat indicator {name} tags")


@command("azure-sentinel-threat-indicator-tags-append")
def threat_indicator_tags_append_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    return _retag(run, args, "appendTags", lambda tags: {"threatIntelligenceTags": tags})


@command("azure-sentinel-threat-indicator-tags-replace")
def threat_indicator_tags_replace_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    return _retag(run, args, "replaceTags",
                  lambda tags: {"kind": "indicator", "properties": {"threatIntelligenceTags": tags}})


METRIC_GROUPS = {"threatTypeMetrics": "ThreatType", "patternTypeMetrics": "PatternType", "sourceMetrics": "Source"}


@command("azure-sentinel-threat-indicator-metrics")
def threat_indicator_metrics_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    parse_args(Args, args)
    data = run.client.get(*TI, "metrics")
    rows = [{"Type": group, "Name": m.get("metricName"), "Count": m.get("metricValue"),
             "LastUpdatedTimeUtc": format_time(_obj(item.get("properties")).get("lastUpdatedTimeUtc"))}
            for item in _objs(data.get("value")) for key, group in METRIC_GROUPS.items()
            for m in _objs(_obj(item.get("properties")).get(key))]
    return note(data, markdown_table("Threat indicator counts", rows, ["Type", "Name", "Count"]),
                {"AzureSentinel.ThreatIndicatorMetric(val.Type == obj.Type && val.Name == obj.Name)": rows})


# endregion

# region analytics rules and templates


def _words(value: str, sep: str = "") -> str:
    return sep.join(word.capitalize() for word in value.split("_"))  # greater_than -> GreaterThan


def _duration(value: str) -> str:
    text = value.strip().upper()
    if not re.fullmatch(ISO_DURATION, text):
        raise ValueError(f"{value!r} is not an ISO 8601 duration; write e.g. PT5H (5 hours), PT30M or P1D (1 day)")
    return text


def rule_row(rule: dict[str, Any]) -> dict[str, Any]:
    """A table row for an alert rule or template (their context is the raw ARM object, as the official's)."""
    props = _obj(rule.get("properties"))
    return {"ID": rule.get("name"), "Kind": rule.get("kind"), "DisplayName": props.get("displayName"),
            "Severity": props.get("severity"), "Enabled": props.get("enabled"), "Status": props.get("status"),
            "Tactics": props.get("tactics"),
            "LastModified": format_time(props.get("lastModifiedUtc") or props.get("lastUpdatedDateUTC"))}


ALERT_RULE_KEY = "AzureSentinel.AlertRule(val.name && val.name == obj.name)"


class ListAlertRulesArgs(ListArgs):
    rule_id: SafeId | None = None


@command("azure-sentinel-list-alert-rule")
def list_alert_rule_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListAlertRulesArgs, args)
    rules, next_link = get_or_list(run.client, ("alertRules",), a.rule_id, a)
    return list_note("Azure Sentinel Alert Rules", rules, [rule_row(r) for r in rules], ALERT_RULE_KEY,
                     next_link=next_link, context=rules)


class ListTemplatesArgs(ListArgs):
    template_id: SafeId | None = None


@command("azure-sentinel-list-alert-rule-template")
def list_alert_rule_template_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListTemplatesArgs, args)
    templates, next_link = get_or_list(run.client, ("alertRuleTemplates",), a.template_id, a)
    return list_note("Azure Sentinel Alert Rule Templates", templates, [rule_row(t) for t in templates],
                     "AzureSentinel.AlertRuleTemplate(val.name && val.name == obj.name)", next_link=next_link,
                     context=templates)


class DeleteAlertRuleArgs(Args):
    rule_id: SafeId


plain_delete("azure-sentinel-delete-alert-rule", DeleteAlertRuleArgs, "Alert rule {rule_id}", "alertRules",
             "{rule_id}", key=ALERT_RULE_KEY, id_fields=("name", "ID"))


YesNo = _choices("YesNo", "yes", "no")
RuleKind = _choices("RuleKind", "fusion", "microsoft_security_incident_creation", "scheduled")
ProductFilter = _choices("ProductFilter", "azure_active_directory_identity_protection",
                         "azure_advanced_threat_protection", "azure_security_center", "azure_security_center_for_iot",
                         "microsoft_cloud_app_security")
RuleSeverity = _choices("RuleSeverity", "informational", "low", "medium", "high")
TriggerOperator = _choices("TriggerOperator", "equal", "greater_than", "less_than", "not_equal")
Duration = Annotated[str, AfterValidator(_duration)]


class AlertRuleArgs(Args):
    rule_name: SafeId
    kind: RuleKind | None = None
    template_name: str | None = None
    enabled: YesNo | None = None
    etag: str | None = None
    displayName: str | None = None
    product_filter: ProductFilter | None = None
    description: str | None = None
    name_exclude_filter: TextList = Field(default_factory=list)
    name_include_filter: TextList = Field(default_factory=list)
    severity_filter: TextList = Field(default_factory=list)
    query: str | None = None
    query_frequency: Duration | None = None
    query_period: Duration | None = None
    severity: RuleSeverity | None = None
    suppression_duration: Duration | None = None
    suppression_enabled: YesNo | None = None
    trigger_operator: TriggerOperator | None = None
    trigger_threshold: int | None = None
    tactics: TextList = Field(default_factory=list)
    techniques: TextList = Field(default_factory=list)
    rule_json: JsonObject | None = None


RULE_PROPERTIES = {  # argument -> alert rule property
    "template_name": "alertRuleTemplateName", "enabled": "enabled", "displayName": "displayName",
    "product_filter": "productFilter", "description": "description", "name_exclude_filter": "displayNamesExcludeFilter",
    "name_include_filter": "displayNamesFilter", "severity_filter": "severitiesFilter", "query": "query",
    "query_frequency": "queryFrequency", "query_period": "queryPeriod", "severity": "severity",
    "suppression_duration": "suppressionDuration", "suppression_enabled": "suppressionEnabled",
    "trigger_operator": "triggerOperator", "trigger_threshold": "triggerThreshold", "tactics": "tactics",
    "techniques": "techniques"}
RULE_VALUES: dict[str, Callable[[Any], Any]] = {  # argument -> the official value as the API's
    "enabled": lambda v: v == "yes", "suppression_enabled": lambda v: v == "yes", "trigger_operator": _words,
    "severity": str.capitalize, "severity_filter": lambda vs: [v.capitalize() for v in vs],
    "product_filter": lambda v: _words(v, " ").replace("For Iot", "for IoT")}  # Microsoft Cloud App Security
RULE_REQUIRED = {  # the official per-kind validation (rule_name is always required)
    "fusion": ("template_name", "enabled"),
    "microsoft_security_incident_creation": ("displayName", "enabled", "product_filter"),
    "scheduled": ("displayName", "enabled", "query", "query_frequency", "query_period", "severity",
                  "suppression_duration", "suppression_enabled", "trigger_operator", "trigger_threshold")}
RULE_READ_ONLY = {"lastModifiedUtc"}  # and more for Fusion rules, which take only the template and enabled
FUSION_READ_ONLY = {"displayName", "description", "severity", "tactics", "techniques"}


def alert_rule_body(a: AlertRuleArgs, current: dict[str, Any] | None) -> dict[str, Any]:
    """The PUT body: the user's fields (or rule_json) over the current rule's writable properties."""
    given = _obj(a.rule_json.get("properties")) if a.rule_json else {
        prop: RULE_VALUES.get(arg, lambda v: v)(value) for arg, prop in RULE_PROPERTIES.items()
        if (value := getattr(a, arg)) not in (None, [])}
    kind = (a.rule_json.get("kind") if a.rule_json else a.kind and _words(a.kind)) or (current or {}).get("kind")
    if not kind or not isinstance(kind, str):
        raise ConfigError('The "kind" argument is required for alert rule.')
    old = _obj(current.get("properties")) if current and current.get("kind") == kind else {}
    read_only = RULE_READ_ONLY | (FUSION_READ_ONLY if kind == "Fusion" else set())
    props = {**{k: v for k, v in old.items() if v is not None and k not in read_only}, **given}
    official_kind = next((k for k in RULE_REQUIRED if _words(k) == kind and not a.rule_json), "")
    for arg in RULE_REQUIRED.get(official_kind, ()):
        if props.get(RULE_PROPERTIES[arg]) in (None, "", []):
            raise ConfigError(f'"{arg}" is required for "{official_kind}" alert rule.')
    return {"kind": kind, "properties": props}


def write_alert_rule(run: Run, a: AlertRuleArgs, update: bool) -> dict[str, Any]:
    """Create (refused when the name exists) or update (merged over the existing rule), with the etag."""
    etag = a.etag or (a.rule_json or {}).get("etag")
    if not update:
        alert_rule_body(a, None)  # argument errors before any request

    def apply(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is not None and not update:
            raise ConfigError(f"Alert rule {a.rule_name} already exists; use azure-sentinel-update-alert-rule to "
                              f"change it (or delete it first).")
        if current and etag and str(etag).strip('"') != str(current.get("etag") or "").strip('"'):
            raise ConflictError(f"Alert rule {a.rule_name} changed after the given etag was read (it is now at "
                                f"{current.get('etag')}); read it again with azure-sentinel-list-alert-rule, or "
                                f"leave etag out to change the current version.", status=409, code="Conflict")
        return alert_rule_body(a, current)

    rule = write_with_etag(run.client, ("alertRules", a.rule_name), apply, create=not update)
    return note(rule, markdown_table(f"Azure Sentinel Alert Rule successfully {'updated' if update else 'created'}",
                                     [rule_row(rule)]), {ALERT_RULE_KEY: rule})


@command("azure-sentinel-create-alert-rule")
def create_alert_rule_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    return write_alert_rule(run, parse_args(AlertRuleArgs, args), update=False)


@command("azure-sentinel-update-alert-rule")
def update_alert_rule_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    return write_alert_rule(run, parse_args(AlertRuleArgs, args), update=True)


# endregion

# region automation rules


def _json_items(kind_key: str, body_key: str, fields: dict[str, tuple[str, ...]], sizes: range) -> Any:
    """A validator of a JSON list of conditions or actions (AutomationRules.json): each item has a known
    `kind_key`, a `body_key` object, and the fields its kind needs (in the item or its body)."""
    def check(value: Any) -> list[dict[str, Any]]:
        items = json_arg(value, list)
        for number, item in enumerate(items, 1):
            kind, body = item.get(kind_key), item.get(body_key)
            if kind not in fields or not isinstance(body, dict):
                raise ValueError(f"item {number} needs a {kind_key} ({', '.join(fields)}) and a {body_key} object")
            missing = [f for f in fields[kind] if {**item, **body}.get(f) in (None, "", [])]
            if missing:
                raise ValueError(f"item {number} ({kind}) lacks {', '.join(missing)}")
        if len(items) not in sizes:
            raise ValueError(f"it must hold {sizes.start} to {sizes.stop - 1} items")
        return items
    return BeforeValidator(check)


CONDITIONS = _json_items("conditionType", "conditionProperties", {
    "Property": ("propertyName", "operator", "propertyValues"), "PropertyArray": ("arrayType", "arrayConditionType"),
    "PropertyChanged": ("propertyName", "changeType"), "PropertyArrayChanged": ("arrayType", "changeType"),
    "Boolean": ("operator", "innerConditions")}, range(0, 51))
ACTIONS = _json_items("actionType", "actionConfiguration", {
    "ModifyProperties": ("order",), "RunPlaybook": ("order", "logicAppResourceId"),
    "AddIncidentTask": ("order", "title")}, range(1, 21))
AUTOMATION_RULE_KEY = "AzureSentinel.AutomationRule(val.ID && val.ID == obj.ID)"
TrueFalse = _choices("TrueFalse", "true", "false")
TriggersOn = _choices("TriggersOn", "Incidents", "Alerts")
TriggersWhen = _choices("TriggersWhen", "Created", "Updated")


def _utc_time(value: str) -> str:
    if not format_time(value):
        raise ValueError(f"{value!r} is not an ISO 8601 time; write e.g. 2026-12-31T00:00:00Z")
    return format_time(value)


Timestamp = Annotated[str, AfterValidator(_utc_time)]


class ListAutomationRulesArgs(ListArgs):
    automation_rule_id: SafeId | None = None


class AutomationRuleArgs(Args):
    automation_rule_id: SafeId | None = None
    display_name: Annotated[str, Field(max_length=500)] | None = None
    order: Annotated[int, Field(ge=1, le=1000)] | None = None
    is_enabled: TrueFalse | None = None
    triggers_on: TriggersOn | None = None
    triggers_when: TriggersWhen | None = None
    expiration_time: Timestamp | None = None
    conditions_json: Annotated[list[dict[str, Any]], CONDITIONS] | None = None
    actions_json: Annotated[list[dict[str, Any]], ACTIONS] | None = None


def automation_rule_context(rule: dict[str, Any]) -> dict[str, Any]:
    props = _obj(rule.get("properties"))
    logic = _obj(props.get("triggeringLogic"))
    return {
        "ID": rule.get("name"), "DisplayName": props.get("displayName"), "Order": props.get("order"),
        "TriggeringLogic": {"IsEnabled": logic.get("isEnabled"), "TriggersOn": logic.get("triggersOn"),
                            "TriggersWhen": logic.get("triggersWhen"),
                            "ExpirationTimeUtc": format_time(logic.get("expirationTimeUtc")),
                            "Conditions": _objs(logic.get("conditions"))},
        "Actions": [{"Order": x.get("order"), "ActionType": x.get("actionType"),
                     "Configuration": x.get("actionConfiguration")} for x in _objs(props.get("actions"))],
        "CreatedTimeUtc": format_time(props.get("createdTimeUtc")),
        "LastModifiedTimeUtc": format_time(props.get("lastModifiedTimeUtc")),
        "CreatedBy": _who(props.get("createdBy"), ("name", "email")),
        "LastModifiedBy": _who(props.get("lastModifiedBy"), ("name", "email")),
        "Etag": rule.get("etag"),
    }


def automation_rule_row(rule: dict[str, Any]) -> dict[str, Any]:
    r = automation_rule_context(rule)
    return {"ID": r["ID"], "DisplayName": r["DisplayName"], "Order": r["Order"], **r["TriggeringLogic"],
            "Conditions": len(r["TriggeringLogic"]["Conditions"]), "Actions": [x["ActionType"] for x in r["Actions"]],
            "LastModifiedTimeUtc": r["LastModifiedTimeUtc"]}


@command("azure-sentinel-list-automation-rules")
def list_automation_rules_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListAutomationRulesArgs, args)
    rules, next_link = get_or_list(run.client, ("automationRules",), a.automation_rule_id, a)
    return list_note("Automation Rules", rules, [automation_rule_row(r) for r in rules], AUTOMATION_RULE_KEY,
                     next_link=next_link, context=[automation_rule_context(r) for r in rules])


@command("azure-sentinel-create-update-automation-rule")
def create_update_automation_rule_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(AutomationRuleArgs, args)
    rule_id = a.automation_rule_id or run.new_id()  # once per invocation: a retried PUT writes the same rule
    changes = {k: v for k, v in (("displayName", a.display_name), ("order", a.order), ("actions", a.actions_json))
               if v is not None}
    logic_changes = {k: v for k, v in (
        ("isEnabled", a.is_enabled and a.is_enabled == "true"), ("triggersOn", a.triggers_on),
        ("triggersWhen", a.triggers_when), ("expirationTimeUtc", a.expiration_time),
        ("conditions", a.conditions_json)) if v is not None}

    def apply(current: dict[str, Any] | None) -> dict[str, Any]:
        old = _obj((current or {}).get("properties"))
        defaults = {} if current else {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created"}
        props = {**{k: old[k] for k in ("displayName", "order", "actions") if k in old}, **changes,
                 "triggeringLogic": {**defaults, **_obj(old.get("triggeringLogic")), **logic_changes}}
        missing = [arg for arg, prop in (("display_name", "displayName"), ("order", "order"),
                                         ("actions_json", "actions")) if props.get(prop) in (None, "", [])]
        if missing and current is None:
            raise ConfigError(f"Automation rule {rule_id} does not exist yet; to create it give {', '.join(missing)}.")
        return {"properties": props}

    rule = write_with_etag(run.client, ("automationRules", rule_id), apply)
    return note([rule], markdown_table(f"Automation rule {rule_id} saved", [automation_rule_row(rule)]),
                {AUTOMATION_RULE_KEY: [automation_rule_context(rule)]})


class DeleteAutomationRuleArgs(Args):
    automation_rule_id: SafeId


plain_delete("azure-sentinel-delete-automation-rule", DeleteAutomationRuleArgs, "Automation rule "
             "{automation_rule_id}", "automationRules", "{automation_rule_id}", key=AUTOMATION_RULE_KEY)


# endregion

# region bookmarks

BOOKMARK_KEY = "AzureSentinel.Bookmark(val.ID === obj.ID)"
BOOKMARK_HEADERS = ["ID", "DisplayName", "Query", "Notes", "Labels", "EventTime", "Created", "CreatedBy", "Updated",
                    "UpdatedBy", "IncidentInfo"]
# context key -> bookmark property
BOOKMARK_TEXT = {"DisplayName": "displayName", "Query": "query", "QueryResult": "queryResult", "Notes": "notes"}
BOOKMARK_TIMES = {"Created": "created", "Updated": "updated", "EventTime": "eventTime",
                  "QueryStartTime": "queryStartTime", "QueryEndTime": "queryEndTime"}
BOOKMARK_WRITABLE = frozenset({*BOOKMARK_TEXT.values(), "labels", "eventTime", "queryStartTime", "queryEndTime",
                               "incidentInfo"})


def bookmark_context(bookmark: dict[str, Any]) -> dict[str, Any]:
    """A bookmark (or an incident's hunting-bookmark entity) as the `AzureSentinel.Bookmark` context object."""
    props = _obj(bookmark.get("properties"))
    info = _obj(props.get("incidentInfo"))
    labels = props.get("labels")
    return {
        "ID": bookmark.get("name"),
        **{key: props.get(name) for key, name in BOOKMARK_TEXT.items()},
        "Labels": [v for v in labels if isinstance(v, str)] if isinstance(labels, list) else [],
        **{key: format_time(props.get(name)) for key, name in BOOKMARK_TIMES.items()},
        "CreatedBy": _who(props.get("createdBy")), "UpdatedBy": _who(props.get("updatedBy")),
        "IncidentInfo": {"IncidentId": info.get("incidentId"), "Title": info.get("title"),
                         "Severity": info.get("severity"), "RelationName": info.get("relationName")},
        "Etag": bookmark.get("etag") or _obj(props.get("additionalData")).get("ETag"),
    }


@command("azure-sentinel-list-incident-bookmarks")
def list_incident_bookmarks_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(IncidentArgs, args)
    bookmarks = run.client.post("incidents", a.incident_id, "bookmarks", items_key="value", idempotent=True)["value"]
    return list_note(f"Incident {a.incident_id} bookmarks", bookmarks, [bookmark_context(b) for b in bookmarks],
                     BOOKMARK_KEY, BOOKMARK_HEADERS)


class ListBookmarksArgs(ListArgs):
    bookmark_id: SafeId | None = None


@command("azure-sentinel-list-bookmarks")
def list_bookmarks_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListBookmarksArgs, args)
    return show_or_list(run, a, ("bookmarks",), a.bookmark_id, "Bookmarks", bookmark_context, BOOKMARK_KEY,
                        BOOKMARK_HEADERS)


class CreateUpdateBookmarkArgs(Args):
    bookmark_id: SafeId | None = None
    display_name: str | None = None
    query: str | None = None
    query_result: str | None = None
    notes: str | None = None
    labels: TextList = Field(default_factory=list)
    event_time: Timestamp | None = None
    query_start_time: Timestamp | None = None
    query_end_time: Timestamp | None = None
    incident_id: SafeId | None = None


def link_bookmark(client: Client, incident_id: str, bookmark_id: str) -> str:
    """Relate a bookmark to an incident (as the portal's "add to incident" does) with a relation named after
    the bookmark, so linking it again updates that relation; returns the relation name."""
    name = bookmark_id if RELATION_NAME.fullmatch(bookmark_id) else str(uuid.uuid5(uuid.NAMESPACE_URL, bookmark_id))
    try:
        put_relation(client, incident_id, name, arm_id(client, "bookmarks", bookmark_id))
    except ApiError as exc:
        raise ApiError(f"Bookmark {bookmark_id} was saved, but linking it to incident {incident_id} failed: {exc}",
                       exc.status, exc.code) from None
    return name


@command("azure-sentinel-create-update-bookmark")
def create_update_bookmark_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateUpdateBookmarkArgs, args)
    bookmark_id = a.bookmark_id or run.new_id()
    changes = {"displayName": a.display_name, "query": a.query, "queryResult": a.query_result, "notes": a.notes,
               "labels": a.labels, "eventTime": a.event_time, "queryStartTime": a.query_start_time,
               "queryEndTime": a.query_end_time}

    def apply(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None and not (a.display_name and a.query):
            raise ConfigError(f"Bookmark {bookmark_id} does not exist yet: give display_name and query to create it.")
        return merge_properties(current, changes, only=BOOKMARK_WRITABLE)

    bookmark = write_with_etag(run.client, ("bookmarks", bookmark_id), apply)
    row = bookmark_context(bookmark)
    if a.incident_id:
        relation = link_bookmark(run.client, a.incident_id, bookmark_id)
        if str(row["IncidentInfo"]["IncidentId"]).lower() != a.incident_id.lower():  # the bookmark shows no link yet
            row["IncidentInfo"] = {"IncidentId": a.incident_id, "Title": None, "Severity": None,
                                   "RelationName": relation}
    return item_note(bookmark, f"Bookmark {row['ID']} saved", row, BOOKMARK_KEY, BOOKMARK_HEADERS)


class BookmarkArgs(Args):
    bookmark_id: SafeId


plain_delete("azure-sentinel-delete-bookmark", BookmarkArgs, "Bookmark {bookmark_id}", "bookmarks", "{bookmark_id}")


# endregion

# region incident tasks

TaskStatus = _choices("TaskStatus", "New", "Completed")
TASK_KEY = "AzureSentinel.IncidentTask(val.ID === obj.ID && val.IncidentID === obj.IncidentID)"
TASK_HEADERS = ["ID", "Title", "Description", "Status", "CreatedBy", "LastModifiedBy", "CreatedTimeUTC",
                "LastModifiedTimeUTC"]
TASK_WRITABLE = frozenset({"title", "description", "status"})


def task_context(task: dict[str, Any], incident_id: str) -> dict[str, Any]:
    props = _obj(task.get("properties"))
    return {
        "ID": task.get("name"), "IncidentID": incident_id, "Title": props.get("title"),
        "Description": props.get("description"), "Status": props.get("status"),
        "CreatedBy": _who(props.get("createdBy")), "LastModifiedBy": _who(props.get("lastModifiedBy")),
        "CreatedTimeUTC": format_time(props.get("createdTimeUtc")),
        "LastModifiedTimeUTC": format_time(props.get("lastModifiedTimeUtc")), "Etag": task.get("etag"),
    }


class ListTasksArgs(IncidentArgs, ListArgs):
    task_id: SafeId | None = None


@command("azure-sentinel-list-incident-tasks")
def list_incident_tasks_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListTasksArgs, args)
    return show_or_list(run, a, ("incidents", a.incident_id, "tasks"), a.task_id, f"Incident {a.incident_id} tasks",
                        lambda task: task_context(task, a.incident_id), TASK_KEY, TASK_HEADERS)


class CreateUpdateTaskArgs(IncidentArgs):
    task_id: SafeId | None = None
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None


@command("azure-sentinel-create-update-incident-task")
def create_update_incident_task_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(CreateUpdateTaskArgs, args)
    task_id = a.task_id or run.new_id()

    def apply(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None and not a.title:
            raise ConfigError(f"Task {task_id} of incident {a.incident_id} does not exist yet: give title to "
                              f"create it.")
        body = merge_properties(current, {"title": a.title, "description": a.description, "status": a.status},
                                only=TASK_WRITABLE)
        body["properties"].setdefault("status", "New")
        return body

    task = write_with_etag(run.client, ("incidents", a.incident_id, "tasks", task_id), apply)
    row = task_context(task, a.incident_id)
    return item_note(task, f"Incident {a.incident_id} task {row['ID']} saved", row, TASK_KEY, TASK_HEADERS)


class TaskArgs(IncidentArgs):
    task_id: SafeId


plain_delete("azure-sentinel-delete-incident-task", TaskArgs, "Task {task_id} of incident {incident_id}",
             "incidents", "{incident_id}", "tasks", "{task_id}")


# endregion

# region data connectors

DATA_CONNECTOR_KEY = "AzureSentinel.DataConnector(val.ID === obj.ID)"
DATA_CONNECTOR_HEADERS = ["ID", "Name", "Kind", "TenantId", "DataTypes"]


def data_connector_context(connector: dict[str, Any]) -> dict[str, Any]:
    """A data connector of any kind as `AzureSentinel.DataConnector`: its data types as a list of {Name, State}."""
    props = _obj(connector.get("properties"))
    types = [{"Name": name, "State": _obj(value).get("state")} for name, value in _obj(props.get("dataTypes")).items()]
    if isinstance(props.get("dataType"), str):  # RestApiPoller (codeless) connectors: one table, active or not
        active = props.get("isActive")
        types.append({"Name": props["dataType"], "State": "Enabled" if active is True else
                      "Disabled" if active is False else None})
    kind = connector.get("kind")
    return {
        "ID": connector.get("name"),
        "Name": props.get("connectorDefinitionName") or (pascal_to_space(kind) if isinstance(kind, str) else None),
        "Kind": kind, "TenantId": props.get("tenantId"), "DataTypes": types, "Etag": connector.get("etag"),
    }


def _data_types_cell(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "DataTypes": [f"{t['Name']} ({t['State'] or 'state unknown'})" for t in row["DataTypes"]]}


def _without_credentials(connector: dict[str, Any]) -> dict[str, Any]:
    """A connector without what a codeless connector's `auth` may carry (API keys, passwords): only its type."""
    props = _obj(connector.get("properties"))
    if "auth" not in props:
        return connector
    return {**connector, "properties": {**props, "auth": {"type": _obj(props["auth"]).get("type")}}}


class ListDataConnectorsArgs(ListArgs):
    data_connector_id: SafeId | None = None


@command("azure-sentinel-list-data-connectors")
def list_data_connectors_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ListDataConnectorsArgs, args)
    return show_or_list(run, a, ("dataConnectors",), a.data_connector_id, "Data connectors", data_connector_context,
                        DATA_CONNECTOR_KEY, DATA_CONNECTOR_HEADERS, _data_types_cell, _without_credentials)


# endregion

# region subscriptions and resource groups

SUBSCRIPTIONS_API, RESOURCE_GROUPS_API = "2020-01-01", "2021-04-01"
SUBSCRIPTION_FIELDS = ("id", "subscriptionId", "tenantId", "displayName", "state", "authorizationSource",
                       "subscriptionPolicies", "managedByTenants")
RESOURCE_GROUP_FIELDS = ("id", "name", "type", "location", "tags", "properties")


class SubscriptionsArgs(ArgsModel):
    limit: Limit = 50
    next_link: str | None = None


@command("azure-sentinel-subscriptions-list", workspace=False)
def subscriptions_list_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(SubscriptionsArgs, args)
    items, next_link = run.client.transport.collect("GET", run.client.arm_url("subscriptions"), a.limit, sized=False,
                                                    params={"api-version": SUBSCRIPTIONS_API}, next_link=a.next_link)
    rows = [{k: s.get(k) for k in SUBSCRIPTION_FIELDS} for s in items]
    key = "AzureSentinel.Subscription(val.subscriptionId === obj.subscriptionId)"
    return list_note("Subscriptions", items, rows, key,
                     ["subscriptionId", "displayName", "state", "tenantId", "authorizationSource"], next_link)


def _one_tag(value: Any) -> dict[str, Any] | None:
    tag = json_arg(value) if value not in (None, "") else None
    if tag is not None and (len(tag) != 1 or not all(isinstance(v, str) for v in tag.values())):
        raise ValueError('must be one tag as a JSON object, e.g. {"Environment": "Production"}')
    return tag


class ResourceGroupsArgs(SubscriptionsArgs):
    subscription_id: SafeId | None = None
    tag: Annotated[dict[str, str] | None, BeforeValidator(_one_tag)] = None


@command("azure-sentinel-resource-group-list", workspace=False)
def resource_group_list_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(ResourceGroupsArgs, args)
    params = {"api-version": RESOURCE_GROUPS_API}
    if a.tag:
        (name, value), = a.tag.items()
        params["$filter"] = f"tagName eq {odata_quote(name)} and tagValue eq {odata_quote(value)}"
    url = run.client.arm_url("subscriptions", a.subscription_id or run.settings.subscription_id, "resourcegroups")
    items, next_link = run.client.transport.collect("GET", url, a.limit, params=params, next_link=a.next_link)
    rows = [{k: g.get(k) for k in RESOURCE_GROUP_FIELDS} for g in items]
    return list_note("Resource Groups", items, rows, "AzureSentinel.ResourceGroup(val.name === obj.name)",
                     ["name", "location", "tags", "id"], next_link)


# endregion

# region KQL queries (Log Analytics)

WORKSPACES_API = "2022-10-01"
WORKSPACE_IDS_KEY = "workspace_ids"  # integration context: workspace ARM path -> customer ID
TIMESPAN_RE = re.compile(rf"^({ISO_DURATION}"  # a duration, or start/end
                         rf"|\d{{4}}-\d\d-\d\dT[\d:.]+Z?/(\d{{4}}-\d\d-\d\dT[\d:.]+Z?|P[\dYMWDTHS.]+))$")


class QueryArgs(Args):
    query: str
    timespan: str = "P1D"
    limit: Annotated[int, BeforeValidator(_limit(10_000))] = 50

    @field_validator("timespan")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        if not TIMESPAN_RE.match(value.strip()):
            raise ValueError("must be an ISO 8601 duration such as PT12H, P1D or P7D (or start/end)")
        return value.strip()


def query_transport(run: Run) -> Transport:
    """A transport for the Log Analytics query API: its own host, its own token (cached apart from ARM's)."""
    s = run.settings
    if not s.cloud.query:
        raise ConfigError("The Custom cloud has no Log Analytics query API URL; set 'Log Analytics query API URL' "
                          "(e.g. https://api.loganalytics.io) in the instance configuration.")
    arm = run.client.transport
    credential = Credential(s, arm.session, run.context, resource=s.cloud.query, retry=arm.retry,
                            now=arm.retry.now)
    return Transport(arm.session, credential, s.cloud.query, arm.retry, api_version=None)


def workspace_id(run: Run) -> str:
    """The workspace's customer ID: the param, else read once from ARM and cached in the context."""
    if run.settings.workspace_id:
        return safe_id(run.settings.workspace_id, "Workspace ID")
    ws_url = run.client.workspace_url.split("/providers/Microsoft.SecurityInsights")[0]
    cache = _obj(run.context.get(WORKSPACE_IDS_KEY))
    key = urlsplit(ws_url).path.lower()
    if not isinstance(cache.get(key), str):
        workspace = run.client.transport.request("GET", ws_url, params={"api-version": WORKSPACES_API})
        customer_id = _obj(workspace.get("properties")).get("customerId")
        if not isinstance(customer_id, str) or not customer_id:
            raise ApiError("The workspace has no customerId in Azure's answer; set the Workspace ID parameter "
                           "(Log Analytics workspace > Overview > Workspace ID).")
        cache[key] = customer_id
        run.context[WORKSPACE_IDS_KEY] = cache
    return safe_id(cache[key], "Workspace ID")


def query_tables(data: dict[str, Any], query: str, limit: int) -> list[dict[str, Any]]:
    """Each result table as {Query, TableName, Columns, Rows (objects), RowCount}, with at most `limit` rows."""
    tables = []
    for table in data["tables"]:
        columns = [{"Name": str(c.get("name")), "Type": c.get("type")} for c in _objs(table.get("columns"))]
        names = [c["Name"] for c in columns]
        rows = [r for r in table.get("rows") or [] if isinstance(r, list)]
        tables.append({"Query": query, "TableName": table.get("name"), "Columns": columns, "RowCount": len(rows),
                       "Rows": [dict(zip(names, r)) for r in rows[:limit]]})
    return tables


@command("azure-sentinel-run-query")
def run_query_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    a = parse_args(QueryArgs, args)
    transport = query_transport(run)
    url = f"{transport.base_url}/v1/workspaces/{quote(workspace_id(run), safe='')}/query"
    data = transport.request("POST", url, body={"query": a.query, "timespan": a.timespan}, idempotent=True,
                             items_key="tables")
    tables = query_tables(data, a.query, a.limit)
    parts = []
    for t in tables:
        shown = f", first {a.limit}" if t["RowCount"] > a.limit else ""
        parts.append(markdown_table(f"{t['TableName']} ({t['RowCount']} rows{shown})", t["Rows"],
                                    [c["Name"] for c in t["Columns"]]))
    partial = _obj(data.get("error"))
    if partial:
        details = "; ".join(_first_line(str(_obj(d).get("message") or "")) for d in partial.get("details") or [])
        parts.insert(0, f"**Warning: the result is partial** ({partial.get('code') or 'PartialError'}: "
                        f"{_first_line(str(partial.get('message') or ''))}{' ' + details if details else ''}).\n")
    return note(data, "\n".join(parts) or "**No tables.**",
                {"AzureSentinel.Query(val.Query === obj.Query && val.TableName === obj.TableName)": tables})


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


def _late_ranges(emitted: EmittedSet, low: int, high: int) -> list[tuple[int, int]]:
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
           "mirror_instance": instance, "mirror_tags": [settings.comment_tag]}
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
# The platform's four mirroring commands, answered in the entry shapes the platform's own mirroring helpers
# produce (built here; nothing is imported from the platform but demistomock). A failure is an error entry (the platform tries again), with "API rate limit" on a
# 429 and, for get-modified-remote-data, "skip update".

MIRROR_SCHEME = "Microsoft Sentinel Incident"
MIRROR_FIELDS = {  # the remote names update-remote-system applies (what an outgoing mapper may fill)
    "title": "The incident title.",
    "description": "The incident description.",
    "severity": "The severity as the platform's number (0.5 Informational, 1 Low, 2 Medium, 3 and 4 High).",
    "status": "The status, New or Active (closing and reopening follow the platform incident's status).",
    "tags": "Labels to add to the incident (its other labels are kept).",
    "owner": "The owner: an email or user principal name, an owner object, or empty to unassign.",
    "firstActivityTimeUtc": "The time of the first activity (ISO 8601).",
    "lastActivityTimeUtc": "The time of the last activity (ISO 8601).",
    "classification": "How it was closed: BenignPositive, FalsePositive, TruePositive or Undetermined.",
    "classificationComment": "The comment written with the classification when closing.",
    "classificationReason": "The reason for the classification (when unset, the one that fits it).",
    "etag": "The etag last seen (informational: every update re-reads the current one).",
}
CLOSE_REASON_OF = {"Undetermined": "Other", "TruePositive": "Resolved", "BenignPositive": "Resolved",
                   "FalsePositive": "False Positive"}
CLASSIFICATION_OF = {"Resolved": "TruePositive", "False Positive": "FalsePositive", "Duplicate": "Undetermined",
                     "Other": "Undetermined"}  # platform close reasons that no outgoing mapper translated
SEVERITY_OF_LEVEL = {0: "Informational", 0.5: "Informational", 1: "Low", 2: "Medium", 3: "High", 4: "High"}
PLATFORM_ACTIVE, PLATFORM_DONE = 1, 2  # IncidentStatus
REDIRECTED = "redirected"  # the label the Defender portal gives an incident it merged into another
MERGED_INTO = re.compile(r"merged into (?:the )?incident\s+#?([0-9A-Za-z-]+)", re.I)
MAX_COMMENT_CHARS = 30000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class MergedIncident(SentinelError):
    """The Sentinel incident was merged into another one: nothing is written back to it."""


def parse_last_update(value: Any, name: str = "lastUpdate") -> datetime:
    """A platform time, leniently: RFC 3339 (any fraction, Z or offset, 'T' or space), a date, or epoch
    seconds/milliseconds ('0' = the beginning). Times before 1970 read as 1970."""
    text = str(value if value is not None else "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text) / (1000 if float(text) > 1e11 else 1)
        return datetime.fromtimestamp(min(seconds, 32503680000), timezone.utc)
    text = re.sub(r"^(\d{4}-\d\d-\d\d)( |$)", lambda m: m.group(1) + ("T" if m.group(2) else "T00:00:00Z"), text)
    parsed = parse_time(text.replace("z", "Z"))
    if parsed is None:
        raise ConfigError(f"Argument '{name}' is not a time: {text[:60]!r}; give an ISO 8601 time such as "
                          f"2025-01-02T03:04:05Z.")
    return max(EPOCH, parsed)


def mirror_failure(exc: SentinelError, skip: bool = False) -> SentinelError:
    """The error the platform acts on: 'API rate limit' (back off) on 429, else 'skip update' if asked."""
    if isinstance(exc, ApiError) and exc.status == 429:
        return SentinelError(f"API rate limit: {exc}")
    return SentinelError(f"skip update. error: {exc}") if skip else exc


def is_merged(props: dict[str, Any]) -> bool:
    """Closed by the Defender portal's merge: status Closed with the "Redirected" label."""
    labels = {str(label.get("labelName") or "").lower() for label in _objs(props.get("labels"))}
    return props.get("status") == Status.Closed.value and REDIRECTED in labels


def own_comment_prefix(instance: str) -> str:
    """The start of every comment ID this instance writes: get-remote-data skips them (no echo)."""
    return f"xsoar-{hashlib.sha256(instance.encode()).hexdigest()[:8]}-"


class ModifiedArgs(ArgsModel):
    lastUpdate: str


@command("get-modified-remote-data", workspace=False)
def get_modified_remote_data_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    """The names of every incident modified at or after lastUpdate, across all pages, each once."""
    try:
        since = parse_last_update(parse_args(ModifiedArgs, args).lastUpdate)
        pages = run.client.iter_incident_pages(f"properties/lastModifiedTimeUtc ge {iso_z(since)}",
                                               "properties/lastModifiedTimeUtc asc", lambda: PAGE_MAX)
        names = [incident.get("name") for page, _ in pages for incident in page]
    except SentinelError as exc:
        raise mirror_failure(exc, skip=True) from None
    ids = list(dict.fromkeys(n for n in names if isinstance(n, str) and n))
    run.client.transport.log(f"Modified incidents since {iso_z(since)}: {len(ids)}.")
    return {"Type": 1, "ContentsFormat": "json", "Contents": ids}


class RemoteDataArgs(ArgsModel):
    id: SafeId
    lastUpdate: str = "0"


@command("get-remote-data", workspace=False)
def get_remote_data_command(run: Run, args: dict[str, Any]) -> list[dict[str, Any]]:
    a = parse_args(RemoteDataArgs, args)
    since = parse_last_update(a.lastUpdate)
    try:
        return remote_data(run.client, run.settings, a.id, since, run.instance)
    except SentinelError as exc:
        failure = mirror_failure(exc)
        if failure is not exc:
            raise failure from None
        return [{"id": a.id, "in_mirror_error": str(exc)}]  # shown on the incident; tried again next time


def remote_data(client: Client, settings: Settings, incident_id: str, since: datetime, instance: str
                ) -> list[dict[str, Any]]:
    """[the incident as fetch formats it (plus the selected additional info), *entries]: the comments
    newer than `since` that this instance did not write, then a close or a reopen entry."""
    incident = client.get_incident(incident_id)
    props = _obj(incident.get("properties"))
    extra = enrich(client, [incident], settings.additional_info)[0] if settings.additional_info else {}
    mirrored = {k: v for k, v in {**fetch_context(incident), **extra}.items() if v is not None}
    listed: dict[Any, dict[str, Any]] = {}
    for page, _ in client.transport.pages("GET", client.url("incidents", incident_id, "comments")):
        for c in page:  # one per name, though a comment may be listed on two pages; each nameless one is kept
            listed[c.get("name") if isinstance(c.get("name"), str) and c.get("name") else len(listed)] = c
    comments = sorted(listed.values(), key=lambda c: _time_key(str(_obj(c.get("properties")).get("createdTimeUtc"))))
    entries = [comment_entry(c, incident_id) for c in comments
               if not str(c.get("name") or "").startswith(own_comment_prefix(instance))
               and (parse_time(_obj(c.get("properties")).get("createdTimeUtc")) or EPOCH) > since]
    if props.get("status") == Status.Closed.value and settings.close_incident:
        entries.append(close_entry(props, comments))
    elif props.get("status") in (Status.New.value, Status.Active.value):
        entries.append({"Type": 1, "ContentsFormat": "json", "Contents": {"dbotIncidentReopen": True}})
    return [mirrored, *entries]


def comment_entry(comment: dict[str, Any], incident_id: str) -> dict[str, Any]:
    """A Sentinel comment as a war-room note, untagged so that it is never mirrored back out."""
    row = comment_context(comment, incident_id)
    author = row["AuthorName"] or row["AuthorEmail"] or "Someone"
    return {"Type": 1, "ContentsFormat": "text", "Note": True, "Tags": [],
            "Contents": f"{author} commented in Microsoft Sentinel at {row['CreatedTimeUTC']}:\n{row['Message'] or ''}"}


def close_entry(props: dict[str, Any], comments: list[dict[str, Any]]) -> dict[str, Any]:
    """Close the SOAR incident: as a duplicate when the Defender portal merged it, else by classification."""
    if is_merged(props):
        found = [m.group(1) for m in (MERGED_INTO.search(str(_obj(c.get("properties")).get("message")))
                                      for c in comments) if m]
        into = f"into incident {found[-1]}" if found else "into another incident"
        reason, notes = "Duplicate", f"Merged {into} in the Microsoft Defender portal (closed there as Redirected)."
    else:
        classification = str(props.get("classification") or "Undetermined")
        why = f" ({props['classificationReason']})" if props.get("classificationReason") else ""
        comment = f": {props['classificationComment']}" if props.get("classificationComment") else "."
        reason = CLOSE_REASON_OF.get(classification, "Other")
        notes = f"Closed in Microsoft Sentinel as {classification}{why}{comment}"
    return {"Type": 1, "ContentsFormat": "json",
            "Contents": {"dbotIncidentClose": True, "closeReason": reason, "closeNotes": notes}}


PlatformObject = Annotated[dict[str, Any], BeforeValidator(lambda v: json_arg(v, lenient=True))]
PlatformList = Annotated[list[Any], BeforeValidator(lambda v: json_arg(v, list, lenient=True))]


class UpdateRemoteArgs(ArgsModel):
    data: PlatformObject = Field(default_factory=dict)
    delta: PlatformObject = Field(default_factory=dict)
    entries: PlatformList = Field(default_factory=list)
    incidentChanged: Flag = False
    remoteId: SafeId
    status: int = 0


@command("update-remote-system", workspace=False)
def update_remote_system_command(run: Run, args: dict[str, Any]) -> str:
    """Apply the delta and the tagged entries; return the ID. A failure is an error entry: the platform sends
    it all again (harmless: the same values, the same comment IDs). A merged incident gets nothing."""
    a = parse_args(UpdateRemoteArgs, args)
    tag = run.settings.comment_tag
    entries = [e for e in a.entries if isinstance(e, dict) and tag in _as_list(e.get("tags", e.get("Tags")))]
    apply = delta_changes(a, run.settings, run.client.transport.log) if a.incidentChanged else None
    try:
        if apply is not None:
            update_incident(run.client, a.remoteId, apply)
        elif entries and is_merged(_obj(run.client.get_incident(a.remoteId).get("properties"))):
            raise MergedIncident("merged")
        for entry in entries:
            mirror_entry(run.client, run.instance, a.remoteId, entry)
    except MergedIncident:
        run.client.transport.log(f"Incident {a.remoteId} was merged in the Microsoft Defender portal; nothing "
                                 f"was written back to it.")
    except SentinelError as exc:
        raise mirror_failure(exc) from None
    return a.remoteId


def delta_changes(a: UpdateRemoteArgs, settings: Settings, log: Callable[[str], None]
                  ) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The delta as a function of the current properties (re-applied as is after a 409), or None when it
    changes nothing Sentinel keeps. Values that cannot be mapped are left out (and logged)."""
    delta = a.delta
    mapped = {k: DELTA_FIELDS[k](v) for k, v in delta.items()
              if k in DELTA_FIELDS and (v not in (None, "") or k == "description")}
    if None in mapped.values():
        log(f"update-remote-system left out {', '.join(k for k, v in mapped.items() if v is None)}: values that "
            f"cannot be mapped to Sentinel.")
    simple = {k: v for k, v in mapped.items() if v is not None}
    owner = _owner(delta["owner"]) if "owner" in delta else None
    tags = _as_list(delta.get("tags")) if isinstance(delta.get("tags"), (str, list)) else []
    closing = a.status == PLATFORM_DONE and settings.close_ticket
    reopening = a.status == PLATFORM_ACTIVE and "" in (delta.get("classification"), delta.get("closingUserId"))
    if not (simple or owner is not None or tags or closing or reopening):
        return None

    def apply(current: dict[str, Any]) -> dict[str, Any]:
        if is_merged(current):
            raise MergedIncident("merged")
        props = {**{k: v for k, v in current.items() if k in WRITABLE_INCIDENT_PROPERTIES}, **simple}
        if owner is not None:
            props["owner"] = owner
        props["labels"] = with_user_labels(props.get("labels"), tags)
        if closing:
            props.update(closing_properties(a))
        elif reopening and props.get("status") == Status.Closed.value:
            props["status"] = Status.Active.value
            for key in ("classification", "classificationReason", "classificationComment"):
                props.pop(key, None)
        return props

    return apply


def closing_properties(a: UpdateRemoteArgs) -> dict[str, Any]:
    """Status Closed with the classification (the delta's, else the data's), its comment and a fitting reason."""
    def given(key: str) -> str:
        return next((str(v).strip() for v in (a.delta.get(key), a.data.get(key)) if v not in (None, "")), "")

    classification = CLASSIFICATION_OF.get(given("classification"), given("classification"))
    if classification not in REASONS_FOR:
        classification = Classification.Undetermined.value
    reasons = [r for r in (a.delta.get("classificationReason"), a.data.get("classificationReason"))
               if r in REASONS_FOR[classification]]
    reason = reasons[0] if reasons else DEFAULT_CLASSIFICATION_REASON.get(classification)
    closed = {"status": Status.Closed.value, "classification": classification,
              "classificationComment": given("classificationComment") or "Closed in Cortex XSOAR."}
    return {**closed, "classificationReason": reason} if reason else closed


def _severity_name(value: Any) -> str | None:
    """A severity name from the platform's number (3, '3', 0.5) or a name ('high')."""
    text = str(value).strip().title()
    try:
        return text if text in SEVERITY_LEVEL else SEVERITY_OF_LEVEL.get(float(text))
    except ValueError:
        return None


DELTA_FIELDS: dict[str, Callable[[Any], Any]] = {  # delta key -> its Sentinel value (None: cannot be mapped)
    "title": lambda v: v.strip() or None if isinstance(v, str) else None,
    "description": lambda v: v if isinstance(v, str) else None,
    "severity": _severity_name,
    "status": lambda v: v if v in (Status.New.value, Status.Active.value) else None,
    "firstActivityTimeUtc": lambda v: iso_z(parse_time(v)) if parse_time(v) else None,
    "lastActivityTimeUtc": lambda v: iso_z(parse_time(v)) if parse_time(v) else None,
}


def _owner(value: Any) -> dict[str, Any] | None:
    """{} unassigns; an email/UPN or an owner object assigns; anything else changes nothing."""
    if value is None or isinstance(value, str):
        return {"email": value.strip(), "userPrincipalName": value.strip()} if value and value.strip() else {}
    if not isinstance(value, dict):
        return None
    return {k: v for k, v in value.items() if k in ("email", "userPrincipalName", "objectId", "assignedTo")
            and isinstance(v, str) and v}


def mirror_entry(client: Client, instance: str, remote_id: str, entry: dict[str, Any]) -> None:
    """A tagged war-room entry as a Sentinel comment, PUT under the ID derived from the entry."""
    contents = entry.get("contents", entry.get("Contents"))
    text = contents if isinstance(contents, str) else json.dumps(contents, default=str) if contents else ""
    if not text.strip():
        return
    user = str(entry.get("user") or "").strip()[:100]
    footer = f"\n\n(Mirrored from Cortex XSOAR{f' by {user}' if user else ''}.)"
    # The same entry always gets the same ID (instance, incident, entry ID): re-sending overwrites it.
    key = f"{instance}\x1f{remote_id}\x1f{entry.get('id') or text}"
    comment_id = own_comment_prefix(instance) + hashlib.sha256(key.encode()).hexdigest()[:32]
    client.put_comment(remote_id, comment_id, text[:MAX_COMMENT_CHARS - len(footer)] + footer)


@command("get-mapping-fields", workspace=False)
def get_mapping_fields_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    return {MIRROR_SCHEME: dict(MIRROR_FIELDS)}


# endregion

# region auth and test-module


@command("test-module", workspace=False)
def test_module_command(run: Run, args: dict[str, Any]) -> str:
    """Sign in and read one incident; with fetching on, also run a dry fetch (nothing emitted)."""
    now = run.now()
    run.client.list_incidents(1)
    if run.settings.is_fetch:
        dry = run.settings.model_copy(update={"fetch_limit": 1})
        select_incidents(run.client, dry, initial_state({}, dry, now), now)
    return "ok"


@command("azure-sentinel-auth-reset", workspace=False)
def auth_reset_command(run: Run, args: dict[str, Any]) -> dict[str, Any]:
    run.context.pop(Credential.CONTEXT_KEY, None)
    return note({}, "Authorization was reset successfully: the cached access tokens were removed and new ones "
                    "will be requested on the next command.")


# endregion

# region main


class Redactor:
    """Masks every known secret in text bound for logs or entries: the given ones, those `dynamic` returns
    (tokens acquired during the run), and anything shaped like a JWT, a bearer token or an access_token value."""

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
    entries = _obj(context.get(Credential.CONTEXT_KEY)).values()
    return [str(e.get("access_token")) for e in entries if isinstance(e, dict) and e.get("access_token")]


LIBRARY_LOGGERS = ("msal", "urllib3")


class _LogBridge(logging.Handler):
    """Library log records (MSAL, urllib3) as one line each of the redacted debug log (no stderr, no traceback)."""

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
                    chosen("resource_group_name", settings.resource_group),
                    chosen("workspace_name", settings.workspace))
    return Run(settings=settings, client=client, context=context,
               now=lambda: datetime.fromtimestamp(now(), timezone.utc))


def main() -> None:
    """The only function that talks to the platform. Nothing escapes it but a failed fetch."""
    command, context, before = "", {}, ""
    redact = Redactor([])
    try:
        command = str(demisto.command() or "")
        params = _obj(demisto.params())
        args = _obj(demisto.args())
        context = _obj(demisto.getIntegrationContext())  # a malformed context is ignored
        before = json.dumps(context, sort_keys=True, default=str)
        redact = Redactor([_secret_of(params.get("credentials")), _secret_of(params.get("creds_certificate")),
                           _secret_of(params.get("private_key"))], dynamic=lambda: _cached_tokens(context))

        def log(message: str) -> None:
            demisto.debug(redact(message))

        route_library_logs(log)
        if command not in COMMANDS:
            raise ConfigError(f"Command '{command}' is not implemented by this integration.")
        run = build_run(params, args, command, context, log)
        run.file_path, run.instance = demisto.getFilePath, str(demisto.integrationInstance() or "")
        if command == "fetch-incidents":
            run.last_run = demisto.getLastRun()
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

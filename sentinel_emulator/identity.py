"""Emulated Entra ID and managed identity: app registrations, token issuance, bearer validation.

Tokens are HS256 JWTs that the emulator also tracks (principal, audience, expiry by the injected
clock), so ARM can tell "unknown", "expired" and "wrong audience" apart. Token responses follow
the v2.0 token endpoint, App Service (`expires_on`) and IMDS (`expires_in`) formats.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .clock import Clock, format_utc, system_clock
from .errors import AadError, ArmError
from .state import Caller

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RESERVED_SCOPES = {"openid", "profile", "offline_access"}
PUBLIC_ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")


@dataclass
class App:
    """An app registration with a client secret and/or a certificate."""

    client_id: str
    display_name: str
    object_id: str
    secret: str | None = None
    public_key: rsa.RSAPublicKey | None = None
    sha1_thumbprint: str | None = None  # hex, upper case
    sha256_thumbprint: str | None = None

    def caller(self) -> Caller:
        return Caller(self.client_id, self.object_id, self.display_name)


@dataclass
class ManagedIdentity:
    client_id: str
    object_id: str
    resource_id: str
    system: bool

    @property
    def principal(self) -> str:
        return "system" if self.system else self.client_id

    def caller(self) -> Caller:
        """As Sentinel shows it (comment author, createdBy): a user-assigned identity by its resource name."""
        name = "System-assigned identity" if self.system else self.resource_id.rstrip("/").rsplit("/", 1)[-1]
        return Caller(self.principal, self.object_id, name or "User-assigned identity")


class TokenRejected(Exception):
    """A bearer token a host refuses. reason: missing | malformed | unknown | expired | audience."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class IssuedToken:
    caller: Caller
    audience: str
    expires_at: float

    @property
    def principal(self) -> str:
        return self.caller.principal


@dataclass(frozen=True)
class Certificate:
    private_key_pem: str
    certificate_pem: str
    sha1_thumbprint: str  # hex, upper case
    public_key: rsa.RSAPublicKey
    sha256_thumbprint: str


def make_certificate(common_name: str = "sentinel-emulator-client") -> Certificate:
    """A self-signed RSA certificate for certificate-credential apps."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256())
    )
    return Certificate(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        sha1_thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),
        public_key=key.public_key(),
        sha256_thumbprint=cert.fingerprint(hashes.SHA256()).hex().upper(),
    )


def _b64url_to_hex(value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex().upper()
    except (binascii.Error, ValueError):
        return ""


class Identity:
    """One tenant's directory plus the token service."""

    def __init__(self, tenant_id: str, clock: Clock = system_clock, token_lifetime: int = 3600) -> None:
        self.tenant_id = tenant_id
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.apps: dict[str, App] = {}
        self.identities: list[ManagedIdentity] = []
        self.identity_header = secrets.token_urlsafe(24)
        self.token_requests: Counter[str] = Counter()
        self._tokens: dict[str, IssuedToken] = {}
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    # region registration

    def register_app(self, app: App) -> App:
        self.apps[app.client_id.lower()] = app
        return app

    def register_identity(self, identity: ManagedIdentity) -> ManagedIdentity:
        self.identities.append(identity)
        return identity

    # endregion

    # region issuing

    def issue(self, caller: Caller, audience: str) -> tuple[str, IssuedToken]:
        now = self.clock()
        issued = IssuedToken(caller, audience.rstrip("/"), now + self.token_lifetime)
        claims = {
            "aud": audience, "iss": f"https://sts.windows.net/{self.tenant_id}/", "iat": int(now),
            "nbf": int(now), "exp": int(issued.expires_at), "appid": caller.principal, "oid": caller.object_id,
            "sub": caller.object_id, "tid": self.tenant_id, "idtyp": "app", "ver": "1.0",
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        with self._lock:
            self._tokens[token] = issued
            self.token_requests[caller.principal] += 1
        return token, issued

    def openid_configuration(self, base: str, tenant: str) -> dict:
        self._check_tenant(tenant, discovery=True)
        root = f"{base}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "sentinel-emulator.local",
        }

    def client_credentials(self, base: str, tenant: str, form: dict[str, str], basic: tuple[str, str] | None) -> dict:
        """The v2.0 token endpoint for grant_type=client_credentials."""
        self._check_tenant(tenant)
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise AadError(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{grant}'.")
        client_id = form.get("client_id") or (basic[0] if basic else "")
        if not client_id:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_id'.")
        app = self.apps.get(client_id.lower())
        if app is None:
            raise AadError(400, "unauthorized_client", 700016,
                           f"Application with identifier '{client_id}' was not found in the directory "
                           f"'{self.tenant_id}'.")
        resource = self._resource_from_scope(form.get("scope"))
        secret = form.get("client_secret") or (basic[1] if basic else None)
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise AadError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
            self._verify_assertion(app, form["client_assertion"], base, tenant)
        elif secret is not None:
            if app.secret is None or not secrets.compare_digest(secret, app.secret):
                raise AadError(401, "invalid_client", 7000215,
                               "Invalid client secret provided. Ensure the secret being sent in the request is the "
                               "client secret value, not the client secret ID, for a secret added to app "
                               f"'{app.client_id}'.")
        else:
            raise AadError(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or "
                           "'client_secret'.")
        token, issued = self.issue(app.caller(), resource)
        lifetime = int(issued.expires_at - self.clock())
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}

    def _check_tenant(self, tenant: str, discovery: bool = False) -> None:
        if tenant.lower() != self.tenant_id.lower():
            raise AadError(400, "invalid_tenant" if discovery else "invalid_request", 90002,
                           f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
                           "are signing into the correct cloud.")

    @staticmethod
    def _resource_from_scope(scope: str | None) -> str:
        if not scope:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'scope'.")
        scopes = [s for s in scope.split() if s not in RESERVED_SCOPES]
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AadError(400, "invalid_scope", 1002012,
                           f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                           "scope value with /.default suffixed to the resource identifier (application ID URI).")
        return scopes[0][: -len("/.default")]

    def _verify_assertion(self, app: App, assertion: str, base: str, tenant: str) -> None:
        if app.public_key is None:
            raise AadError(401, "invalid_client", 700027,
                           "Client assertion failed signature validation: no certificate is registered for app "
                           f"'{app.client_id}'.")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise AadError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
        sha1 = _b64url_to_hex(header.get("x5t", "")) if header.get("x5t") else ""
        sha256 = _b64url_to_hex(header.get("x5t#S256", "")) if header.get("x5t#S256") else ""
        if sha1 != app.sha1_thumbprint and sha256 != app.sha256_thumbprint:
            raise AadError(401, "invalid_client", 700027,
                           f"Client assertion failed signature validation. The key was not found: the thumbprint "
                           f"in the assertion header does not match a certificate of app '{app.client_id}'.")
        audiences = [f"{base}/{tenant}/oauth2/v2.0/token", f"{base}/{tenant}/v2.0", f"{base}/{tenant}"]
        try:
            claims = jwt.decode(assertion, app.public_key, algorithms=["RS256", "PS256"], audience=audiences,
                                leeway=300, options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AadError(401, "invalid_client", 700024,
                           "Client assertion is not within its valid time range.") from None
        except jwt.InvalidAudienceError:
            raise AadError(401, "invalid_client", 700212,
                           f"No matching federated identity record found for presented assertion audience; "
                           f"expected one of {', '.join(audiences)}.") from None
        except jwt.InvalidSignatureError:
            raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from None
        except jwt.PyJWTError as exc:
            raise AadError(401, "invalid_client", 50027, f"JWT token is invalid or malformed: {exc}.") from None
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise AadError(401, "invalid_client", 700021,
                           "Client assertion application identifier doesn't match 'client_id' parameter.")

    def find_identity(self, selector: dict[str, str]) -> ManagedIdentity | None:
        """The managed identity named by client_id / object_id / mi_res_id, or the system one."""
        for key in ("client_id", "object_id", "principal_id", "mi_res_id", "msi_res_id"):
            wanted = selector.get(key)
            if wanted:
                for ident in self.identities:
                    if wanted.lower() in (ident.client_id.lower(), ident.object_id.lower(), ident.resource_id.lower()):
                        return ident
                return None
        return next((i for i in self.identities if i.system), None)

    # endregion

    # region validating

    def check_token(self, header: str | None, allowed_audiences: set[str]) -> IssuedToken:
        """The token behind an `Authorization` header if it is for one of `allowed_audiences`, else
        TokenRejected (each host turns that into its own error shape)."""
        if not header:
            raise TokenRejected("missing", "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRejected("malformed",
                                "Authentication failed. The 'Authorization' header is provided in an invalid format.")
        with self._lock:
            issued = self._tokens.get(token.strip())
        if issued is None:
            raise TokenRejected("unknown", "The access token is invalid.")
        now = self.clock()
        if issued.expires_at <= now:
            raise TokenRejected("expired", f"The access token expiry UTC time '{format_utc(issued.expires_at)}' is "
                                           f"earlier than current UTC time '{format_utc(now)}'.")
        allowed = {a.rstrip("/").lower() for a in allowed_audiences}
        if issued.audience.lower() not in allowed:
            raise TokenRejected("audience", f"The access token has been obtained for wrong audience or resource "
                                            f"'{issued.audience}'. It should exactly match with one of the allowed "
                                            f"audiences '{', '.join(sorted(allowed))}'.")
        return issued

    def authenticate(self, header: str | None, allowed_audiences: set[str], authority: str) -> IssuedToken:
        """The token behind an ARM `Authorization` header, or the 401 ARM would give."""
        try:
            return self.check_token(header, set(allowed_audiences) | set(PUBLIC_ARM_AUDIENCES))
        except TokenRejected as rejected:
            code = "AuthenticationFailed" if rejected.reason in ("missing", "malformed") else \
                "InvalidAuthenticationToken"
            challenge = (f'Bearer authorization_uri="{authority}", error="invalid_token", '
                         f'error_description="{rejected.message}"')
            raise ArmError(401, code, rejected.message, {"WWW-Authenticate": challenge}) from None

    def expire_all(self) -> None:
        """Make every issued token expired (tests of refresh-on-401)."""
        with self._lock:
            now = self.clock()
            self._tokens = {k: IssuedToken(v.caller, v.audience, now) for k, v in self._tokens.items()}

    # endregion

"""HTTP endpoints of the emulated Entra ID and managed identity hosts.

- `GET  /{tenant}/v2.0/.well-known/openid-configuration` (OIDC discovery, MSAL's tenant discovery)
- `POST /{tenant}/oauth2/v2.0/token` (client credentials: secret, or certificate assertion)
- `GET  /msi/token` (App Service / Functions: IDENTITY_ENDPOINT + X-IDENTITY-HEADER)
- `GET  /metadata/identity/oauth2/token` (IMDS, reached through AZURE_POD_IDENTITY_AUTHORITY_HOST)
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from werkzeug.wrappers import Request, Response

from .errors import AadError, json_response
from .identity import Identity
from .routing import Route

APP_SERVICE_VERSION = "2019-08-01"
IMDS_VERSIONS = ("2018-02-01", "2019-08-01", "2021-02-01")


@dataclass
class IdCtx:
    request: Request
    identity: Identity

    @property
    def base(self) -> str:
        return self.request.host_url.rstrip("/")


def openid_configuration(ctx: IdCtx, tenant: str) -> Response:
    return json_response(ctx.identity.openid_configuration(ctx.base, tenant))


def jwks(ctx: IdCtx, tenant: str) -> Response:
    ctx.identity.openid_configuration(ctx.base, tenant)  # 400 for an unknown tenant
    return json_response({"keys": []})


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(user), unquote_plus(password)


def token(ctx: IdCtx, tenant: str) -> Response:
    form = {k: v for k, v in ctx.request.form.items()}
    basic = _basic_auth(ctx.request.headers.get("Authorization"))
    return json_response(ctx.identity.client_credentials(ctx.base, tenant, form, basic),
                         headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _mi_resource(args: dict) -> str:
    return (args.get("resource") or "").rstrip("/")


def app_service_token(ctx: IdCtx) -> Response:
    args = ctx.request.args
    if ctx.request.headers.get("X-IDENTITY-HEADER") != ctx.identity.identity_header:
        return json_response({"statusCode": 401,
                              "message": "The X-IDENTITY-HEADER header is missing or incorrect."}, 401)
    if args.get("api-version") != APP_SERVICE_VERSION:
        return json_response({"statusCode": 400, "message": f"api-version must be {APP_SERVICE_VERSION}."}, 400)
    resource = _mi_resource(args)
    if not resource:
        return json_response({"statusCode": 400, "message": "The 'resource' query parameter is required."}, 400)
    found = ctx.identity.find_identity(dict(args))
    if found is None:
        return json_response({"statusCode": 400, "message": "No User Assigned or Delegated Managed Identity found "
                                                            "for specified ClientId/ResourceId/PrincipalId."}, 400)
    access_token, issued = ctx.identity.issue(found.caller(), resource)
    return json_response({"access_token": access_token, "expires_on": str(int(issued.expires_at)),
                          "resource": args.get("resource"), "token_type": "Bearer", "client_id": found.client_id})


def imds_token(ctx: IdCtx) -> Response:
    args = ctx.request.args
    if ctx.request.headers.get("Metadata", "").lower() != "true":
        return json_response({"error": "invalid_request",
                              "error_description": "Required metadata header not specified"}, 400)
    if args.get("api-version") not in IMDS_VERSIONS:
        return json_response({"error": "invalid_request",
                              "error_description": "Required queryparameter api-version not specified or invalid"}, 400)
    resource = _mi_resource(args)
    if not resource:
        return json_response({"error": "invalid_request",
                              "error_description": "Required queryparameter resource not specified"}, 400)
    found = ctx.identity.find_identity(dict(args))
    if found is None:
        return json_response({"error": "invalid_request", "error_description": "Identity not found"}, 400)
    access_token, issued = ctx.identity.issue(found.caller(), resource)
    now = int(ctx.identity.clock())
    lifetime = str(int(issued.expires_at) - now)
    return json_response({"access_token": access_token, "client_id": found.client_id, "expires_in": lifetime,
                          "expires_on": str(int(issued.expires_at)), "ext_expires_in": lifetime,
                          "not_before": str(now), "resource": args.get("resource"), "token_type": "Bearer"})


ROUTES: dict[str, tuple[str, str, Route]] = {
    "aad.openid": ("GET", "/<tenant>/v2.0/.well-known/openid-configuration", Route(openid_configuration, "aad")),
    "aad.openid.v1": ("GET", "/<tenant>/.well-known/openid-configuration", Route(openid_configuration, "aad")),
    "aad.keys": ("GET", "/<tenant>/discovery/v2.0/keys", Route(jwks, "aad")),
    "aad.token": ("POST", "/<tenant>/oauth2/v2.0/token", Route(token, "aad", "write")),
    "mi.appservice": ("GET", "/msi/token", Route(app_service_token, "mi")),
    "mi.imds": ("GET", "/metadata/identity/oauth2/token", Route(imds_token, "mi")),
}


def aad_unavailable(status: int, retry_after: int) -> tuple[AadError, dict[str, str]]:
    """An injected token-endpoint fault, in AAD's shape."""
    if status == 429:
        err = AadError(429, "temporarily_unavailable", 50196, "The server is temporarily throttling requests.")
    else:
        err = AadError(status, "temporarily_unavailable", 90033,
                       "A transient error has occurred. Please try again.")
    return err, {"Retry-After": str(retry_after)}

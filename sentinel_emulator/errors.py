"""Error mapping: ARM `{"error": {"code", "message"}}` and Entra ID (AAD) error bodies.

Handlers raise `ArmError` / `AadError`; the app turns them into responses in one place.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from werkzeug.wrappers import Response


class ArmError(Exception):
    """An ARM error: HTTP status, ARM code, message and optional extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class AadError(Exception):
    """An Entra ID token-endpoint error (`invalid_client`, AADSTS codes...)."""

    def __init__(self, status: int, error: str, aadsts: int, description: str):
        super().__init__(f"{error}: AADSTS{aadsts}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description


def bad_request(message: str, code: str = "BadRequest") -> ArmError:
    return ArmError(400, code, message)


def not_found(message: str, code: str = "NotFound") -> ArmError:
    return ArmError(404, code, message)


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    response = Response(data, status=status, headers=headers)
    if body is not None:
        response.content_type = "application/json; charset=utf-8"
    return response


def arm_error_response(err: ArmError) -> Response:
    headers = {"x-ms-failure-cause": "gateway" if err.status in (401, 429) else "service"}
    headers.update(err.headers)
    return json_response({"error": {"code": err.code, "message": err.message}}, err.status, headers)


def aad_error_response(err: AadError) -> Response:
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": err.error,
        "error_description": (
            f"AADSTS{err.aadsts}: {err.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [err.aadsts],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={err.aadsts}",
    }
    return json_response(body, err.status, {"Cache-Control": "no-store, no-cache"})

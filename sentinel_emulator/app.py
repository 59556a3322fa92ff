"""The WSGI application: route, then (for ARM) latency, faults, auth, api-version, throttling,
handler; every request is logged (never its Authorization header)."""

from __future__ import annotations

import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Callable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from . import entra, routing, validation
from .context import Ctx, parse_json
from .errors import AadError, ArmError, aad_error_response, arm_error_response, json_response
from .faults import FaultInjector
from .identity import Identity
from .recording import RequestLog, RequestRecord, ResetConnection
from .schema import spec_validator
from .store import Store
from .throttle import Throttle

FAULT_ERRORS = {
    "408": (408, "RequestTimeout", "The request timed out."),
    "429": (429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation "
                                    "type - Read_ObservationWindow_00:05:00. For more information, refer to - "
                                    "https://aka.ms/srpthrottlinglimits"),
    "500": (500, "InternalServerError", "Encountered internal server error. Diagnostic information: timestamp "
                                        "'emulated', tracking id 'emulated'."),
    "502": (502, "BadGateway", "The gateway did not receive a valid response from the backend."),
    "503": (503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    "504": (504, "GatewayTimeout", "The gateway did not receive a response within the specified time period."),
}


@dataclass
class EmulatorApp:
    store: Store
    identity: Identity
    throttle: Throttle
    faults: FaultInjector
    latency_ms: int = 0
    sleep: Callable[[float], None] = time.sleep
    audiences: set[str] = field(default_factory=set)
    authority: str = ""
    log: RequestLog = field(default_factory=RequestLog)

    def __post_init__(self) -> None:
        self.map, self.routes = routing.build_map(entra.ROUTES)

    @property
    def requests(self) -> list[RequestRecord]:
        return self.log.records

    def __call__(self, environ: dict, start_response: Callable) -> object:
        request = Request(environ)
        record = RequestRecord(request.method, request.path, dict(request.args.items()), request.host)
        try:
            response = self.dispatch(request, record)
        except ResetConnection:
            self._log(record)
            raise
        if response.status_code == 204 or not response.get_data():
            response.set_data(b"")
            response.headers.pop("Content-Type", None)  # an empty answer has no content type (not text/plain)
        record.status = response.status_code
        self._log(record)
        return response(environ, start_response)

    def _log(self, record: RequestRecord) -> None:
        self.log.append(record)

    def dispatch(self, request: Request, record: RequestRecord) -> Response:
        is_arm = routing.is_arm_path(request.path)
        try:
            adapter = self.map.bind(request.host, url_scheme=request.scheme)
            endpoint, args = adapter.match(routing.canonical_path(request.path), method=request.method)
        except NotFound:
            if is_arm:
                return arm_error_response(ArmError(404, "InvalidResourceType",
                                                   f"The resource type could not be found for path '{request.path}'."))
            return json_response({"error": "not_found", "error_description": f"No endpoint at {request.path}."}, 404)
        except MethodNotAllowed:
            return arm_error_response(ArmError(405, "MethodNotAllowed", "The requested resource does not support "
                                                                        f"http method '{request.method}'."))
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code or 400)
        record.endpoint = endpoint
        route = self.routes[endpoint]
        try:
            if route.group == "arm":
                return self._arm(request, record, route, args)
            return self._identity(request, record, route, args)
        except ArmError as err:
            return arm_error_response(err)
        except AadError as err:
            return aad_error_response(err)
        except ResetConnection:
            raise
        except Exception:  # a bug in the emulator: answer like ARM would, and say why on stderr
            traceback.print_exc(file=sys.stderr)
            return arm_error_response(ArmError(500, "InternalServerError", "The emulator failed on this request."))

    # region ARM

    def _arm(self, request: Request, record: RequestRecord, route: routing.Route, args: dict) -> Response:
        if self.latency_ms:
            self.sleep(self.latency_ms / 1000.0)
        scopes = {"arm", route.kind} | ({"list"} if route.is_list else set()) | (
            {"get"} if request.method == "GET" else set())
        fault = self.faults.pick(scopes)
        if fault:
            record.fault = fault
            self._raise_fault(fault)
        issued = self.identity.authenticate(request.headers.get("Authorization"),
                                            self.audiences | {request.host_url.rstrip("/")}, self.authority)
        record.principal = issued.principal
        version = request.args.get("api-version")
        if not version:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        if version not in route.versions:
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{version}' is invalid. The supported versions are "
                           f"'{','.join(route.versions)}'.")
        decision = self.throttle.take(issued.principal, route.kind)
        header = f"x-ms-ratelimit-remaining-subscription-{'reads' if route.kind == 'read' else 'writes'}"
        if not decision.allowed:
            operation = "Read" if route.kind == "read" else "Write"
            raise ArmError(429, "TooManyRequests",
                           f"The request is being throttled as the limit has been reached for operation type - "
                           f"{operation}_ObservationWindow_00:05:00. For more information, refer to - "
                           "https://aka.ms/srpthrottlinglimits",
                           {"Retry-After": str(decision.retry_after), header: "0"})
        validation.check_path(args, route.operation)
        if route.operation is not None and route.operation.body is not None:
            validation.check_body(spec_validator(), route.operation, parse_json(request))
        response = route.handler(Ctx(request, self.store, issued.caller, version), **args)
        response.headers[header] = str(decision.remaining)
        response.headers["x-ms-request-id"] = str(uuid.uuid4())
        response.headers["x-ms-correlation-request-id"] = str(uuid.uuid4())
        return response

    def _raise_fault(self, fault: str) -> None:
        if fault == "reset":
            raise ResetConnection("fault injection: connection reset")
        status, code, message = FAULT_ERRORS[fault]
        headers = {"Retry-After": str(self.faults.plan.retry_after)} if status in (429, 503) else {}
        raise ArmError(status, code, message, headers)

    # endregion

    def _identity(self, request: Request, record: RequestRecord, route: routing.Route, args: dict) -> Response:
        record.principal = request.form.get("client_id") if route.group == "aad" else (
            request.args.get("client_id") or request.args.get("object_id") or request.args.get("mi_res_id")
            or request.args.get("msi_res_id") or "system")
        fault = self.faults.pick({"token"})
        if fault:
            record.fault = fault
            if fault == "reset":
                raise ResetConnection("fault injection: connection reset")
            status = FAULT_ERRORS[fault][0]
            err, headers = entra.aad_unavailable(status, self.faults.plan.retry_after)
            response = aad_error_response(err)
            response.headers.update(headers)
            return response
        return route.handler(entra.IdCtx(request, self.identity), **args)

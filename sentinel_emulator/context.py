"""What an ARM handler gets: the request, the store, the caller, and list/etag helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from werkzeug.wrappers import Request

from . import odata
from .errors import ArmError, bad_request
from .state import Caller, Record, Workspace
from .store import Store

PAGE_SIZE = 50
ENVELOPE_PATHS = ("id", "name", "type", "etag", "kind")


def property_checker(type_name: str, properties: tuple[str, ...] | None) -> Callable[[str], None]:
    """A $filter/$orderby path check: envelope fields, or properties/<a spec property>[/...]."""
    def check(path: str) -> None:
        parts = path.split("/")
        if len(parts) == 1 and parts[0] in ENVELOPE_PATHS:
            return
        if parts[0] == "properties" and len(parts) >= 2 and (properties is None or parts[1] in properties):
            return
        raise bad_request(f"Could not find a property named '{path}' on type '{type_name}'. "
                          "Property paths look like 'properties/severity' or 'name'.")
    return check


def same_etag(a: str | None, b: str | None) -> bool:
    def norm(tag: str | None) -> str:
        tag = (tag or "").strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        return tag.strip('"')
    return norm(a) == norm(b)


def parse_json(request: Request) -> Any:
    """The request body as JSON ({} when empty), or ARM's 400 for a body that is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request("The request content was invalid and could not be deserialized: "
                          "the body is not valid JSON.", "InvalidRequestContent") from None


@dataclass
class Ctx:
    request: Request
    store: Store
    caller: Caller
    api_version: str

    @property
    def base(self) -> str:
        return self.request.host_url.rstrip("/")

    def json(self) -> Any:
        return parse_json(self.request)

    def workspace(self, sub: str, rg: str, ws: str) -> Workspace:
        return self.store.workspace(sub, rg, ws)

    def check_etag(self, body: Any, rec: Record, arm_id: str) -> None:
        """409 when the body's etag (or If-Match) is not the current one; no etag = last writer wins."""
        sent = body.get("etag") if isinstance(body, dict) else None
        if_match = self.request.headers.get("If-Match")
        for candidate in (sent, if_match):
            if candidate and candidate != "*" and not same_etag(candidate, rec.etag):
                raise ArmError(409, "Conflict", f"Newer version of resource '{arm_id}' exists. Data was not saved")

    def list_query(self, check_path: Callable[[str], None], max_top: int | None = None,
                   resolver: odata.Resolver = odata.default_resolver, odata_options: bool = True) -> odata.ListQuery:
        args = self.request.args
        query = odata.ListQuery(skip_token=args.get("$skipToken") or args.get("$skiptoken") or None)
        if not odata_options:
            return query
        text = args.get("$filter", "")
        if text.strip():
            query.filter_text = text
            query.predicate = odata.parse_filter(text, resolver, check_path)
        query.orderby = odata.parse_orderby(args.get("$orderby"), check_path) or None
        query.top = odata.parse_top(args.get("$top"), max_top)
        return query

    def page(self, items: Iterable[Any], query: odata.ListQuery, default_order: list[odata.OrderKey],
             resolver: odata.Resolver = odata.default_resolver, **options: Any) -> dict:
        """One page of `items` (see odata.paginate for `presorted` and `render`)."""
        return odata.paginate(items, query, self.request.base_url, {"api-version": self.api_version},
                              default_order, resolver, PAGE_SIZE, **options)


def asc(path: str) -> odata.OrderKey:
    return odata.OrderKey(path, False)


def desc(path: str) -> odata.OrderKey:
    return odata.OrderKey(path, True)

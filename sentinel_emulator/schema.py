"""The 2025-12-01 specification as data: its definitions, its operations, and one JSON checker
used two ways.

- **Responses** (`SpecValidator.check`, used by the tests): strict. No property the spec does
  not define, enum values, JSON types, required fields, `allOf` chains and `kind`-style
  discriminators. Nulls pass where a value is optional (Azure sends them).
- **Requests** (`SpecValidator.request_problems`, used by the app before a PUT/POST handler
  runs): what ARM refuses. Wrong JSON types (an object where a string is expected), enum values
  that do not exist, date-times, durations and GUIDs that do not parse, missing required
  properties. Read-only properties are skipped (clients send back what they read) and unknown
  properties are ignored, as ARM does.

The swagger files live in `spec/` (unmodified). The few definitions they borrow from files not
copied here are stubbed in `_EXTERNAL`; `_supplement` adds the NRT analytics-rule kind, which
the real service serves but the 2025-12-01 stable files do not describe.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clock import parse_ticks

SPEC_DIR = Path(__file__).resolve().parent / "spec"
FILES = ("AlertRules.json", "AutomationRules.json", "Bookmarks.json", "Incidents.json", "ThreatIntelligence.json",
         "Watchlists.json")

# Definitions from files the spec references but that are not part of this folder.
_EXTERNAL: dict[str, dict] = {
    "Resource": {"type": "object", "properties": {
        "id": {"type": "string", "readOnly": True}, "name": {"type": "string", "readOnly": True},
        "type": {"type": "string", "readOnly": True},
        "systemData": {"type": "object", "additionalProperties": True, "readOnly": True}}},
    "ResourceWithEtag": {"type": "object", "properties": {
        "id": {"type": "string", "readOnly": True}, "name": {"type": "string", "readOnly": True},
        "type": {"type": "string", "readOnly": True}, "etag": {"type": "string"},
        "systemData": {"type": "object", "additionalProperties": True, "readOnly": True}}},
    "ClientInfo": {"type": "object", "properties": {
        "email": {"type": "string"}, "name": {"type": "string"}, "objectId": {"type": "string"},
        "userPrincipalName": {"type": "string"}}},
    "UserInfo": {"type": "object", "properties": {
        "email": {"type": "string"}, "name": {"type": "string"}, "objectId": {"type": "string"}}},
    "Label": {"type": "string"},
}
_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}
_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$", re.IGNORECASE)
_NRT_DROPPED = ("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold")


@dataclass(frozen=True)
class Problem:
    """One way a JSON value differs from the spec. `kind`: type | enum | format | required | unknown."""

    where: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: its path template and (for PUT/POST) its body schema."""

    file: str
    method: str
    template: str
    operation_id: str
    body: dict | None
    body_required: bool
    path_parameters: dict[str, dict]

    @property
    def shape(self) -> tuple[str, ...]:
        return path_shape(self.template)


def path_shape(template: str) -> tuple[str, ...]:
    """Fixed segments lower-cased, parameters ({x} or <x>) as '*': how routes and spec paths meet."""
    out = []
    for part in template.strip("/").split("/"):
        out.append("*" if part[:1] in "{<" else part.lower())
    return tuple(out)


def _supplement(file: str, spec: dict) -> dict:
    """The NRT analytics-rule kind (Scheduled's properties without its schedule and trigger)."""
    if file != "AlertRules.json":
        return spec
    spec = copy.deepcopy(spec)
    definitions = spec["definitions"]
    kinds = definitions["AlertRuleKindEnum"]
    kinds["enum"].append("NRT")
    kinds.get("x-ms-enum", {}).get("values", []).append({"value": "NRT"})
    common = definitions["ScheduledAlertRuleCommonProperties"]["properties"]
    scheduled = definitions["ScheduledAlertRuleProperties"]
    properties = {k: v for k, v in {**common, **scheduled["properties"]}.items() if k not in _NRT_DROPPED}
    definitions["NrtAlertRuleProperties"] = {
        "description": "NRT alert rule properties (supplement: not in the 2025-12-01 stable files).",
        "type": "object", "properties": properties,
        "required": [r for r in scheduled["required"] if r not in _NRT_DROPPED]}
    definitions["NrtAlertRule"] = {
        "allOf": [{"$ref": "#/definitions/AlertRule"}], "type": "object", "x-ms-discriminator-value": "NRT",
        "properties": {"properties": {"$ref": "#/definitions/NrtAlertRuleProperties"}}}
    return spec


class SpecValidator:
    """Reads the swagger files once (thread-safe) and checks JSON values against definitions."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        self.spec_dir = spec_dir
        self._files: dict[Path, dict] = {}
        self._lock = threading.Lock()
        self._operations: list[Operation] | None = None

    # region loading and $ref resolution

    def _load(self, path: Path) -> dict:
        path = path.resolve()
        with self._lock:
            if path not in self._files:
                self._files[path] = _supplement(path.name, json.loads(path.read_text()))
            return self._files[path]

    def _resolve(self, ref: str, base: Path) -> tuple[dict, Path]:
        file_part, _, pointer = ref.partition("#")
        target = (base.parent / file_part).resolve() if file_part else base
        name = pointer.rsplit("/", 1)[-1]
        if file_part and not target.exists():
            if name not in _EXTERNAL:
                raise KeyError(f"unresolvable $ref {ref}")
            return _EXTERNAL[name], base
        node: Any = self._load(target)
        for part in pointer.strip("/").split("/"):
            node = node[part]
        return node, target

    def definition(self, file: str, name: str) -> tuple[dict, Path]:
        path = self.spec_dir / file
        return self._load(path)["definitions"][name], path.resolve()

    def _flatten(self, schema: dict, base: Path) -> tuple[dict, list[str], Any, dict[str, Path]]:
        """Merge allOf chains: (properties, required, additionalProperties, property -> base file)."""
        if "$ref" in schema:
            target, target_base = self._resolve(schema["$ref"], base)
            return self._flatten(target, target_base)
        props: dict[str, dict] = {}
        bases: dict[str, Path] = {}
        required = list(schema.get("required", []))
        extra = schema.get("additionalProperties", False)
        for part in schema.get("allOf", []):
            p, r, e, b = self._flatten(part, base)
            props.update(p)
            bases.update(b)
            required += r
            extra = extra or e
        for key, value in schema.get("properties", {}).items():
            props[key] = value
            bases[key] = base
        return props, required, extra, bases

    def _discriminator(self, schema: dict, base: Path) -> str | None:
        if "discriminator" in schema:
            return schema["discriminator"]
        for part in schema.get("allOf", []):
            if "$ref" in part:
                found = self._discriminator(*self._resolve(part["$ref"], base))
                if found:
                    return found
        return None

    def _discriminated(self, schema: dict, base: Path, value: dict) -> tuple[dict, Path]:
        """The subtype named by the value's discriminator (kind, actionType...), from the same file."""
        field = self._discriminator(schema, base)
        wanted = value.get(field) if field else None
        if wanted is None or schema.get("x-ms-discriminator-value") == wanted:
            return schema, base
        definitions = self._load(base)["definitions"]
        parent = next((n for n, d in definitions.items() if d is schema), None)
        for candidate in definitions.values():
            parents = [p.get("$ref", "").rsplit("/", 1)[-1] for p in candidate.get("allOf", [])]
            if candidate.get("x-ms-discriminator-value") == wanted and (parent is None or parent in parents):
                return candidate, base
        return schema, base

    # endregion

    # region checking

    def problems(self, value: Any, schema: dict, base: Path, where: str = "$", request: bool = False) -> list[Problem]:
        """Every way `value` differs from `schema` (request=True: the lenient request rules)."""
        if "$ref" in schema:
            target, target_base = self._resolve(schema["$ref"], base)
            return self.problems(value, target, target_base, where, request)
        if value is None:
            return []
        found: list[Problem] = []
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(str(v) for v in schema["enum"])
            found.append(Problem(where, "enum", f"{value!r} is not one of {schema['enum']}" if not request else
                                 f"has the value {_shown(value)}, which is not allowed; allowed values: {allowed}"))
        expected = schema.get("type") or ("object" if "properties" in schema or "allOf" in schema else None)
        if expected and (not isinstance(value, _TYPES[expected])
                         or (expected in ("integer", "number") and isinstance(value, bool))):
            return [Problem(where, "type", f"must be {_article(expected)}, not {_json_type(value)}")] if request \
                else found + [Problem(where, "type", f"expected {expected}, got {type(value).__name__}")]
        if request and isinstance(value, str):
            found += _format_problems(value, schema.get("format"), where)
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                found += self.problems(item, schema["items"], base, f"{where}[{i}]", request)
        if isinstance(value, dict) and (expected == "object" or "allOf" in schema or "properties" in schema):
            found += self._object_problems(value, schema, base, where, request)
        return found

    def _subtypes(self, schema: dict, base: Path) -> list[str]:
        """The discriminator values of the definitions that extend `schema` directly."""
        definitions = self._load(base)["definitions"]
        parent = next((n for n, d in definitions.items() if d is schema), None)
        return [d["x-ms-discriminator-value"] for d in definitions.values() if "x-ms-discriminator-value" in d
                and parent in [p.get("$ref", "").rsplit("/", 1)[-1] for p in d.get("allOf", [])]]

    def _object_problems(self, value: dict, schema: dict, base: Path, where: str, request: bool) -> list[Problem]:
        implied = None  # a request may leave out a discriminator that has only one possible value
        field = self._discriminator(schema, base) if request else None
        if field and value.get(field) is None and ("x-ms-discriminator-value" in schema or (
                "discriminator" in schema and len(self._subtypes(schema, base)) == 1)):
            implied = field
        schema, base = self._discriminated(schema, base, value)
        props, required, extra, bases = self._flatten(schema, base)
        found: list[Problem] = []
        for key in required:
            readonly = props.get(key, {}).get("readOnly")
            missing = key not in value or (request and value[key] is None)
            if missing and not (request and readonly) and key != implied:
                found.append(Problem(_join(where, key), "required",
                                     "is required" if request else f"missing required {key!r}"))
        for key, item in value.items():
            if key in props:
                if request and props[key].get("readOnly"):
                    continue
                found += self.problems(item, props[key], bases[key], _join(where, key), request)
            elif isinstance(extra, dict):
                found += self.problems(item, extra, base, _join(where, key), request)
            elif not request and not extra and (props or "additionalProperties" in schema):
                found.append(Problem(where, "unknown", f"{key!r} is not defined by the spec"))
        return found

    def errors(self, value: Any, schema: dict, base: Path, where: str = "$") -> list[str]:
        """Strict (response) problems as text."""
        return [str(p) for p in self.problems(value, schema, base, where)]

    def check(self, value: Any, file: str, definition: str) -> list[str]:
        """Strict (response) check of `value` against a named definition."""
        schema, base = self.definition(file, definition)
        return self.errors(value, schema, base)

    def request_problems(self, operation: Operation, body: Any) -> list[Problem]:
        """What ARM would refuse in this operation's request body (where paths without a leading '$.')."""
        if operation.body is None:
            return []
        base = (self.spec_dir / operation.file).resolve()
        return [Problem(p.where.removeprefix("$.").removeprefix("$"), p.kind, p.message)
                for p in self.problems(body, operation.body, base, "$", request=True)]

    # endregion

    # region operations

    def operations(self) -> list[Operation]:
        """Every operation in the spec files, with its body schema and path parameters resolved."""
        if self._operations is None:
            found = []
            for file in FILES:
                path = (self.spec_dir / file).resolve()
                spec = self._load(path)
                for template, ops in spec.get("paths", {}).items():
                    for method, op in ops.items():
                        if method != "parameters":
                            found.append(self._operation(file, path, template, method, op))
            self._operations = found
        return self._operations

    def _operation(self, file: str, path: Path, template: str, method: str, op: dict) -> Operation:
        body: dict | None = None
        required = False
        path_parameters: dict[str, dict] = {}
        for parameter in op.get("parameters", []):
            if "$ref" in parameter:
                if parameter["$ref"].startswith("#"):
                    parameter, _ = self._resolve(parameter["$ref"], path)
                else:
                    continue  # common-types parameters (api-version, subscription, group, workspace)
            if parameter.get("in") == "body":
                body, required = parameter.get("schema"), bool(parameter.get("required"))
            elif parameter.get("in") == "path":
                path_parameters[parameter["name"]] = parameter
        return Operation(file, method.upper(), template, op.get("operationId", ""), body, required, path_parameters)

    def operation(self, method: str, template: str) -> Operation | None:
        """The spec operation for a route template (`<x>` or `{x}` parameters), or None."""
        shape = path_shape(template)
        for op in self.operations():
            if op.method == method.upper() and op.shape == shape:
                return op
        return None

    # endregion


def _join(where: str, key: str) -> str:
    return f"{where}.{key}"


def _article(type_name: str) -> str:
    return {"integer": "an integer", "object": "an object", "array": "an array"}.get(type_name, f"a {type_name}")


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for name, kind in (("a string", str), ("an integer", int), ("a number", float), ("an object", dict),
                       ("an array", list)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _format_problems(value: str, fmt: str | None, where: str) -> list[Problem]:
    if fmt == "date-time" and value and parse_ticks(value) is None:
        return [Problem(where, "format", f"has the value {_shown(value)}, which is not an ISO 8601 date-time")]
    if fmt == "duration" and value and not _DURATION.match(value):
        return [Problem(where, "format", f"has the value {_shown(value)}, which is not an ISO 8601 duration "
                                         "(e.g. PT5H)")]
    if fmt == "uuid" and value:
        try:
            uuid.UUID(value)
        except ValueError:
            return [Problem(where, "format", f"has the value {_shown(value)}, which is not a GUID")]
    return []


_VALIDATOR: SpecValidator | None = None
_VALIDATOR_LOCK = threading.Lock()


def spec_validator() -> SpecValidator:
    """The process-wide validator (the spec files are read once)."""
    global _VALIDATOR
    with _VALIDATOR_LOCK:
        if _VALIDATOR is None:
            _VALIDATOR = SpecValidator()
        return _VALIDATOR

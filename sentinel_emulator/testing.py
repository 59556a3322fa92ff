"""Test helpers: a spec-driven response validator and an HTTPS session that trusts the emulator.

`SpecValidator` reads the Swagger files in `sentinel_emulator/spec/` and checks a JSON value
against a definition: no properties the spec does not define, enum values, JSON types, required
fields, `allOf` and `kind` discriminators. It shares no code with the emulator's serializers, so it
catches shapes the emulator gets wrong. Nulls are accepted where a value is optional (Azure sends them).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests

SPEC_DIR = Path(__file__).resolve().parent / "spec"

# Definitions from files the spec references but that are not part of this folder.
_EXTERNAL: dict[str, dict] = {
    "Resource": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
        "systemData": {"type": "object", "additionalProperties": True}}},
    "ResourceWithEtag": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
        "etag": {"type": "string"}, "systemData": {"type": "object", "additionalProperties": True}}},
    "ClientInfo": {"type": "object", "properties": {
        "email": {"type": "string"}, "name": {"type": "string"}, "objectId": {"type": "string"},
        "userPrincipalName": {"type": "string"}}},
    "UserInfo": {"type": "object", "properties": {
        "email": {"type": "string"}, "name": {"type": "string"}, "objectId": {"type": "string"}}},
    "Label": {"type": "string"},
}
_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}


class SpecValidator:
    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        self.spec_dir = spec_dir
        self._files: dict[Path, dict] = {}

    def _load(self, path: Path) -> dict:
        path = path.resolve()
        if path not in self._files:
            self._files[path] = json.loads(path.read_text())
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

    def _flatten(self, schema: dict, base: Path) -> tuple[dict, list[str], bool, dict[str, Path]]:
        """Merge allOf chains: (properties, required, additionalProperties allowed, property -> base file)."""
        if "$ref" in schema:
            target, target_base = self._resolve(schema["$ref"], base)
            return self._flatten(target, target_base)
        props: dict[str, dict] = {}
        bases: dict[str, Path] = {}
        required = list(schema.get("required", []))
        extra = bool(schema.get("additionalProperties"))
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

    def errors(self, value: Any, schema: dict, base: Path, where: str = "$") -> list[str]:
        if "$ref" in schema:
            target, target_base = self._resolve(schema["$ref"], base)
            return self.errors(value, target, target_base, where)
        if value is None:
            return []
        problems: list[str] = []
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        expected = schema.get("type") or ("object" if "properties" in schema or "allOf" in schema else None)
        if expected and not isinstance(value, _TYPES[expected]) or (expected in ("integer", "number")
                                                                     and isinstance(value, bool)):
            return problems + [f"{where}: expected {expected}, got {type(value).__name__}"]
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                problems += self.errors(item, schema["items"], base, f"{where}[{i}]")
        if isinstance(value, dict) and (expected == "object" or "allOf" in schema or "properties" in schema):
            schema, base = self._discriminated(schema, base, value)
            props, required, extra, bases = self._flatten(schema, base)
            for key in required:
                if key not in value:
                    problems.append(f"{where}: missing required {key!r}")
            for key, item in value.items():
                if key in props:
                    problems += self.errors(item, props[key], bases[key], f"{where}.{key}")
                elif not extra and (props or "additionalProperties" in schema):
                    problems.append(f"{where}: {key!r} is not defined by the spec")
        return problems

    def check(self, value: Any, file: str, definition: str) -> list[str]:
        schema, base = self.definition(file, definition)
        return self.errors(value, schema, base)


@lru_cache(maxsize=1)
def spec_validator() -> SpecValidator:
    return SpecValidator()


def trusting_session(ca_path: str | None) -> requests.Session:
    """A session that trusts only the emulator's CA. `trust_env` is off because REQUESTS_CA_BUNDLE
    and CURL_CA_BUNDLE in the environment would otherwise override `verify`."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path if ca_path else True
    return session

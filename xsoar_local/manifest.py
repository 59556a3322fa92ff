"""The integration manifest (XSOAR YAML), and validation of params and args against it.

`Manifest.validate_params` and `Manifest.validate_args` do what the platform does before it runs
a command: refuse unknown names, enforce required values and predefined options, coerce booleans,
credentials and multi-selects, and fill defaults. Every refusal is a one-line `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.errors import ConfigError, did_you_mean

# Parameter type codes (demisto-sdk ParameterType) that the host treats specially.
TYPE_BOOLEAN = 8
TYPE_CREDENTIALS = 9
TYPE_SINGLE_SELECT = 15
TYPE_MULTI_SELECT = 16

# Commands every integration has without declaring them in `script.commands`.
IMPLICIT_COMMANDS = ("test-module", "fetch-incidents")

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0", ""}
_CREDENTIAL_KEYS = ("identifier", "password")


@dataclass(frozen=True)
class Param:
    """One entry of the manifest's `configuration` list."""

    name: str
    type: int
    display: str
    default: Any
    required: bool
    options: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.name!r} ({self.display})" if self.display else repr(self.name)


@dataclass(frozen=True)
class Argument:
    """One argument of a command."""

    name: str
    required: bool
    is_default: bool
    is_array: bool
    predefined: tuple[str, ...]
    default_value: str | None


@dataclass(frozen=True)
class Command:
    """One command of `script.commands` (or an implicit one, with no arguments)."""

    name: str
    arguments: tuple[Argument, ...] = ()

    @property
    def default_argument(self) -> Argument | None:
        return next((a for a in self.arguments if a.is_default), None)


@dataclass(frozen=True)
class Manifest:
    """The parts of the manifest the host needs, plus the raw mapping (for the README)."""

    path: Path
    raw: Mapping[str, Any]
    params: dict[str, Param]
    commands: dict[str, Command]
    is_fetch: bool

    def command(self, name: str) -> Command:
        """The command called `name`, or a ConfigError suggesting the closest one."""
        if name in self.commands:
            return self.commands[name]
        hint = did_you_mean(name, self.commands) or " Run `azure-sentinel run` to list the commands."
        raise ConfigError(f"unknown command {name!r}.{hint}")

    def validate_params(self, values: Mapping[str, Any], source: str = "instance") -> dict[str, Any]:
        """Instance values -> the params dict the platform would hand the integration."""
        for name in values:
            if name not in self.params:
                hint = did_you_mean(name, self.params) or " Remove it, or check the manifest's configuration names."
                raise ConfigError(f"{source}: unknown parameter {name!r}.{hint}")
        result: dict[str, Any] = {}
        for param in self.params.values():
            value = values.get(param.name)
            if _is_empty(value) and param.default is not None:
                value = param.default
            if _is_empty(value):
                if param.required:
                    raise ConfigError(f"{source}: parameter {param.label} is required; add `{param.name}: <value>`.")
                if param.type == TYPE_BOOLEAN:
                    result[param.name] = False  # an unticked checkbox is still a value
                continue
            result[param.name] = _coerce_param(param, value, source)
        return result

    def validate_args(self, command: Command, values: Mapping[str, str]) -> dict[str, str]:
        """CLI `name=value` pairs -> the args dict the platform would hand the integration."""
        by_name = {a.name: a for a in command.arguments}
        for name in values:
            if name not in by_name:
                known = ", ".join(by_name) or "none"
                hint = did_you_mean(name, by_name) or f" Its arguments are: {known}."
                raise ConfigError(f"{command.name}: unknown argument {name!r}.{hint}")
        result: dict[str, str] = {}
        for arg in command.arguments:
            value = values.get(arg.name)
            if _is_empty(value) and arg.default_value is not None:
                value = arg.default_value
            if _is_empty(value):
                if arg.required:
                    raise ConfigError(f"{command.name}: argument {arg.name!r} is required; add {arg.name}=<value>.")
                continue
            assert value is not None
            if arg.predefined:
                items = [v.strip() for v in value.split(",")] if arg.is_array else [value]
                for item in items:
                    if item not in arg.predefined:
                        raise ConfigError(
                            f"{command.name}: argument {arg.name!r} must be "
                            f"{'a comma-separated list of ' if arg.is_array else 'one of '}"
                            f"{', '.join(arg.predefined)}; got {item!r}.{did_you_mean(item, arg.predefined)}")
            result[arg.name] = value  # isArray values stay strings: splitting is the integration's job
        return result


def load_manifest(path: Path | str) -> Manifest:
    """Read and index a manifest file; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"manifest not found at {path}; set AZURE_SENTINEL_MANIFEST or --manifest.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"manifest {path} is not valid YAML: {_one_line(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"manifest {path} must be a YAML mapping with `configuration` and `script`.")
    return parse_manifest(raw, path)


def parse_manifest(raw: Mapping[str, Any], path: Path | str = "<manifest>") -> Manifest:
    """Index an already-loaded manifest mapping."""
    params = {}
    for item in raw.get("configuration") or []:
        param = Param(
            name=str(item["name"]),
            type=int(item.get("type", 0)),
            display=str(item.get("display") or item.get("displaypassword") or ""),
            default=item.get("defaultvalue"),
            required=bool(item.get("required", False)),
            options=tuple(str(o) for o in item.get("options") or ()),
        )
        params[param.name] = param
    script = raw.get("script") or {}
    commands = {name: Command(name) for name in IMPLICIT_COMMANDS}
    for item in script.get("commands") or []:
        arguments = tuple(
            Argument(
                name=str(a["name"]),
                required=bool(a.get("required", False)),
                is_default=bool(a.get("default", False)),
                is_array=bool(a.get("isArray", False)),
                predefined=tuple(str(v) for v in a.get("predefined") or ()) if a.get("auto") == "PREDEFINED" else (),
                default_value=None if a.get("defaultValue") is None else _text(a["defaultValue"]),
            )
            for a in item.get("arguments") or []
        )
        commands[str(item["name"])] = Command(str(item["name"]), arguments)
    return Manifest(Path(path), raw, params, commands, bool(script.get("isfetch", False)))


def _coerce_param(param: Param, value: Any, source: str) -> Any:
    if param.type == TYPE_BOOLEAN:
        return _to_bool(param, value, source)
    if param.type == TYPE_CREDENTIALS:
        return _to_credentials(param, value, source)
    if param.type == TYPE_MULTI_SELECT:
        if not isinstance(value, (str, list)):
            raise ConfigError(f"{source}: parameter {param.label} must be a list or a comma-separated string, not "
                              f"{value!r}.")
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [_text(v) for v in value]
        items = [v for v in items if v]
        for item in items:
            _check_option(param, item, source)
        return items
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{source}: parameter {param.label} must be a single value, not a {type(value).__name__}.")
    text = _text(value)
    if param.type == TYPE_SINGLE_SELECT:
        _check_option(param, text, source)
    return text


def _to_bool(param: Param, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{source}: parameter {param.label} must be true or false; got {value!r}.")


def _to_credentials(param: Param, value: Any, source: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"identifier": "", "password": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: parameter {param.label} must be a string (the secret) "
                          "or a mapping with identifier and password.")
    for key in value:
        if key not in _CREDENTIAL_KEYS:
            hint = did_you_mean(str(key), _CREDENTIAL_KEYS) or " Use identifier and password."
            raise ConfigError(f"{source}: parameter {param.label} has unknown key {key!r}.{hint}")
    return {key: "" if value.get(key) is None else _text(value[key]) for key in _CREDENTIAL_KEYS}


def _check_option(param: Param, value: str, source: str) -> None:
    if param.options and value not in param.options:
        raise ConfigError(f"{source}: parameter {param.label} must be one of {', '.join(param.options)}; "
                          f"got {value!r}.{did_you_mean(value, param.options)}")


def _text(value: Any) -> str:
    """A scalar as the platform's text fields carry it (YAML `true`/`50` become 'true'/'50')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())

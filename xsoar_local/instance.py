"""The instance file: the values a user would type into the platform's instance form.

A YAML or JSON mapping of manifest param name -> value. Strings may use `${VAR}` or
`${VAR:-default}` to take values (secrets above all) from the environment; `$${` is a literal `${`.
One top-level key is reserved: `env`, a mapping of environment variables set while the integration
runs (e.g. `REQUESTS_CA_BUNDLE` for a private CA); its values expand the same way.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.errors import ConfigError

DEFAULT_INSTANCE = "instance.yml"
INSTANCE_ENV = "AZURE_SENTINEL_INSTANCE"
ENV_KEY = "env"

_REFERENCE = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class Instance:
    """Raw (expanded, not yet validated) param values, and the environment to run with."""

    path: Path
    values: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.path.name


def instance_path(explicit: str | None) -> Path:
    """--instance, else $AZURE_SENTINEL_INSTANCE, else ./instance.yml."""
    return Path(explicit or os.environ.get(INSTANCE_ENV) or DEFAULT_INSTANCE)


def load_instance(path: Path, environ: Mapping[str, str] | None = None) -> Instance:
    """Read an instance file and expand its `${VAR}` references from `environ` (default os.environ)."""
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"instance file {path} not found; create it (param name: value) "
                          f"or pass --instance FILE / set {INSTANCE_ENV}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror or str(exc)
        raise ConfigError(f"instance file {path} cannot be read ({reason}); pass --instance FILE, a YAML or "
                          f"JSON file of params.") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path.name} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{' '.join(str(exc).split())}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name} must be a mapping of param name -> value.")
    values = {str(k): expand(v, environ, f"{path.name}: {k}") for k, v in raw.items()}
    env = values.pop(ENV_KEY, None) or {}
    if not isinstance(env, dict):
        raise ConfigError(f"{path.name}: `{ENV_KEY}` must be a mapping of VARIABLE: value.")
    return Instance(path, values, {str(k): "" if v is None else str(v) for k, v in env.items()})


def expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """Expand `${VAR}` / `${VAR:-default}` in every string inside `value`."""
    if isinstance(value, str):
        return _expand_text(value, environ, where)
    if isinstance(value, list):
        return [expand(v, environ, where) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, environ, f"{where}.{k}") for k, v in value.items()}
    return value


def _expand_text(text: str, environ: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        value = environ.get(name)
        if default is not None and not value:
            return default
        if value is None:
            raise ConfigError(f"{where}: environment variable {name} is not set; "
                              f"export {name}=... or write ${{{name}:-default}}.")
        return value

    leftover = _REFERENCE.sub("", text)
    if "${" in leftover.replace("$${", ""):
        raise ConfigError(f"{where}: malformed ${{...}} reference; use ${{NAME}} or ${{NAME:-default}}.")
    return _REFERENCE.sub(replace, text)

"""A stand-in for the SOAR platform: the `demistomock` object an integration sees, and a runner.

The stand-in offers exactly the platform calls DESIGN §3 allows an integration to use; anything
else raises AttributeError, so a module that reaches for more fails loudly here first.
Each `run_module` call executes the integration file afresh with `__name__ == "__main__"`,
as the platform does for every command (a new process each time).
"""

from __future__ import annotations

import copy
import runpy
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ALLOWED_CALLS = (
    "params", "args", "command", "results", "incidents", "getLastRun", "setLastRun",
    "getIntegrationContext", "setIntegrationContext", "getFilePath", "integrationInstance",
    "debug", "info", "error",
)

MODULE_PATH = Path(__file__).resolve().parent.parent / "AzureSentinel" / "AzureSentinel.py"
MANIFEST_PATH = MODULE_PATH.with_suffix(".yml")

ENTRY_NOTE = 1
ENTRY_ERROR = 4


@dataclass
class Platform:
    """What one command invocation sees, and what it handed back.

    Inputs: params, args, command, last_run, context, files (entry ID -> path), instance.
    Outputs: results (entries, in order), incidents (None until `incidents()` is called),
    new_last_run (None until `setLastRun()` is called), context (updated in place), logs.
    """

    params: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    command: str = "test-module"
    last_run: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    instance: str = "local-instance"
    results: list[Any] = field(default_factory=list)
    incidents: list[dict[str, Any]] | None = None
    new_last_run: dict[str, Any] | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)
    context_writes: int = 0

    def module(self) -> types.ModuleType:
        """A fresh `demistomock` module bound to this invocation, with only the allowed calls."""
        mod = types.ModuleType("demistomock", "Local platform stand-in (xsoar_local.platform).")

        def _results(entry: Any) -> None:
            if isinstance(entry, list):
                self.results.extend(copy.deepcopy(entry))
            else:
                self.results.append(copy.deepcopy(entry))

        def _incidents(items: list[dict[str, Any]] | None = None) -> None:
            self.incidents = copy.deepcopy(list(items or []))

        def _set_last_run(obj: dict[str, Any]) -> None:
            self.new_last_run = copy.deepcopy(obj)

        def _set_context(obj: dict[str, Any]) -> None:
            self.context = copy.deepcopy(obj)
            self.context_writes += 1

        def _get_file_path(entry_id: str) -> dict[str, str]:
            if entry_id not in self.files:
                raise ValueError(f"No file entry with ID {entry_id!r} in this investigation.")
            path = self.files[entry_id]
            return {"path": path, "name": Path(path).name}

        calls = {
            "params": lambda: copy.deepcopy(self.params),
            "args": lambda: copy.deepcopy(self.args),
            "command": lambda: self.command,
            "results": _results,
            "incidents": _incidents,
            "getLastRun": lambda: copy.deepcopy(self.last_run),
            "setLastRun": _set_last_run,
            "getIntegrationContext": lambda: copy.deepcopy(self.context),
            "setIntegrationContext": _set_context,
            "getFilePath": _get_file_path,
            "integrationInstance": lambda: self.instance,
            "debug": lambda msg: self.logs.append(("debug", str(msg))),
            "info": lambda msg: self.logs.append(("info", str(msg))),
            "error": lambda msg: self.logs.append(("error", str(msg))),
        }
        assert set(calls) == set(ALLOWED_CALLS)
        for name, fn in calls.items():
            setattr(mod, name, fn)
        return mod

    @property
    def errors(self) -> list[str]:
        """Contents of the error entries the integration returned."""
        return [str(e.get("Contents")) for e in self.results
                if isinstance(e, dict) and e.get("Type") == ENTRY_ERROR]


def run_module(platform: Platform, module_path: Path | str = MODULE_PATH) -> Platform:
    """Execute the integration once, as the platform would for one command.

    The module is run from its file with `__name__ == "__main__"` and a fresh `demistomock`.
    An exception escaping the module (the way a failed fetch reports itself) propagates.
    """
    saved = sys.modules.get("demistomock")
    sys.modules["demistomock"] = platform.module()
    try:
        runpy.run_path(str(module_path), run_name="__main__")
    finally:
        if saved is None:
            sys.modules.pop("demistomock", None)
        else:
            sys.modules["demistomock"] = saved
    return platform

"""Render an integration README from its manifest, deterministically.

    python -m xsoar_local.readme [--manifest FILE] [--output FILE] [--check]

Writes the params table and, per command, its description, arguments and context outputs.
`--check` writes nothing and exits 1 when the README on disk differs from the rendering.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.platform import MANIFEST_PATH

_TYPE_NAMES = {
    0: "Short text", 1: "Number", 4: "Encrypted", 8: "Boolean", 9: "Credentials", 11: "Download link",
    12: "Long text", 13: "Incident type", 14: "Long encrypted", 15: "Single select", 16: "Multi select",
    17: "Expiration", 18: "Feed reputation", 19: "Interval", 20: "Title", 21: "Day dropdown",
}


def render_readme(manifest: Mapping[str, Any]) -> str:
    """The README text for a manifest mapping (same input, same output)."""
    display = str(manifest.get("display") or manifest.get("name") or "Integration")
    lines = [f"# {display}", ""]
    if manifest.get("description"):
        lines += [_text(manifest["description"]), ""]
    lines += _params_section(display, manifest.get("configuration") or [])
    commands = [c for c in (manifest.get("script") or {}).get("commands") or [] if not c.get("hidden")]
    lines += ["## Commands", "",
              "You can run these commands from the CLI, as part of an automation, or in a playbook.",
              "After you successfully run a command, a DBot message appears in the War Room with the command details.",
              ""]
    for command in commands:
        lines += _command_section(command)
    return "\n".join(lines).rstrip("\n") + "\n"


def _params_section(display: str, params: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = []
    for p in params:
        if p.get("hidden") is True:
            continue
        label = p.get("display") or p.get("displaypassword") or p.get("name")
        default = p.get("defaultvalue")
        notes = [_text(p.get("additionalinfo") or "")]
        if p.get("options"):
            notes.append("Possible values are: " + ", ".join(str(o) for o in p["options"]) + ".")
        if default not in (None, ""):
            notes.append(f"Default is {_scalar(default)}.")
        rows.append([_text(label), f"`{p['name']}`", _TYPE_NAMES.get(int(p.get("type", 0)), str(p.get("type"))),
                     " ".join(n for n in notes if n), "True" if p.get("required") else "False"])
    return [f"## Configure {display}", "",
            *_table(["**Parameter**", "**Name**", "**Type**", "**Description**", "**Required**"], rows), ""]


def _command_section(command: Mapping[str, Any]) -> list[str]:
    name = str(command["name"])
    description = _text(command.get("description") or "")
    if command.get("deprecated"):
        description = f"Deprecated. {description}".strip()
    lines = [f"### {name}", "", "***", description, "", "#### Base Command", "", f"`{name}`", "", "#### Input", ""]
    arguments = command.get("arguments") or []
    if arguments:
        rows = [[_text(a["name"]), _argument_description(a), "Required" if a.get("required") else "Optional"]
                for a in arguments]
        lines += _table(["**Argument Name**", "**Description**", "**Required**"], rows)
    else:
        lines.append("There are no input arguments for this command.")
    lines += ["", "#### Context Output", ""]
    outputs = command.get("outputs") or []
    if outputs:
        rows = [[_text(o.get("contextPath", "")), _text(o.get("type") or "Unknown"), _text(o.get("description") or "")]
                for o in outputs]
        lines += _table(["**Path**", "**Type**", "**Description**"], rows)
    else:
        lines.append("There is no context output for this command.")
    return [*lines, ""]


def _argument_description(argument: Mapping[str, Any]) -> str:
    parts = [_text(argument.get("description") or "")]
    if argument.get("isArray"):
        parts.append("Comma-separated list.")
    if argument.get("auto") == "PREDEFINED" and argument.get("predefined"):
        parts.append("Possible values are: " + ", ".join(str(v) for v in argument["predefined"]) + ".")
    if argument.get("defaultValue") not in (None, ""):
        parts.append(f"Default is {_scalar(argument['defaultValue'])}.")
    return " ".join(p for p in parts if p)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _text(value: Any) -> str:
    """One table-safe line: pipes escaped, newlines as <br/>."""
    text = str(value).strip().replace("|", "\\|")
    return "<br/>".join(line.strip() for line in text.splitlines())


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)


def readme_path(manifest_file: Path) -> Path:
    return manifest_file.parent / "README.md"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xsoar_local.readme", description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST_PATH, help="manifest YAML")
    parser.add_argument("--output", type=Path, help="README to write (default: README.md beside the manifest)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale; write nothing")
    ns = parser.parse_args(argv)
    output = ns.output or readme_path(ns.manifest)
    try:
        manifest = yaml.safe_load(ns.manifest.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        print(f"readme: error: cannot read manifest {ns.manifest}: {exc}", file=sys.stderr)
        return 2
    rendered = render_readme(manifest)
    if ns.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != rendered:
            print(f"{output} is stale; run `python -m xsoar_local.readme --manifest {ns.manifest}`.", file=sys.stderr)
            return 1
        print(f"{output} is up to date.")
        return 0
    output.write_text(rendered, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

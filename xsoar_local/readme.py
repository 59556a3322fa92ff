"""Render an integration README from its manifest, deterministically.

    python -m xsoar_local.readme [--manifest FILE] [--output FILE] [--check]
    azure-sentinel docs [--check] [--record]        (the same, and recording the examples first)

Sections: the manifest's description; Setup (the `<Name>_description.md` beside the manifest, without its
title line); the params table; per command its description, arguments, context outputs and its recorded
examples in demisto-sdk's layout ("#### Command example", "#### Context Example", "#### Human Readable
Output"). Examples come from `test_data/command_examples.json` (see `xsoar_local.examples`), so rendering
reads files only and is fast and deterministic. `--check` writes nothing and exits 1 when the README on disk
differs from the rendering or the recorded examples no longer match `command_examples` and the manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from xsoar_local.errors import ConfigError
from xsoar_local.examples import Example, Recording, examples_path, load_recording, read_examples, recorded_path, \
    staleness
from xsoar_local.platform import MANIFEST_PATH

_TYPE_NAMES = {
    0: "Short text", 1: "Number", 4: "Encrypted", 8: "Boolean", 9: "Credentials", 11: "Download link",
    12: "Long text", 13: "Incident type", 14: "Long encrypted", 15: "Single select", 16: "Multi select",
    17: "Expiration", 18: "Feed reputation", 19: "Interval", 20: "Title", 21: "Day dropdown",
}


def render_readme(manifest: Mapping[str, Any], description: str | None = None,
                  recording: Recording | None = None) -> str:
    """The README text for a manifest mapping, its setup text and its recorded examples (same input, same output)."""
    display = str(manifest.get("display") or manifest.get("name") or "Integration")
    recording = recording or Recording()
    lines = [f"# {display}", ""]
    if manifest.get("description"):
        lines += [_text(manifest["description"]), ""]
    if description and description.strip():
        lines += ["## Setup", "", *_setup_lines(description), ""]
    lines += _params_section(display, manifest.get("configuration") or [])
    commands = [c for c in (manifest.get("script") or {}).get("commands") or [] if not c.get("hidden")]
    lines += ["## Commands", "",
              "You can run these commands from the CLI, as part of an automation, or in a playbook.",
              "After you successfully run a command, a DBot message appears in the War Room with the command details.",
              ""]
    for command in commands:
        lines += _command_section(command, recording.for_command(str(command["name"])))
    return "\n".join(lines).rstrip("\n") + "\n"


def render_for(manifest_path: Path) -> str:
    """The README for the manifest file, with the description and recorded examples found beside it."""
    manifest = _load(manifest_path)
    return render_readme(manifest, _description_for(manifest_path), load_recording(recorded_path(manifest_path)))


def stale_examples(manifest_path: Path) -> list[str]:
    """Why the recorded examples no longer match command_examples or the manifest (empty when current)."""
    from xsoar_local.manifest import parse_manifest

    lines = read_examples(examples_path(manifest_path))
    if not lines and not recorded_path(manifest_path).is_file():
        return []
    return staleness(parse_manifest(_load(manifest_path), manifest_path), lines,
                     load_recording(recorded_path(manifest_path)))


def _setup_lines(description: str) -> list[str]:
    lines = description.strip("\n").splitlines()
    if lines and lines[0].startswith("## "):
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return [line.rstrip() for line in lines]


def _description_for(manifest_path: Path) -> str | None:
    path = Path(f"{manifest_path.with_suffix('')}_description.md")
    return path.read_text(encoding="utf-8") if path.is_file() else None


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


def _command_section(command: Mapping[str, Any], examples: Sequence[Example] = ()) -> list[str]:
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
    lines.append("")
    for example in examples:
        lines += _example_lines(example)
    return lines


def _example_lines(example: Example) -> list[str]:
    """One example in demisto-sdk's README layout (the human-readable output quoted line by line)."""
    lines = ["#### Command example", f"```{example.line}```"]
    if example.context:
        lines += ["#### Context Example", "```json", json.dumps(example.context, indent=4, ensure_ascii=False),
                  "```", ""]
    lines += ["#### Human Readable Output", ""]
    lines += [f">{line}".rstrip() for line in example.human_readable.splitlines()]
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
    try:
        return write_or_check(ns.manifest, ns.output, check=ns.check)
    except ConfigError as exc:
        print(f"readme: error: {exc}", file=sys.stderr)
        return 2


def write_or_check(manifest_path: Path, output: Path | None = None, *, check: bool = False,
                   regenerate: str | None = None) -> int:
    """Write the README (0), or with `check` compare it: 0 current, 1 stale (one line on stderr naming the fix)."""
    output = output or readme_path(manifest_path)
    regenerate = regenerate or f"python -m xsoar_local.readme --manifest {manifest_path}"
    rendered = render_for(manifest_path)
    if check:
        problems = stale_examples(manifest_path)
        if problems:
            print(f"the recorded examples are stale: {problems[0]}; run `azure-sentinel docs --record`.",
                  file=sys.stderr)
            return 1
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != rendered:
            print(f"{output} is stale; run `{regenerate}`.", file=sys.stderr)
            return 1
        print(f"{output} is up to date.")
        return 0
    output.write_text(rendered, encoding="utf-8")
    print(f"wrote {output}")
    return 0


def _load(manifest_path: Path) -> Mapping[str, Any]:
    try:
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read manifest {manifest_path}: {' '.join(str(exc).split())}") from None
    if not isinstance(manifest, dict):
        raise ConfigError(f"manifest {manifest_path} is not a YAML mapping.")
    return manifest


if __name__ == "__main__":
    sys.exit(main())

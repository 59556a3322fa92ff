"""Turning entries and received incidents into terminal text."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from xsoar_local.platform import ENTRY_ERROR
from xsoar_local.state import ReceivedIncident

SEVERITY_NAMES = {0: "Unknown", 0.5: "Informational", 1: "Low", 2: "Medium", 3: "High", 4: "Critical"}


def print_entries(entries: Sequence[Any], out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Each note's HumanReadable (else its Contents as JSON); error entries as `Error: ...` on err."""
    out, err = out or sys.stdout, err or sys.stderr
    for entry in entries:
        if not isinstance(entry, dict):
            print(entry if isinstance(entry, str) else to_json(entry), file=out)
        elif entry.get("Type") == ENTRY_ERROR:
            print(f"Error: {entry.get('Contents')}", file=err)
        elif entry.get("HumanReadable"):
            print(entry["HumanReadable"], file=out)
        else:
            contents = entry.get("Contents")
            print(contents if isinstance(contents, str) else to_json(contents), file=out)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def severity_name(value: float | None) -> str:
    return "" if value is None else SEVERITY_NAMES.get(value, str(value))


def incidents_table(incidents: Sequence[ReceivedIncident]) -> str:
    """A plain aligned table: number, severity, occurred, name."""
    header = ("#", "Number", "Severity", "Occurred", "Name")
    rows = [(str(i.seq), "" if i.number is None else str(i.number), severity_name(i.severity), i.occurred, i.name)
            for i in incidents]
    return table(header, rows)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])

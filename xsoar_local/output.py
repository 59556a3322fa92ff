"""Turning entries and received incidents into terminal text."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from xsoar_local import mapping
from xsoar_local.platform import ENTRY_ERROR
from xsoar_local.state import Entry, LocalIncident, ReceivedIncident

if TYPE_CHECKING:
    from xsoar_local.terminal import Terminal

SEVERITY_NAMES = {0: "Unknown", 0.5: "Informational", 1: "Low", 2: "Medium", 3: "High", 4: "Critical"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (but tab and newline), DEL and C1


def printable(text: str) -> str:
    """Text safe to show on a terminal: control characters other than tab and newline are written as \\xNN,
    so data from Sentinel (an incident title, a comment) cannot move the cursor, recolour the screen or
    retitle the window. --json output needs none of this: JSON escapes them."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text.replace("\r\n", "\n"))


def print_entries(entries: Sequence[Any], out: TextIO | None = None, err: TextIO | None = None,
                  terminal: Terminal | None = None) -> None:
    """Each note's HumanReadable (else its Contents as JSON); error entries as `Error: ...` on err.

    With a `terminal` (stdout is a TTY), HumanReadable markdown is rendered for reading (tables aligned and
    wrapped); otherwise it is printed exactly as the integration wrote it.
    """
    out, err = out or sys.stdout, err or sys.stderr
    for entry in entries:
        if not isinstance(entry, dict):
            print(printable(entry if isinstance(entry, str) else to_json(entry)), file=out)
        elif entry.get("Type") == ENTRY_ERROR:
            print(printable(f"Error: {entry.get('Contents')}"), file=err)
        elif entry.get("HumanReadable"):
            if terminal is not None and isinstance(entry["HumanReadable"], str):
                out.flush()
                terminal.markdown(printable(entry["HumanReadable"]))
            else:
                print(printable(str(entry["HumanReadable"])), file=out)
        else:
            contents = entry.get("Contents")
            print(printable(contents if isinstance(contents, str) else to_json(contents)), file=out)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def severity_name(value: float | None) -> str:
    return "" if value is None else SEVERITY_NAMES.get(value, str(value))


def incidents_table(incidents: Sequence[ReceivedIncident]) -> str:
    """A plain aligned table: number, severity, occurred, name."""
    header = ("#", "Number", "Severity", "Occurred", "Name")
    rows = [(str(i.seq), "" if i.number is None else str(i.number), severity_name(i.severity), printable(i.occurred),
             printable(i.name)) for i in incidents]
    return table(header, rows)


def incident_dict(incident: LocalIncident, entries: Sequence[Entry], received: ReceivedIncident | None) -> dict:
    """One local incident for `incidents show --json`."""
    return {
        "id": incident.seq, "dbotMirrorId": incident.remote_id,
        "number": None if received is None else received.number,
        "status": incident.status, "status_name": mapping.STATUS_NAMES.get(incident.status, str(incident.status)),
        "fields": incident.fields, "dirty": sorted(incident.dirty), "last_sync": incident.last_sync,
        "entries": [{"id": e.entry_id, "type": e.type, "contents": e.contents, "format": e.format, "tags": e.tags,
                     "note": e.note, "source": e.source, "user": e.user, "created": e.created, "pushed": e.pushed}
                    for e in entries],
    }


def incident_details(incident: LocalIncident, entries: Sequence[Entry], received: ReceivedIncident | None) -> str:
    """One local incident as text: a header, its fields, its war-room entries."""
    fields = incident.fields
    number = "" if received is None or received.number is None else f", Sentinel incident {received.number}"
    lines = [f"Incident {incident.seq}: {fields.get('name', '')}",
             f"  status {mapping.STATUS_NAMES.get(incident.status, incident.status)}, severity "
             f"{severity_name(_level(fields.get('severity')))}, dbotMirrorId {incident.remote_id or '-'}{number}",
             f"  mirroring {fields.get(mapping.MIRROR_DIRECTION) or 'off'} via "
             f"{fields.get(mapping.MIRROR_INSTANCE) or '-'}, last sync {_time(incident.last_sync)}"]
    if incident.dirty:
        lines.append(f"  changed locally, not pushed yet: {', '.join(sorted(incident.dirty))}")
    lines += ["", "Fields:"]
    width = max((len(k) for k in fields), default=0)
    lines += [f"  {key.ljust(width)}  {_cell(value)}" for key, value in sorted(fields.items())]
    lines += ["", f"Entries ({len(entries)}):"]
    for entry in entries:
        state = "pushed" if entry.pushed else ("mirrored in" if entry.source == "remote" else "local")
        tags = f" [{', '.join(entry.tags)}]" if entry.tags else ""
        lines.append(f"  {entry.entry_id}  {_time(entry.created)}  {entry.user or 'DBot'}  {state}{tags}")
        lines += [f"      {line}" for line in entry.contents.splitlines() or [""]]
    return printable("\n".join(lines))


def _level(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: object, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])

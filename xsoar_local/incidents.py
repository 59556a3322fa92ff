"""Local incidents: what the platform does to an incident it keeps (edits, close, reopen, mirrored changes).

An incident's fields come from the incoming mapper (xsoar_local.mapping) applied to what fetch delivered;
`incidents edit` / `incidents comment` change them the way an analyst would in the SOAR, marking the
changed fields dirty (they go out with the next update-remote-system, and until then a mirrored-in value
does not overwrite them). Pure functions and small classes: storage is xsoar_local.state's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from xsoar_local import mapping
from xsoar_local.errors import ConfigError, did_you_mean
from xsoar_local.state import LOCAL, Entry, LocalIncident, ReceivedIncident, State

LOCAL_USER = "admin"  # who changes incidents locally (the platform's closingUserId, an entry's user)
CLOSING_USER = "closingUserId"

# `incidents edit` names (lower-case) -> the field they set; status/severity/tags are parsed specially.
EDITABLE = {
    "name": "name", "title": "name", "severity": "severity", "status": "status", "owner": "owner",
    "closereason": "closeReason", "closenotes": "closeNotes", "tags": "tags", "description": "description",
    "dbotmirrordirection": mapping.MIRROR_DIRECTION, "dbotmirrortags": mapping.MIRROR_TAGS,
}
_DIRECTIONS = ("In", "Out", "Both", "None")


def derive(received: ReceivedIncident) -> LocalIncident:
    """The incident as the platform created it from a fetched item: the incident dict, then the incoming mapper."""
    fields: dict[str, Any] = {"name": received.name, "occurred": received.occurred}
    if received.severity is not None:
        fields["severity"] = received.severity
    if received.id is not None:
        fields[mapping.MIRROR_ID] = received.id
    try:
        raw = json.loads(received.raw_json) if received.raw_json else None
    except ValueError:
        raw = None
    if isinstance(raw, dict):
        fields.update(mapping.incoming_fields(raw))
    return LocalIncident(received.seq, mapping.ACTIVE, fields, set(), received.received_at)


def load(state: State, seq: int) -> LocalIncident:
    """The stored incident, or the one derived from its received row."""
    stored = state.local_incidents().get(seq)
    if stored is not None:
        return stored
    received = state.received(seq)
    if received is None:
        raise ConfigError(f"no incident {seq} in {state.path}.")
    return derive(received)


def all_incidents(state: State) -> list[LocalIncident]:
    """Every received incident, stored or derived, in local ID order."""
    stored = state.local_incidents()
    return [stored.get(r.seq) or derive(r) for r in state.incidents()]


def find(state: State, ident: str) -> LocalIncident:
    """An incident by its local ID (the `#` of `azure-sentinel incidents`) or its dbotMirrorId."""
    text = ident.strip()
    if text.lstrip("#").isdigit():
        seq = int(text.lstrip("#"))
        if state.received(seq) is not None:
            return load(state, seq)
    matches = [i for i in all_incidents(state) if i.remote_id == text]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(str(i.seq) for i in matches)
        raise ConfigError(f"dbotMirrorId {text} belongs to incidents {ids} (received more than once); "
                          "give one of them.")
    raise ConfigError(f"no incident {text!r} in {state.path}; give the # of `azure-sentinel incidents` "
                      "or a dbotMirrorId.")


# region local changes (an analyst in the SOAR)

def edit(incident: LocalIncident, pairs: Sequence[str]) -> list[str]:
    """Apply `field=value` pairs; returns the names of the fields that changed."""
    if not pairs:
        raise ConfigError("give at least one field=value (e.g. severity=High status=Closed closeReason=Resolved).")
    changed: list[str] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{pair!r} is not field=value; e.g. severity=High.")
        field = _field_name(incident, name.strip())
        if field == "status":
            changed += set_status(incident, _status(value))
        else:
            changed += set_field(incident, field, _value(field, value))
    return list(dict.fromkeys(changed))


def set_field(incident: LocalIncident, field: str, value: Any) -> list[str]:
    if incident.fields.get(field) == value:
        return []
    incident.fields[field] = value
    incident.dirty.add(field)
    return [field]


def set_status(incident: LocalIncident, status: int) -> list[str]:
    """A local status change; closing and reopening also set closingUserId (and reopening clears the reason)."""
    if status == incident.status:
        return []
    was_done, incident.status = incident.status == mapping.DONE, status
    changed = ["status"]
    if status == mapping.DONE:
        changed += set_field(incident, CLOSING_USER, LOCAL_USER)
    elif was_done:
        for field in ("closeReason", "closeNotes", CLOSING_USER):
            changed += set_field(incident, field, "")
    incident.dirty.add("status")
    return changed


def comment(incident: LocalIncident, text: str, tags: Sequence[str], now: float) -> Entry:
    """A new local war-room note."""
    if not text.strip():
        raise ConfigError("the comment is empty; give the TEXT to add.")
    return Entry(incident=incident.seq, contents=text, tags=list(dict.fromkeys(t for t in tags if t)),
                 source=LOCAL, user=LOCAL_USER, created=now, note=True)


def _field_name(incident: LocalIncident, name: str) -> str:
    lowered = name.lower()
    if lowered in EDITABLE:
        return EDITABLE[lowered]
    existing = {key.lower(): key for key in incident.fields}
    if lowered in existing:
        return existing[lowered]
    hint = did_you_mean(name, [*EDITABLE, *incident.fields])
    raise ConfigError(f"unknown field {name!r}.{hint} Fields: {', '.join(sorted({*EDITABLE} - {'title'}))}, "
                      "or a field the incident already has (see `azure-sentinel incidents show ID`).")


def _status(value: str) -> int:
    text = value.strip().lower()
    if text in mapping.STATUS_WORDS:
        return mapping.STATUS_WORDS[text]
    if text.isdigit() and int(text) in mapping.STATUS_NAMES:
        return int(text)
    raise ConfigError(f"status must be Pending, Active, Closed or Archive (or 0-3); got {value!r}.")


def _value(field: str, value: str) -> Any:
    if field == "severity":
        level = mapping.severity_level(value)
        if level is None or level not in mapping.SEVERITY_LEVELS.values():
            raise ConfigError(f"severity must be Unknown, Informational, Low, Medium, High or Critical "
                              f"(or 0, 0.5, 1-4); got {value!r}.")
        return level
    if field in ("tags", mapping.MIRROR_TAGS):
        return [t.strip() for t in value.split(",") if t.strip()]
    if field == mapping.MIRROR_DIRECTION:
        if value not in _DIRECTIONS:
            raise ConfigError(f"dbotMirrorDirection must be one of {', '.join(_DIRECTIONS)}; got {value!r}.")
        return None if value == "None" else value
    return value

# endregion


# region mirrored-in changes (get-remote-data)

def apply_remote(incident: LocalIncident, remote: Mapping[str, Any], protect_dirty: bool) -> list[str]:
    """Apply a mirrored object through the incoming mapper; with `protect_dirty`, unpushed local changes stay."""
    changed = []
    for field, value in mapping.incoming_fields(remote).items():
        if field == mapping.MIRROR_ID:  # which remote incident this is was settled at fetch
            continue
        if protect_dirty and field in incident.dirty:
            continue
        if incident.fields.get(field) != value:
            incident.fields[field] = value
            changed.append(field)
    return changed


def close_from_remote(incident: LocalIncident, reason: Any, notes: Any) -> bool:
    """A dbotIncidentClose entry: close (not dirty: the change came from the remote)."""
    if incident.status == mapping.DONE:
        return False
    incident.status = mapping.DONE
    incident.fields["closeReason"] = "" if reason is None else str(reason)
    incident.fields["closeNotes"] = "" if notes is None else str(notes)
    incident.fields[CLOSING_USER] = "DBot"
    return True


def reopen_from_remote(incident: LocalIncident) -> bool:
    """A dbotIncidentReopen entry: reopen a closed incident (no-op otherwise)."""
    if incident.status != mapping.DONE:
        return False
    incident.status = mapping.ACTIVE
    for field in ("closeReason", "closeNotes", CLOSING_USER):
        incident.fields[field] = ""
    return True

# endregion


def mirrors(incident: LocalIncident, instance: str, directions: Sequence[str]) -> bool:
    """Whether the incident is mirrored by `instance` in one of `directions` (its mapped mirroring fields)."""
    return (incident.remote_id is not None and incident.fields.get(mapping.MIRROR_INSTANCE) == instance
            and incident.fields.get(mapping.MIRROR_DIRECTION) in directions)


def mirror_tags(incident: LocalIncident, comment_tag: str | None) -> set[str]:
    """The tags whose entries go out: the instance's comment_tag and the incident's dbotMirrorTags."""
    tags = incident.fields.get(mapping.MIRROR_TAGS) or []
    found = {str(t) for t in tags if t} if isinstance(tags, list) else set()
    return found | ({comment_tag} if comment_tag else set())

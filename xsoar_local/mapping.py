"""The host's incoming and outgoing mappers: what a platform instance would use for Microsoft Sentinel.

Modelled on the official pack's "Microsoft Sentinel - Incoming Mapper" / "Outgoing Mapper" (the field
names are theirs, the tables are ours). The incoming mapper turns the formatted incident the integration
hands over (rawJSON at fetch, the mirrored object of get-remote-data: keys `ID`, `Title`, `Severity`, ...)
into local incident fields; the outgoing mapper turns local fields into the remote names that
update-remote-system receives as `data` and `delta` (`title`, `severity`, `classification`, ...).

Two deliberate differences from the official mappers: `mirror_tags` is mapped to `dbotMirrorTags` (so
entries tagged for Sentinel are sent out), and `classificationReason` goes out from the Classification
Reason field (the official outgoing mapper reads it from `closingreason`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SCHEME = "Microsoft Sentinel Incident"

# Platform incident status (CommonServerPython IncidentStatus).
PENDING, ACTIVE, DONE, ARCHIVE = 0, 1, 2, 3
STATUS_NAMES = {PENDING: "Pending", ACTIVE: "Active", DONE: "Closed", ARCHIVE: "Archive"}
STATUS_WORDS = {"pending": PENDING, "active": ACTIVE, "open": ACTIVE, "new": ACTIVE, "closed": DONE,
                "done": DONE, "archive": ARCHIVE, "archived": ARCHIVE}

SEVERITY_LEVELS = {"unknown": 0, "informational": 0.5, "info": 0.5, "low": 1, "medium": 2, "high": 3, "critical": 4}

# Mirroring fields (the platform's names).
MIRROR_ID, MIRROR_DIRECTION, MIRROR_INSTANCE, MIRROR_TAGS = (
    "dbotMirrorId", "dbotMirrorDirection", "dbotMirrorInstance", "dbotMirrorTags")
INCOMING_DIRECTIONS, OUTGOING_DIRECTIONS = ("In", "Both"), ("Out", "Both")

_CLASSIFICATION_IN = {"Undetermined": "Other", "TruePositive": "Resolved", "BenignPositive": "Resolved",
                      "FalsePositive": "False Positive"}
_CLASSIFICATION_OUT = {"False Positive": "FalsePositive", "Resolved": "TruePositive", "Duplicate": "Undetermined",
                       "Other": "Undetermined"}
_REASON_IN = {"InaccurateData": "Inaccurate Data", "IncorrectAlertLogic": "Incorrect Alert Logic",
              "SuspiciousActivity": "Suspicious Activity", "SuspiciousButExpected": "Suspicious But Expected"}
_REASON_OUT = {label: name for name, label in _REASON_IN.items()}


def severity_level(value: Any) -> float | None:
    """A Sentinel severity name ('High') or a number -> the platform's level (3); None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in SEVERITY_LEVELS:
            return SEVERITY_LEVELS[text]
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return None
    return None


def _translate(table: Mapping[str, str]) -> Callable[[Any], Any]:
    return lambda value: table.get(value, value) if isinstance(value, str) else value


SKIP = object()  # a transform's answer for a value it cannot map: the field is left as it is


def _tag_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    return SKIP


def _severity(value: Any) -> Any:
    level = severity_level(value)
    return SKIP if level is None else level


def _scalar(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float)) else SKIP


@dataclass(frozen=True)
class Rule:
    """One mapper line: `source` key -> `target` key, with an optional value transform."""

    source: str
    target: str
    transform: Callable[[Any], Any] | None = None

    def value(self, raw: Any) -> Any:
        return raw if self.transform is None else self.transform(raw)


# region incoming: formatted Sentinel incident (rawJSON / mirrored object) -> local fields

INCOMING: tuple[Rule, ...] = (
    Rule("Title", "name", _scalar),
    Rule("Severity", "severity", _severity),
    Rule("Description", "description", _scalar),
    Rule("Status", "sourcestatus", _scalar),
    Rule("ID", MIRROR_ID, _scalar),
    Rule("ID", "sourceid", _scalar),
    Rule("mirror_direction", MIRROR_DIRECTION, _scalar),
    Rule("mirror_instance", MIRROR_INSTANCE, _scalar),
    Rule("mirror_tags", MIRROR_TAGS, _tag_list),
    Rule("tags", "tags", _tag_list),
    Rule("owner", "microsoftsentinelowner"),
    Rule("classification", "closingreason", _translate(_CLASSIFICATION_IN)),
    Rule("classificationReason", "microsoftsentinelclassificationreason", _translate(_REASON_IN)),
    Rule("classificationComment", "microsoftsentinelclassificationcomment"),
    Rule("Etag", "resourceid"),
    Rule("IncidentUrl", "incidentlink"),
    Rule("IncidentNumber", "microsoftsentinelincidentnumber"),
    Rule("FirstActivityTimeUTC", "starttime"),
    Rule("LastActivityTimeUTC", "lastseen"),
    Rule("LastModifiedTimeUTC", "lastupdatetime"),
    Rule("CreatedTimeUTC", "sourcecreatetime"),
    Rule("Tactics", "tactic"),
    Rule("AlertProductNames", "vendorproduct"),
    Rule("AlertsCount", "microsoftsentinelalertcount"),
    Rule("alerts", "microsoftsentinelalerts"),
    Rule("entities", "microsoftsentinelentities"),
    Rule("comments", "microsoftsentinelcomments"),
    Rule("relations", "microsoftsentinelrelations"),
    Rule("relatedAnalyticRuleIds", "microsoftsentinelruleid"),
)


def incoming_fields(remote: Mapping[str, Any]) -> dict[str, Any]:
    """Local field values for the keys present in `remote` (absent keys, and values a rule cannot map,
    change nothing)."""
    fields: dict[str, Any] = {}
    for rule in INCOMING:
        if rule.source in remote:
            value = rule.value(remote[rule.source])
            if value is not SKIP:
                fields[rule.target] = value
    return fields

# endregion


# region outgoing: local fields -> remote names (update-remote-system `data` / `delta`)

OUTGOING: tuple[Rule, ...] = (
    Rule("name", "title"),
    Rule("description", "description"),
    Rule("severity", "severity"),
    Rule("sourcestatus", "status"),
    Rule("tags", "tags"),
    Rule("resourceid", "etag"),
    Rule("starttime", "firstActivityTimeUtc"),
    Rule("lastseen", "lastActivityTimeUtc"),
    Rule("closeReason", "classification", _translate(_CLASSIFICATION_OUT)),
    Rule("closeNotes", "classificationComment"),
    Rule("microsoftsentinelclassificationreason", "classificationReason", _translate(_REASON_OUT)),
)


def outgoing_data(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The outgoing mapper's output for an incident's fields (keys whose source field is unset are left out)."""
    return {rule.target: rule.value(fields[rule.source]) for rule in OUTGOING if rule.source in fields}


def outgoing_delta(fields: Mapping[str, Any], changed: set[str]) -> dict[str, Any]:
    """Only the outgoing keys whose source field is in `changed`; a cleared field goes out as ''."""
    delta = {}
    for rule in OUTGOING:
        if rule.source in changed:
            value = fields.get(rule.source)
            delta[rule.target] = "" if value is None else rule.value(value)
    return delta


def outgoing_field_names() -> list[str]:
    """The remote field names the outgoing mapper writes (what get-mapping-fields must describe)."""
    return [rule.target for rule in OUTGOING]

# endregion

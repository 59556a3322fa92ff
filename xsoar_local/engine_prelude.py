"""The engine prelude: what the XSOAR engine defines before a packed integration script runs.

`xsoar_local.engine.run_packed` puts this file's text in front of the packed script and compiles both
as one unit, as the engine does with its own `Demisto` class and CommonServerPython. It stands in for
that `Demisto` class (bound to an `xsoar_local.platform.Platform`) and for a few CommonServerPython
names. Every top-level name it binds is also a top-level name of the real CommonServerPython (or
`Demisto`), so the script sees the same kind of namespace it gets on the engine.

Not a module to import: it takes its platform calls from the namespace `run_packed` prepared.
"""

import sys
from inspect import currentframe

_MODULES_LINE_MAPPING = {}

entryTypes = {"note": 1, "error": 4, "warning": 11}
formats = {"json": "json", "text": "text", "markdown": "markdown"}


class Demisto(object):
    """The platform handle a script sees as `demisto`: exactly the calls xsoar_local allows (DESIGN §3)."""

    __slots__ = ("_calls",)

    def __init__(self, calls):
        object.__setattr__(self, "_calls", dict(calls))

    def __getattr__(self, name):
        try:
            return self._calls[name]
        except KeyError:
            raise AttributeError("'Demisto' object has no attribute {!r}: the local engine offers only {}".format(
                name, ", ".join(sorted(self._calls)))) from None

    def __setattr__(self, name, value):
        raise AttributeError("the platform handle is read-only")


class EntryType(object):
    NOTE = 1
    FILE = 3
    ERROR = 4
    WARNING = 11


class EntryFormat(object):
    HTML = "html"
    TABLE = "table"
    JSON = "json"
    TEXT = "text"
    MARKDOWN = "markdown"


class IncidentStatus(object):
    PENDING = 0
    ACTIVE = 1
    DONE = 2
    ARCHIVE = 3


class IncidentSeverity(object):
    UNKNOWN = 0
    INFO = 0.5
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


def __line__():
    """The caller's line number (the packer's register_module_line lines pass it)."""
    return currentframe().f_back.f_lineno


def register_module_line(module_name, start_end, line, wrapper=0):
    """Record where a module starts or ends in the combined text (the engine maps traceback lines with it)."""
    if start_end in ("start", "end") and isinstance(line, int):
        _MODULES_LINE_MAPPING.setdefault(module_name, {})[start_end] = line + wrapper


def tableToMarkdown(name, t, headers=None, **_options):
    """A small markdown table: a title, one header row, one row per dict."""
    rows = t if isinstance(t, list) else [t] if t else []
    if headers is None:
        headers = sorted({key for row in rows for key in row})
    elif isinstance(headers, str):
        headers = [headers]
    text = "### {}\n".format(name) if name else ""
    if not rows:
        return text + "**No entries.**\n"
    text += "|" + "|".join(headers) + "|\n|" + "|".join("---" for _ in headers) + "|\n"
    for row in rows:
        text += "| " + " | ".join(str(row.get(h, "")).replace("|", "\\|") for h in headers) + " |\n"
    return text


def return_error(message, error="", outputs=None):
    """An error entry and exit, as CommonServerPython does; fetch-incidents raises instead."""
    if demisto.command() in ("fetch-incidents", "fetch-credentials", "long-running-execution", "fetch-indicators"):
        raise Exception(message)
    demisto.results({"Type": entryTypes["error"], "ContentsFormat": formats["text"], "Contents": str(message),
                     "EntryContext": outputs})
    sys.exit(0)


def return_results(results):
    """Hand results to the platform (entries, lists of entries, strings) as CommonServerPython does."""
    demisto.results(results)


demisto = Demisto(globals().pop("__xsoar_local_calls__", {}))

"""Time for the emulator: an injectable clock and Azure-style timestamps.

A clock is any callable returning epoch seconds (float). `FakeClock` is a settable one for tests;
nothing in the emulator reads the wall clock except through the clock it was given.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable

Clock = Callable[[], float]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TICKS_PER_SECOND = 10_000_000
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,}))?)?(Z|[+-]\d{2}:\d{2})?)?$",
    re.IGNORECASE,
)


class FakeClock:
    """A clock that only moves when told to: `advance(seconds)` or `set(datetime)`."""

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def set(self, when: datetime | float) -> None:
        with self._lock:
            self._now = when.timestamp() if isinstance(when, datetime) else float(when)


def system_clock() -> float:
    """The real wall clock, in epoch seconds."""
    return time.time()


def to_datetime(epoch_seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=epoch_seconds)


def format_utc(when: datetime | float) -> str:
    """Azure's style: `2026-01-01T10:00:00.1234560Z` (7 fractional digits, Z)."""
    if not isinstance(when, datetime):
        when = to_datetime(when)
    when = when.astimezone(timezone.utc)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond:06d}0Z"


def format_offset(when: datetime | float) -> str:
    """The watchlist/bookmark style: `2026-01-01T10:00:00.1234560+00:00`."""
    return format_utc(when)[:-1] + "+00:00"


def parse_ticks(text: str) -> int | None:
    """ISO 8601 date-time -> 100 ns ticks since the epoch (UTC); None if it is not one."""
    return _parse_ticks(text) if isinstance(text, str) else None


@lru_cache(maxsize=65536)  # list filters and sorts parse the same stored timestamps on every call
def _parse_ticks(text: str) -> int | None:
    m = _ISO.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute = (int(g or 0) for g in m.groups()[:5])
    second = int(m.group(6) or 0)
    fraction = (m.group(7) or "")[:7].ljust(7, "0")
    try:
        base = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    zone = m.group(8) or "Z"
    offset = 0
    if zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    seconds = int((base - _EPOCH).total_seconds()) - offset
    return seconds * _TICKS_PER_SECOND + int(fraction)

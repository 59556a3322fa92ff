"""What the emulator saw: one `RequestRecord` per request, for every host (ARM and identity on the
main origin, the Log Analytics query API on its own), in one bounded log. No headers are kept, so
no Authorization header or token ever reaches it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MAX_LOG = 200_000  # a long-running CLI keeps only the newest records


class ResetConnection(ConnectionResetError):
    """Raised by an app to make the server drop the connection without a response."""


@dataclass
class RequestRecord:
    """One request as the emulator saw it. No headers are kept, so no Authorization either."""

    method: str
    path: str
    query: dict[str, str]
    host: str
    endpoint: str | None = None
    status: int | None = None  # None: the connection was reset on purpose
    principal: str | None = None
    fault: str | None = None


@dataclass
class RequestLog:
    """The records of every listener, in arrival order (thread-safe append, bounded)."""

    records: list[RequestRecord] = field(default_factory=list)
    limit: int = MAX_LOG

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self.records.append(record)
            if len(self.records) > self.limit:
                del self.records[: self.limit // 2]

"""ARM-like throttling: a token bucket per (principal, operation kind).

Reads (GET and read-only POST actions) and writes (PUT, DELETE, writing POSTs) have separate
buckets, as ARM's `x-ms-ratelimit-remaining-subscription-reads/writes` headers suggest. Time comes
from the injected clock only, so tests step it instead of sleeping.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from .clock import Clock, system_clock


@dataclass(frozen=True)
class Limit:
    burst: int
    per_second: float


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # whole seconds; 0 when allowed


class Throttle:
    def __init__(self, clock: Clock = system_clock, reads: Limit = Limit(250, 25.0),
                 writes: Limit = Limit(200, 10.0)) -> None:
        self.clock = clock
        self.limits = {"read": reads, "write": writes}
        self.enabled = True
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, principal: str, kind: str) -> Decision:
        """Spend one token for this call, or say how long to wait."""
        limit = self.limits[kind]
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault((principal, kind), _Bucket(float(limit.burst), now))
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
            bucket.updated = now
            if not self.enabled or bucket.tokens >= 1.0:
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return Decision(True, int(bucket.tokens), 0)
            wait = (1.0 - bucket.tokens) / limit.per_second
            return Decision(False, 0, max(1, math.ceil(wait)))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

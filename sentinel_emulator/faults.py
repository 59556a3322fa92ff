"""Fault injection for ARM calls, from a spec string.

Grammar (comma-separated entries, whitespace ignored)::

    spec     := entry ( "," entry )*
    entry    := [ scope ":" ] fault "=" probability      e.g.  429=0.08   list:503=0.1   reset=0.01
              | "outage" "=" ( 0 | 1 | true | false )     every ARM call answers 503
              | "retry_after" "=" seconds                 Retry-After on injected 429/503 (default 1)
              | "seed" "=" integer                        RNG seed (default: the emulator's seed)
    scope    := arm (default: every ARM call) | list | get | read | write | token | query
    fault    := 408 | 429 | 500 | 502 | 503 | 504 | reset | partial (query scope only)

For each call, one number r in [0, 1) is drawn from a seeded random.Random; the entries that
apply to the call are walked in order and the first whose cumulative probability exceeds r fires.
`reset` closes the connection without a response. The token scope covers the Entra ID token
endpoint and the managed identity endpoints, which are otherwise never faulted; the query scope
covers the Log Analytics query API (its own host), where `partial` answers 200 with the rows and a
PartialError beside them (e.g. ``query:partial=1``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

SCOPES = ("arm", "list", "get", "read", "write", "token", "query")
FAULTS = ("408", "429", "500", "502", "503", "504", "reset", "partial")


@dataclass(frozen=True)
class Fault:
    scope: str
    kind: str
    probability: float


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    outage: bool = False
    retry_after: int = 1
    seed: int | None = None


def parse_faults(spec: str | None) -> FaultPlan:
    """Parse a fault spec; raises ValueError with the offending entry."""
    plan = FaultPlan()
    for raw in (spec or "").split(","):
        entry = raw.strip().replace(" ", "")
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        if not sep:
            raise ValueError(f"fault entry {raw!r} must look like 'kind=value'")
        scope, colon, kind = key.rpartition(":")
        scope = scope.lower() if colon else "arm"
        kind = kind.lower()
        if kind == "outage":
            if value.lower() not in ("0", "1", "true", "false"):
                raise ValueError(f"outage must be 0 or 1, not {value!r}")
            plan.outage = value.lower() in ("1", "true")
            continue
        if kind in ("retry_after", "seed"):
            try:
                number = int(value)
            except ValueError:
                raise ValueError(f"{kind} must be an integer, not {value!r}") from None
            if kind == "retry_after":
                plan.retry_after = number
            else:
                plan.seed = number
            continue
        if scope not in SCOPES:
            raise ValueError(f"unknown fault scope {scope!r}; use one of {', '.join(SCOPES)}")
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(FAULTS)}")
        if kind == "partial" and scope != "query":
            raise ValueError("the partial fault exists only for the Log Analytics query API: write query:partial=P")
        try:
            probability = float(value)
        except ValueError:
            raise ValueError(f"probability of {key!r} must be a number, not {value!r}") from None
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability of {key!r} must be between 0 and 1")
        plan.faults.append(Fault(scope, kind, probability))
    return plan


class FaultInjector:
    """Decides, call by call, whether to inject a fault. Deterministic for a given seed and call order."""

    def __init__(self, spec: str = "", seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._default_seed = seed
        self.set(spec)

    def set(self, spec: str) -> None:
        plan = parse_faults(spec)
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed if plan.seed is not None else self._default_seed)

    def set_outage(self, on: bool) -> None:
        with self._lock:
            self.plan.outage = on

    def pick(self, scopes: set[str]) -> str | None:
        """The fault for a call in these scopes ('503', 'reset', ...) or None."""
        with self._lock:
            if self.plan.outage and "arm" in scopes:
                return "503"
            applicable = [f for f in self.plan.faults if f.scope in scopes]
            if not applicable:
                return None
            r = self._rng.random()
            total = 0.0
            for fault in applicable:
                total += fault.probability
                if r < total:
                    return fault.kind
            return None

#!/usr/bin/env python3
"""Benchmarks: the integration beside an official-style baseline, in the same run, against the emulator.

    python benchmarks/run.py [--json] [--quick] [--plot PATH] [--only SCENARIO ...] [--module PATH]

Each scenario prints one row (a JSON object per line with --json, else a readable line and the goals):

- fetch_backlog: drain a backlog (10,000 incidents; --quick: 600) at limit 1000 (--quick: 200) beside
  `baseline_integration.py`, an official-style fetch (one page of 50 per run, no paging). `requests`
  counts every request the emulator saw (list, enrichment, sign-in); `min_requests` is runs + 1 (one list
  call per run and one token). CPU and peak memory are the client process's, never the emulator's.
- enrichment: 200 incidents (--quick: 8) with alerts, entities, comments and relations, 50 ms latency, under
  the emulator's ARM throttling model, fetched with all four enrichments at limit 50 by both sides. Runs are
  one fetch interval apart: ARM refills a principal's read bucket in 10 s, far less than the platform's
  1-minute interval, so each run starts with a full bucket (the benchmark refills it instead of waiting).
  `throttled` counts our 429 answers.
- cold_commands: 100 (--quick: 3) `azure-sentinel-list-incidents` runs, each a fresh process through the
  local host, from one state (the token is cached after the first). `import_ms`: a fresh process loading
  the module as the platform does (compiled from its file and run, main() not called); `deps_import_ms`:
  the part of it that imports requests and pydantic, which the process does first (so the difference is
  the module's own cost, measured in the same process). Medians.
- steady_fetch: 50 cycles (--quick: 5) of a live workspace, min_severity Medium: each cycle a few new
  incidents (one now and then visible a cycle late), escalations from Low to High, retitled and closed ones.

Every fetch runs through `xsoar_local.host.fetch_cycle` (a fresh module per run, incidents and lastRun
committed to SQLite) in a client process of its own (benchmarks/driver.py). Each scenario also checks
that every side fetched each incident exactly once; a failed check exits 1 (benchmarks assert nothing
about time). The plot of incidents fetched over runs goes to --plot (default: benchmarks/fetch_backlog.png,
with --quick a temporary file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sentinel_emulator import Emulator
from xsoar_local.state import State

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODULE = ROOT / "AzureSentinel" / "AzureSentinel.py"
BASELINE = HERE / "baseline_integration.py"
DRIVER = HERE / "driver.py"
PLOT = HERE / "fetch_backlog.png"
KINDS = ["Alerts", "Entities", "Comments", "Relations"]
BASELINE_PAGE = "50"


@dataclass(frozen=True)
class Sizes:
    backlog: int
    backlog_limit: int
    enriched: int
    cold_runs: int
    import_runs: int
    cycles: int


FULL = Sizes(backlog=10_000, backlog_limit=1000, enriched=200, cold_runs=100, import_runs=20, cycles=50)
QUICK = Sizes(backlog=600, backlog_limit=200, enriched=8, cold_runs=3, import_runs=3, cycles=5)


@dataclass(frozen=True)
class Setup:
    sizes: Sizes
    workdir: Path  # scratch space: client states
    module: Path  # the integration measured
    plot: Path  # where fetch_backlog draws its plot


class BenchmarkError(Exception):
    """A side failed a run or did not fetch each incident exactly once."""


# region the client process


class FetchProcess:
    """A client process that runs fetch cycles of one integration through the local host, one per `cycle()`."""

    def __init__(self, module: Path, params: dict[str, Any], emu: Emulator, workdir: Path):
        self.state_path = Path(tempfile.mkdtemp(dir=workdir)) / f"{module.stem}.sqlite"  # a fresh state
        self._process = subprocess.Popen([sys.executable, str(DRIVER), "fetch"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        self._send({"module": str(module), "state": str(self.state_path), "params": params,
                    "env": {"REQUESTS_CA_BUNDLE": emu.ca_path}})

    def _send(self, message: Any) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
        self._process.stdin.flush()

    def _ask(self, request: str) -> dict[str, Any]:
        self._send(request)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise BenchmarkError(f"the client process ended (exit {self._process.wait()})")
        return json.loads(line)

    def cycle(self) -> tuple[int, float]:
        """One fetch run: (incidents committed, wall seconds as the client saw them)."""
        started = time.perf_counter()
        report = self._ask("cycle")
        if not report["ok"]:
            raise BenchmarkError(f"a fetch run failed: {report['error']}")
        return report["incidents"], time.perf_counter() - started

    def stats(self) -> dict[str, float]:
        return self._ask("stats")

    def close(self) -> list[int]:
        """Stop the process; the incident numbers it committed, in order."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=60)
        with State(self.state_path) as state:
            return [incident.number for incident in state.incidents()]


def drain(fetcher: FetchProcess, before_run: Callable[[], None] = lambda: None, max_runs: int = 100_000
          ) -> tuple[list[int], float]:
    """Fetch runs until one returns nothing: (incidents per run, the last, empty one included; wall seconds)."""
    counts, wall = [], 0.0
    while not counts or counts[-1]:
        if len(counts) == max_runs:
            raise BenchmarkError(f"still fetching after {max_runs} runs")
        before_run()
        count, seconds = fetcher.cycle()
        counts.append(count)
        wall += seconds
    return counts, wall


def exactly_once(side: str, numbers: list[int], expected: set[int]) -> None:
    if len(numbers) != len(set(numbers)):
        raise BenchmarkError(f"{side}: {len(numbers) - len(set(numbers))} incidents were fetched twice")
    if set(numbers) != expected:
        raise BenchmarkError(f"{side}: {len(expected - set(numbers))} incidents missing, "
                             f"{len(set(numbers) - expected)} unexpected")


# endregion

# region the emulator


@contextmanager
def emulator(latency_ms: int = 0) -> Iterator[Emulator]:
    emu = Emulator(port=0, seed=0, latency_ms=latency_ms).start()
    try:
        yield emu
    finally:
        emu.stop()


def fetch_params(emu: Emulator, **params: Any) -> dict[str, Any]:
    return {**emu.params(), "isFetch": True, "fetch_time": "3 days", **params}


def seed(emu: Emulator, count: int, *, enriched: bool = False, rng: random.Random | None = None) -> set[int]:
    """`count` incidents created over the last two days (inside the first-fetch window); their numbers."""
    rng = rng or random.Random(11)
    now = datetime.now(timezone.utc)
    numbers = set()
    for i in range(count):
        severity = rng.choice(["Informational", "Low", "Medium", "High"])
        record = emu.store.new_incident(f"incident {i}", severity, created=now - timedelta(days=2) * (1 - i / count),
                                        alerts=2 if enriched else 0)
        if enriched:
            emu.store.attach_comment(record, f"Triage note for incident {i}.")
            emu.store.attach_entity(record, "Ip", address=f"10.0.{i // 250}.{i % 250}")
        numbers.add(record.properties["incidentNumber"])
    return numbers


def requests_since(emu: Emulator, mark: int) -> list[Any]:
    return emu.requests[mark:]


# endregion

# region scenarios


def fetch_backlog(setup: Setup) -> dict[str, Any]:
    with emulator() as emu:
        expected = seed(emu, setup.sizes.backlog)
        sides, per_run = {}, {}
        sides_to_run = (("ours", setup.module, str(setup.sizes.backlog_limit)), ("baseline", BASELINE, BASELINE_PAGE))
        for side, module, limit in sides_to_run:
            emu.throttle.reset()
            mark = len(emu.requests)
            fetcher = FetchProcess(module, fetch_params(emu, limit=limit), emu, setup.workdir)
            start = fetcher.stats()
            counts, wall = drain(fetcher)
            end = fetcher.stats()
            exactly_once(side, fetcher.close(), expected)
            incidents = sum(counts)
            sides[side] = {
                "incidents": incidents, "runs": len(counts), "requests": len(requests_since(emu, mark)),
                "min_requests": len(counts) + 1,
                "cpu_ms_per_incident": round((end["cpu_s"] - start["cpu_s"]) * 1000 / incidents, 3),
                "peak_rss_mb": round(end["peak_rss_mb"], 1), "wall_s": round(wall, 2),
            }
            per_run[side] = counts
    plot(per_run, setup.plot, setup.sizes)
    return {"name": "fetch_backlog", **sides["ours"], "baseline": sides["baseline"],
            "runs_ratio": round(sides["baseline"]["runs"] / sides["ours"]["runs"], 1)}


def enrichment(setup: Setup) -> dict[str, Any]:
    with emulator(latency_ms=50) as emu:
        expected = seed(emu, setup.sizes.enriched, enriched=True)
        walls, throttled = {}, 0
        for side, module in (("ours", setup.module), ("baseline", BASELINE)):
            mark = len(emu.requests)
            fetcher = FetchProcess(module, fetch_params(emu, limit=BASELINE_PAGE, fetch_additional_info=KINDS),
                                   emu, setup.workdir)
            _, walls[side] = drain(fetcher, before_run=emu.throttle.reset)  # a full bucket at each run
            exactly_once(side, fetcher.close(), expected)
            if side == "ours":
                throttled = sum(1 for r in requests_since(emu, mark) if r.status == 429)
    return {"name": "enrichment", "wall_s": round(walls["ours"], 2), "baseline_wall_s": round(walls["baseline"], 2),
            "speedup": round(walls["baseline"] / walls["ours"], 1), "throttled": throttled}


def _child(*args: str, job: dict[str, Any] | None = None) -> tuple[dict[str, Any], float]:
    """Run the driver in a fresh process: (its JSON answer, the process's wall milliseconds)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(DRIVER), *args], input=json.dumps(job) if job else "",
                          capture_output=True, text=True, timeout=300)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise BenchmarkError(f"driver {args[0]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), elapsed


def cold_commands(setup: Setup) -> dict[str, Any]:
    with emulator() as emu:
        job = {"module": str(setup.module), "state": str(setup.workdir / "commands.sqlite"), "params": emu.params(),
               "command": "azure-sentinel-list-incidents", "args": {"limit": "1"},
               "env": {"REQUESTS_CA_BUNDLE": emu.ca_path}}
        tokens_before = sum(emu.token_requests.values())
        runs = []
        for _ in range(setup.sizes.cold_runs):
            answer, elapsed = _child("command", job=job)
            if not answer["ok"]:
                raise BenchmarkError(f"the command failed: {answer['errors']}")
            runs.append((answer, elapsed))
        token_requests = sum(emu.token_requests.values()) - tokens_before
    imports = [_child("import", str(setup.module))[0] for _ in range(setup.sizes.import_runs)]
    return {"name": "cold_commands", "token_requests": token_requests,
            "median_ms": round(statistics.median(ms for _, ms in runs)),
            "import_ms": round(statistics.median(i["ms"] for i in imports)),
            "deps_import_ms": round(statistics.median(i["deps_ms"] for i in imports)),
            "msal_imported": any(answer["msal"] for answer, _ in runs[1:])}


def steady_fetch(setup: Setup) -> dict[str, Any]:
    """A live workspace: each cycle brings new, escalated, late-visible and changed incidents."""
    rng = random.Random(5)
    wanted = {"Medium", "High"}
    with emulator() as emu:
        store = emu.store
        severity: dict[int, str] = {}
        names: dict[int, str] = {}

        def add(level: str, hidden: bool = False) -> int:
            incident = store.add_incident(f"live {len(severity)}", level, hidden=hidden)
            number = incident["properties"]["incidentNumber"]
            severity[number], names[number] = level, incident["name"]
            return number

        seed(emu, 100, rng=rng)
        for record in store.incident_records():
            severity[record.properties["incidentNumber"]] = record.properties["severity"]
            names[record.properties["incidentNumber"]] = record.name
        fetcher = FetchProcess(setup.module, fetch_params(emu, min_severity="Medium"), emu, setup.workdir)
        drain(fetcher)  # the backlog first; steady state is what follows
        mark = len(emu.requests)
        hidden: list[int] = []
        for cycle in range(setup.sizes.cycles):
            for number in hidden:
                store.reveal(names[number])
            hidden = []
            if cycle % 5 == 0:  # a lower number than this cycle's new ones, visible only a cycle late
                hidden.append(add("High", hidden=True))
            for _ in range(rng.randint(2, 4)):
                add(rng.choice(["Informational", "Low", "Medium", "High"]))
            lows = [n for n, level in severity.items() if level not in wanted and n not in hidden]
            for number in rng.sample(lows, min(2, len(lows))):
                store.modify_incident(names[number], severity="High")
                severity[number] = "High"
            fetched = [n for n, level in severity.items() if level in wanted and n not in hidden]
            for number in rng.sample(fetched, min(2, len(fetched))):
                store.modify_incident(names[number], title=f"retitled {number}")
            fetcher.cycle()
        cycles_requests = len(requests_since(emu, mark))
        for number in hidden:
            store.reveal(names[number])
        drain(fetcher)
        exactly_once("ours", fetcher.close(), {n for n, level in severity.items() if level in wanted})
    return {"name": "steady_fetch", "requests_per_cycle": round(cycles_requests / setup.sizes.cycles, 2)}


SCENARIOS: dict[str, Callable[[Setup], dict[str, Any]]] = {
    "fetch_backlog": fetch_backlog, "enrichment": enrichment, "cold_commands": cold_commands,
    "steady_fetch": steady_fetch,
}

# endregion

# region report


GOALS: dict[str, list[tuple[str, Callable[[dict[str, Any]], bool]]]] = {
    "fetch_backlog": [
        ("requests <= 1.1 x min_requests + 2", lambda r: r["requests"] <= 1.1 * r["min_requests"] + 2),
        ("cpu_ms_per_incident <= 0.2", lambda r: r["cpu_ms_per_incident"] <= 0.2),
        ("peak_rss_mb <= 150", lambda r: r["peak_rss_mb"] <= 150),
    ],
    "enrichment": [("speedup >= 6", lambda r: r["speedup"] >= 6), ("throttled = 0", lambda r: r["throttled"] == 0)],
    "cold_commands": [
        ("token_requests <= 1", lambda r: r["token_requests"] <= 1),
        ("msal_imported false", lambda r: not r["msal_imported"]),
        ("import_ms <= deps_import_ms + 40", lambda r: r["import_ms"] <= r["deps_import_ms"] + 40),
    ],
    "steady_fetch": [("requests_per_cycle <= 1.5", lambda r: r["requests_per_cycle"] <= 1.5)],
}


def describe(row: dict[str, Any], with_goals: bool) -> str:
    figures = ", ".join(f"{k}={v}" for k, v in row.items() if k != "name")
    goals = "; ".join(f"{'ok' if check(row) else 'MISSED'}: {goal}" for goal, check in GOALS[row["name"]])
    return f"{row['name']}: {figures}" + (f"\n    goals: {goals}" if with_goals else "")


def plot(per_run: dict[str, list[int]], path: Path, sizes: Sizes) -> None:
    """Incidents fetched after each run, ours and the baseline's."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4), dpi=110)
    for side, label, style in (("ours", f"this integration (limit {sizes.backlog_limit}, pages followed)", "o-"),
                               ("baseline", "official-style (one page of 50 per run)", "-")):
        totals, fetched = [0], 0
        for count in per_run[side]:
            fetched += count
            totals.append(fetched)
        axes.plot(range(len(totals)), totals, style, markersize=3, label=f"{label}: {len(per_run[side])} runs")
    axes.set_xlabel("fetch runs (one a minute at the default interval)")
    axes.set_ylabel("incidents fetched")
    axes.set_title(f"Draining a {sizes.backlog:,}-incident backlog")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def machine() -> str:
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.machine()}"


# endregion


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for CI)")
    parser.add_argument("--plot", type=Path, help=f"where the backlog plot goes (default {PLOT.relative_to(ROOT)})")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only this scenario")
    parser.add_argument("--module", type=Path, default=MODULE, help="the integration to measure (e.g. an older "
                        "copy, to compare)")
    options = parser.parse_args(argv)
    sizes = QUICK if options.quick else FULL

    with tempfile.TemporaryDirectory(prefix="sentinel-bench-") as scratch:
        workdir = Path(scratch)
        setup = Setup(sizes, workdir, options.module.resolve(),
                      options.plot or (workdir / "fetch_backlog.png" if options.quick else PLOT))
        if not options.json:
            sized = "quick sizes (the goals are for the full sizes)" if options.quick else "full sizes"
            print(f"# {machine()}; {sized}", flush=True)
        try:
            for name in options.only or SCENARIOS:
                row = SCENARIOS[name](setup)
                print(json.dumps(row) if options.json else describe(row, with_goals=not options.quick), flush=True)
                if name == "fetch_backlog" and not options.json:
                    print(f"# plot: {setup.plot}", flush=True)
        except BenchmarkError as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

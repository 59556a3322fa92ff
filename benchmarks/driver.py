"""The client side of the benchmarks, each in a process of its own (so its CPU time and memory are
the integration's, never the emulator's). `benchmarks/run.py` starts it; nobody else needs to.

    python benchmarks/driver.py import MODULE   import the dependencies, then load the integration as the
                                                platform does; print {"deps_ms", "ms", "msal"}
    python benchmarks/driver.py command   one command through the local host (job JSON on stdin)
    python benchmarks/driver.py fetch     fetch cycles through the local host: a job JSON line on stdin,
                                          then one request per line ("cycle" or "stats"), one JSON answer each

Only the standard library is imported before a measurement starts.
"""

import json
import sys
import time

STARTED = time.perf_counter()


def import_deps() -> None:
    """What the integration imports from its dependencies (requests, urllib3 through it, and pydantic)."""
    import requests  # noqa: F401
    from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,  # noqa: F401
                          ValidationError, field_validator)


def measure_import(module: str) -> dict:
    """A fresh process importing the dependencies ("deps_ms"), then loading the integration from its file as
    the platform does, compiled and run without main() ("ms", the total): the difference is the module's
    own cost, measured in one process."""
    import runpy
    import types

    import_deps()
    deps_ms = (time.perf_counter() - STARTED) * 1000
    sys.modules["demistomock"] = types.ModuleType("demistomock")
    runpy.run_path(module, run_name="azure_sentinel_benchmark")
    return {"ms": (time.perf_counter() - STARTED) * 1000, "deps_ms": deps_ms, "msal": "msal" in sys.modules}


def run_command(job: dict) -> dict:
    from xsoar_local import host
    from xsoar_local.state import State

    with State(job["state"]) as state:
        outcome = host.run_command(job["module"], state, job["params"], job["command"], job["args"], job["env"])
    return {"ok": not outcome.failed, "errors": outcome.errors[:1], "msal": "msal" in sys.modules}


def serve_fetch(job: dict) -> None:
    """Run a fetch cycle for each "cycle" line; answer "stats" with CPU seconds and peak memory so far."""
    import resource
    from pathlib import Path

    from xsoar_local import host
    from xsoar_local.state import State

    with State(job["state"]) as state:
        for line in sys.stdin:
            request = line.strip()
            if request == "cycle":
                report = host.fetch_cycle(Path(job["module"]), state, job["params"], job["env"])
                answer = {"ok": report.ok, "incidents": report.incidents, "seconds": report.seconds,
                          "error": report.error}
            elif request == "stats":
                answer = {"cpu_s": time.process_time(),
                          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            else:
                answer = {"error": f"unknown request {request!r}"}
            print(json.dumps(answer), flush=True)


def main(mode: str) -> None:
    if mode == "import":
        print(json.dumps(measure_import(sys.argv[2])))
    elif mode == "command":
        print(json.dumps(run_command(json.loads(sys.stdin.readline()))))
    elif mode == "fetch":
        serve_fetch(json.loads(sys.stdin.readline()))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1])

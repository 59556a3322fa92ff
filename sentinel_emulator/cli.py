"""`azure-sentinel emulator`: run the emulator until SIGINT/SIGTERM.

The first stdout line is one JSON object, ``{"params": {...}, "env": {...}}``: instance params for
client-secret auth and the environment a client needs (CA bundle, managed identity endpoint).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .faults import parse_faults
from .server import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azure-sentinel emulator",
        description="Serve a local Microsoft Sentinel (Entra ID, managed identity, ARM) on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed", type=int, default=25,
                        help="number of seeded incidents, also the RNG seed (default 25)")
    parser.add_argument("--faults", default="", metavar="SPEC",
                        help="fault injection, e.g. '429=0.08,500=0.04,503=0.01,reset=0.01,outage=0' "
                             "(scopes: list:, get:, read:, write:, token:; options retry_after=N, seed=N)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every ARM call")
    parser.add_argument("--live", action="store_true", help="keep creating, escalating and updating incidents")
    parser.add_argument("--http", action="store_true", help="plain http instead of HTTPS (MSAL needs HTTPS)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        parse_faults(args.faults)
    except ValueError as exc:
        print(f"azure-sentinel emulator: error: invalid --faults: {exc}", file=sys.stderr)
        return 2
    if args.port < 0 or args.port > 65535 or args.latency_ms < 0 or args.seed < 0:
        print("azure-sentinel emulator: error: --port, --seed and --latency-ms must be non-negative", file=sys.stderr)
        return 2
    stop = threading.Event()
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    except ValueError:  # not the main thread: rely on KeyboardInterrupt
        pass
    emulator = Emulator(port=args.port, seed=args.seed, faults=args.faults, latency_ms=args.latency_ms,
                        live=args.live, tls=not args.http).start()
    try:
        print(json.dumps({"params": emulator.params(), "env": emulator.env()}), flush=True)
        print(f"Sentinel emulator on {emulator.base_url} (tenant {emulator.tenant_id}); Ctrl+C to stop.",
              file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0

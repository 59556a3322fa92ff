"""`azure-sentinel emulator` (also `python -m sentinel_emulator`): run the emulator until Ctrl-C / SIGTERM.

Without --write-instance, the first stdout line is one JSON object, ``{"params": {...}, "env": {...}}``:
instance params for client-secret auth and the environment a client needs (CA bundle, managed
identity endpoint).

With ``--write-instance FILE``, FILE becomes a ready instance file for `azure-sentinel run --instance
FILE` (manifest param names -> values, client-secret auth, Custom cloud with server_url,
authority_url and log_analytics_url, and an `env:` key with REQUESTS_CA_BUNDLE), written atomically
and readable by the owner only (it holds the client secret). Stdout then gets one shell line,
``export REQUESTS_CA_BUNDLE=... IDENTITY_ENDPOINT=... IDENTITY_HEADER=...``, for trying the managed
identity sign-in or other clients. The file is valid only while this emulator runs: the secret and
the CA are new on every start.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import threading
from pathlib import Path

import yaml

from .faults import parse_faults
from .server import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azure-sentinel emulator",
        description="Serve a local Microsoft Sentinel (Entra ID, managed identity, ARM, Log Analytics query API) "
                    "on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port for ARM and sign-in (default: a free one)")
    parser.add_argument("--query-port", type=int, default=None,
                        help="TCP port for the Log Analytics query API (default: --port + 1 when --port is given, "
                             "else a free one)")
    parser.add_argument("--seed", type=int, default=25,
                        help="number of seeded incidents, also the RNG seed (default 25; 10000 is fine)")
    parser.add_argument("--faults", default="", metavar="SPEC",
                        help="fault injection, e.g. '429=0.08,500=0.04,503=0.01,reset=0.01,outage=0' "
                             "(scopes: list:, get:, read:, write:, token:, query:; query:partial=P for partial "
                             "query results; options retry_after=N, seed=N)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every ARM and query API call")
    parser.add_argument("--live", action="store_true",
                        help="keep creating, escalating, closing, commenting on and merging incidents")
    parser.add_argument("--http", action="store_true", help="plain http instead of HTTPS (MSAL needs HTTPS)")
    parser.add_argument("--write-instance", type=Path, metavar="FILE",
                        help="write a ready instance file (YAML) for `azure-sentinel run --instance FILE` and "
                             "print one `export ...` line instead of the JSON line")
    return parser


def _check(args: argparse.Namespace) -> str | None:
    """The usage error in these arguments, if any."""
    try:
        parse_faults(args.faults)
    except ValueError as exc:
        return f"invalid --faults: {exc}"
    ports = [args.port] + ([args.query_port] if args.query_port is not None else [])
    if any(p < 0 or p > 65535 for p in ports) or args.latency_ms < 0 or args.seed < 0:
        return "--port, --query-port, --seed and --latency-ms must be non-negative (ports at most 65535)"
    if args.port and args.query_port is None and args.port == 65535:
        return "--port 65535 leaves no port for the query API; give --query-port"
    if args.query_port and args.query_port == args.port:
        return "--query-port must differ from --port"
    if args.write_instance is not None and not args.write_instance.parent.is_dir():
        return f"--write-instance: the directory {args.write_instance.parent} does not exist"
    return None


# region instance file


def instance_document(emulator: Emulator) -> str:
    """The instance file's text: a comment saying while it is valid, then the YAML."""
    values = dict(emulator.params())
    if emulator.ca_path:
        values["env"] = {"REQUESTS_CA_BUNDLE": emulator.ca_path}
    header = (
        f"# Instance for the local Sentinel emulator (pid {os.getpid()}): ARM and sign-in on {emulator.base_url},\n"
        f"# Log Analytics query API on {emulator.query_url}.\n"
        "# Valid only while this emulator runs (port "
        f"{emulator.port}): its client secret and test CA are new on every start.\n"
        "# Try: azure-sentinel run --instance THIS_FILE test-module\n")
    return header + yaml.safe_dump(values, sort_keys=False)


def write_instance(path: Path, emulator: Emulator) -> None:
    """Write the instance file atomically (a reader never sees half of it), owner-readable only."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(instance_document(emulator))
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def export_line(emulator: Emulator) -> str:
    env = emulator.env()
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())


# endregion


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    problem = _check(args)
    if problem:
        print(f"azure-sentinel emulator: error: {problem}", file=sys.stderr)
        return 2
    stop = threading.Event()
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    except ValueError:  # not the main thread: rely on KeyboardInterrupt
        pass
    query_port = args.query_port if args.query_port is not None else (args.port + 1 if args.port else 0)
    try:
        emulator = Emulator(port=args.port, seed=args.seed, faults=args.faults, latency_ms=args.latency_ms,
                            live=args.live, tls=not args.http, query_port=query_port)
        emulator.start()
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"azure-sentinel emulator: error: cannot listen on 127.0.0.1 port {args.port or 'any'} / "
              f"{query_port or 'any'} ({exc.strerror or exc}); choose other ports with --port / --query-port",
              file=sys.stderr)
        return 2
    try:
        if args.write_instance is not None:
            try:
                write_instance(args.write_instance, emulator)
            except OSError as exc:
                print(f"azure-sentinel emulator: error: cannot write {args.write_instance}: "
                      f"{exc.strerror or exc}", file=sys.stderr)
                return 2
            print(export_line(emulator), flush=True)
            print(f"Sentinel emulator on {emulator.base_url} (query API {emulator.query_url}); instance file "
                  f"{args.write_instance}. Try: azure-sentinel run --instance {args.write_instance} test-module. "
                  "Ctrl+C to stop.", file=sys.stderr, flush=True)
        else:
            print(json.dumps({"params": emulator.params(), "env": emulator.env()}), flush=True)
            print(f"Sentinel emulator on {emulator.base_url} (query API {emulator.query_url}, tenant "
                  f"{emulator.tenant_id}); Ctrl+C to stop.", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0

"""Command examples for the README: demisto-sdk's `command_examples` file, and their recorded output.

`command_examples` (beside the manifest) follows demisto-sdk's convention (`generate-docs -e`): one example
per line, `!command name=value ...` (a line without `!` gets one), blank lines and `#` lines ignored. Values
with spaces are quoted (`message="Checked the sign-in logs"`). A value `@test_data/x.csv` becomes a file
entry holding that file (path relative to the manifest's folder), for arguments such as file_entry_id.

`record` runs each example through the local host against an in-process emulator with a fixed seed and a
fixed clock (and seeded UUIDs), so the same inputs give the same outputs, and stores per example the
human-readable output and the context in `test_data/command_examples.json`. Examples whose command the
manifest does not have yet are listed as skipped. The README renders from that file only.
"""

from __future__ import annotations

import contextlib
import json
import random
import shlex
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xsoar_local import host
from xsoar_local.errors import ConfigError
from xsoar_local.manifest import Manifest, load_manifest
from xsoar_local.state import State

EXAMPLES_NAME = "command_examples"
RECORDED_NAME = "test_data/command_examples.json"
SEED = 7
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
FORMAT_VERSION = 1
PUBLIC_BASE = "https://management.azure.com"


@dataclass(frozen=True)
class Example:
    """One recorded example: the line, its command, the human-readable output and the context it set."""

    line: str
    command: str
    human_readable: str
    context: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"example": self.line, "command": self.command, "human_readable": self.human_readable,
                "context": self.context}


@dataclass
class Recording:
    """The recorded file's content."""

    examples: list[Example] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # every example line, in the order they ran

    def for_command(self, name: str) -> list[Example]:
        return [e for e in self.examples if e.command == name]

    def to_json(self) -> str:
        document = {
            "about": "Recorded by `azure-sentinel docs --record` from command_examples against the local "
                     "Sentinel emulator; the README's examples are rendered from this file.",
            "version": FORMAT_VERSION,
            "seed": SEED,
            "clock": CLOCK_START.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lines": self.lines,
            "examples": [e.as_dict() for e in self.examples],
            "skipped": self.skipped,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def examples_path(manifest_path: Path) -> Path:
    return manifest_path.parent / EXAMPLES_NAME


def recorded_path(manifest_path: Path) -> Path:
    return manifest_path.parent / RECORDED_NAME


# region the command_examples file

def read_examples(path: Path) -> list[str]:
    """The example lines, each starting with `!` (missing file: none)."""
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(line if line.startswith("!") else f"!{line}")
    return lines


def parse_example(line: str) -> tuple[str, list[str]]:
    """`!command a=1 b="x y"` -> ("command", ["a=1", "b=x y"])."""
    try:
        words = shlex.split(line[1:] if line.startswith("!") else line)
    except ValueError as exc:
        raise ConfigError(f"command example {line!r} cannot be parsed ({exc}).") from None
    if not words:
        raise ConfigError("an empty command example ('!' alone).")
    return words[0], words[1:]

# endregion


# region the recorded file

def load_recording(path: Path) -> Recording:
    """The recorded examples (missing file: none). A malformed file is one ConfigError naming the fix."""
    if not path.is_file():
        return Recording()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        examples = [Example(e["example"], e["command"], e["human_readable"], dict(e["context"]))
                    for e in document["examples"]]
        skipped = [str(s) for s in document["skipped"]]
        lines = [str(s) for s in document["lines"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path} is not a recorded examples file ({type(exc).__name__}: {exc}); "
                          "run `azure-sentinel docs --record`.") from None
    return Recording(examples, skipped, lines)


def staleness(manifest: Manifest, example_lines: Sequence[str], recording: Recording) -> list[str]:
    """Why the recording no longer matches the examples file or the manifest (empty when it does)."""
    problems = []
    if list(example_lines) != recording.lines:
        problems.append("command_examples changed since the examples were recorded")
    now_known = [line for line in recording.skipped if parse_example(line)[0] in manifest.commands]
    if now_known:
        problems.append(f"{len(now_known)} skipped example(s) now have their command in the manifest "
                        f"(first: {now_known[0]})")
    return problems

# endregion


# region recording

def record(module: Path, manifest_path: Path, *, log=print) -> Recording:
    """Run every example against an in-process emulator and return what they produced."""
    from sentinel_emulator import Emulator
    from sentinel_emulator.clock import FakeClock

    manifest = load_manifest(manifest_path)
    recording = Recording()
    lines = read_examples(examples_path(manifest_path))
    if not lines:
        raise ConfigError(f"no examples in {examples_path(manifest_path)}; add `!command name=value` lines.")
    emulator = Emulator(port=0, seed=SEED, clock=FakeClock(CLOCK_START)).start()
    try:
        params = manifest.validate_params(emulator.params(), "emulator")
        env = {"REQUESTS_CA_BUNDLE": emulator.env()["REQUESTS_CA_BUNDLE"]}
        with tempfile.TemporaryDirectory() as workdir, State(Path(workdir) / "state.sqlite") as state, \
                _seeded_uuid4(SEED):
            for line in lines:
                recording.lines.append(line)
                name, words = parse_example(line)
                if name not in manifest.commands:
                    log(f"skipped (not in the manifest yet): {line}")
                    recording.skipped.append(line)
                    continue
                example = _run_example(module, manifest, state, params, env, line, name, words)
                recording.examples.append(_public_urls(example, emulator.base_url))
                log(f"recorded: {line}")
    finally:
        emulator.stop()
    return recording


def _run_example(module: Path, manifest: Manifest, state: State, params: dict[str, Any], env: Mapping[str, str],
                 line: str, name: str, words: list[str]) -> Example:
    from xsoar_local.cli import parse_pairs

    command = manifest.command(name)
    args = manifest.validate_args(command, parse_pairs(command, words))
    # `file_entry_id=@test_data/x.csv`: a war-room file entry holding that file (path beside the manifest)
    files = {}
    for key, value in list(args.items()):
        if isinstance(value, str) and value.startswith("@"):
            files[f"example-{key}"] = str(manifest.path.parent / value[1:])
            args[key] = f"example-{key}"
    outcome = host.run_command(module, state, params, name, args, env, files)
    if outcome.failed:
        raise ConfigError(f"command example {line!r} failed: {outcome.errors[0]}")
    readable = [_readable(entry) for entry in outcome.entries]
    context: dict[str, Any] = {}
    for entry in outcome.entries:
        if isinstance(entry, dict):
            for key, value in (entry.get("EntryContext") or {}).items():
                _merge(context, key, value)
    return Example(line, name, "\n\n".join(r for r in readable if r), context)


def _public_urls(example: Example, local_base: str) -> Example:
    """The emulator's loopback address (a new port each run) shown as the public ARM endpoint."""
    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(local_base, PUBLIC_BASE)
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    return Example(example.line, example.command, scrub(example.human_readable), scrub(example.context))


def _readable(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict):
        return json.dumps(entry, indent=2, sort_keys=True)
    if entry.get("HumanReadable"):
        return str(entry["HumanReadable"])
    if "Type" not in entry and "Contents" not in entry:  # not an entry: e.g. a mirrored incident object
        return json.dumps(entry, indent=2, sort_keys=True)
    contents = entry.get("Contents")
    return contents if isinstance(contents, str) else json.dumps(contents, indent=2, sort_keys=True)


def _merge(context: dict[str, Any], key: str, value: Any) -> None:
    """Put an EntryContext value where the platform's context would show it: `A.B(val.x == obj.x)` -> A -> B."""
    path = key.split("(", 1)[0].split(".")
    node = context
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


@contextlib.contextmanager
def _seeded_uuid4(seed: int) -> Iterator[None]:
    """uuid.uuid4 from a seeded generator while recording, so new IDs (a created incident's) repeat."""
    rng = random.Random(seed)
    real = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # type: ignore[assignment]
    try:
        yield
    finally:
        uuid.uuid4 = real  # type: ignore[assignment]

# endregion

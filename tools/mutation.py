"""Sampled mutation testing of the integration module with cosmic-ray.

    pip install -e '.[test,mutation]'
    python tools/mutation.py --sample 150 --seed 7

Configuration: [tool.cosmic-ray] in pyproject.toml (the module, the fast tests, the operators, the
sample). Results: .mutation/report.md (one row per mutant: killed / survived / equivalent, file:line,
region, the change), .mutation/report.json and cosmic-ray's session database .mutation/session.sqlite
(`cr-report .mutation/session.sqlite` reads it). The score printed at the end is killed over
non-equivalent mutants.

How a run works:
1. Map (cached in .mutation/map.json per test file; a test file is mapped again when it changes, all of
   them when the module or the shared test code changes): the fast tests run under coverage with
   per-test contexts, giving each module line the tests that execute it, and each test its duration.
2. Sample: every mutation the configured operators can make (cosmic-ray's core operators and the ones in
   tools/mutation_operators.py) is enumerated; a seeded random sample is drawn from each `# region`
   in proportion to its size, so commands, transport, credentials, fetch and mirroring are all in it.
3. Each mutant is written, in place, into the module file of a scratch copy of the project
   (.mutation/tree-N, one per worker; cosmic-ray's `restore_contents` puts the original back). In
   place matters: the tests load AzureSentinel/AzureSentinel.py by path (runpy,
   spec_from_file_location, relative to xsoar_local), so the mutant must be the file at that path; in a
   copy it is, and the working tree is never touched. Only the tests that execute the mutated line
   run (those that killed mutants of the same function first, then the ones that reach its rarely-run
   lines, then the fastest), stopping at the first failure (-x), within a time cap per mutant; a mutant
   that survives a capped selection gets one more round with the tests left out, on three times the
   budget. A line that runs at import time (a constant, a default, a model field) selects the tests that
   execute the lines which use the names it defines, or what is built from them at import. A kill by a
   test that fails by itself on the unmutated module does not count: the mutant is run again without it.
4. Mutants listed in tools/equivalent_mutants.txt (by function, operator and the changed text, not by
   line number) are not run and are left out of the score.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.ast.ast_query import ASTQuery
from cosmic_ray.plugins import get_operator
from cosmic_ray.util import restore_contents
from cosmic_ray.work_db import WorkDB
from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkItem, WorkResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutation_operators  # noqa: E402  (tools/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_IGNORE = shutil.ignore_patterns(".git", ".venv", ".ci-venv*", ".mutation", "__pycache__", "*.egg-info",
                                        ".pytest_cache", "*.sqlite")

# region settings


@dataclass(frozen=True)
class Settings:
    module: str  # the module's path relative to the project root
    timeout: float
    test_command: list[str]
    operators: list[str]
    tests: list[str]
    deselect: list[str]
    size: int
    seed: int
    workers: int
    max_test_seconds: float
    equivalents: Path
    workdir: Path

    @classmethod
    def load(cls, pyproject: Path = ROOT / "pyproject.toml") -> Settings:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["cosmic-ray"]
        sample = config["sample"]
        return cls(
            module=config["module-path"],
            timeout=float(config["timeout"]),
            test_command=config["test-command"].split(),
            operators=list(sample["operators"]),
            tests=list(sample["tests"]),
            deselect=list(sample.get("deselect", [])),
            size=int(sample["size"]),
            seed=int(sample["seed"]),
            workers=int(sample.get("workers", 2)),
            max_test_seconds=float(sample.get("max-test-seconds", 60)),
            equivalents=ROOT / sample["equivalents"],
            workdir=ROOT / sample.get("workdir", ".mutation"),
        )

    @property
    def module_path(self) -> Path:
        return ROOT / self.module

    def test_files(self) -> list[str]:
        files = sorted({str(p.relative_to(ROOT)) for pattern in self.tests for p in ROOT.glob(pattern)})
        if not files:
            raise SystemExit(f"no test files match {self.tests}")
        return files


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def scratch_tree(settings: Settings, number: int) -> Path:
    """A fresh copy of the project (without .git and virtual environments) for one worker."""
    tree = settings.workdir / f"tree-{number}"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(ROOT, tree, ignore=SCRATCH_IGNORE, symlinks=True)
    return tree


# endregion

# region the coverage map: which tests execute each line


@dataclass
class CoverageMap:
    lines: dict[int, list[str]]  # module line -> test node IDs that execute it
    durations: dict[str, float]  # test node ID -> seconds (setup + call + teardown)
    seconds: float = 0.0  # how long mapping took in this run
    alone: dict[str, bool] = field(default_factory=dict)  # test -> passes when run by itself (checked lazily)
    cache_path: Path | None = None

    def save_alone(self) -> None:
        """Keep the verdicts of the tests checked alone, per test file (dropped when the file changes)."""
        if self.cache_path is None or not self.alone:
            return
        cache = json.loads(self.cache_path.read_text(encoding="utf-8"))
        for test, verdict in self.alone.items():
            entry = cache["files"].get(test.split("::", 1)[0])
            if entry is not None:
                entry.setdefault("alone", {})[test] = verdict
        self.cache_path.write_text(json.dumps(cache), encoding="utf-8")


_DURATION = re.compile(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(\S.*?)\s*$")


def _digest(paths: list[Path], extra: object = None) -> str:
    digest = hashlib.sha256(json.dumps(extra).encode())
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _shared_inputs(settings: Settings, test_files: list[str]) -> list[Path]:
    """What every test depends on: the module, the test helpers and data, the local platform."""
    tests_dir = ROOT / "tests"
    shared = [p for p in sorted(tests_dir.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
              and str(p.relative_to(ROOT)) not in test_files and not p.name.startswith("test_")]
    return [settings.module_path, *shared, *sorted((ROOT / "xsoar_local").rglob("*.py")),
            *sorted((ROOT / "sentinel_emulator").rglob("*.py"))]


def load_or_build_map(settings: Settings, rebuild: bool) -> CoverageMap:
    """The map, re-measuring only the test files that changed since it was cached."""
    cache_path = settings.workdir / "map.json"
    files = settings.test_files()
    base = _digest(_shared_inputs(settings, files), [settings.deselect, settings.test_command])
    cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.exists() and not rebuild else {}
    if cache.get("base") != base:
        cache = {"base": base, "files": {}}
    digests = {f: _digest([ROOT / f]) for f in files}
    stale = [f for f in files if cache["files"].get(f, {}).get("digest") != digests[f]]
    started = time.monotonic()
    if stale:
        print(f"mapping {len(stale)} test file(s) under coverage ...", flush=True)
        lines, durations = _measure(settings, stale)
        for f in stale:
            mine = {t for t in durations if t.startswith(f + "::")}
            cache["files"][f] = {"digest": digests[f], "durations": {t: durations[t] for t in mine},
                                 "lines": {str(n): [t for t in ts if t in mine] for n, ts in lines.items()
                                           if any(t in mine for t in ts)}}
        cache["files"] = {f: v for f, v in cache["files"].items() if f in digests}
        cache_path.write_text(json.dumps(cache), encoding="utf-8")
    merged: dict[int, list[str]] = defaultdict(list)
    durations: dict[str, float] = {}
    alone: dict[str, bool] = {}
    for entry in cache["files"].values():
        durations.update(entry["durations"])
        alone.update(entry.get("alone", {}))
        for n, tests in entry["lines"].items():
            merged[int(n)].extend(tests)
    seconds = time.monotonic() - started
    if stale:
        print(f"mapping: {len(durations)} tests, {seconds:.0f} s", flush=True)
    return CoverageMap(dict(merged), durations, seconds, alone, cache_path)


def _measure(settings: Settings, test_files: list[str]) -> tuple[dict[int, list[str]], dict[str, float]]:
    data_file = settings.workdir / "coverage.data"
    for stale in settings.workdir.glob("coverage.data*"):
        stale.unlink()
    command = [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
               "-n", str(max(1, settings.workers)), f"--cov={settings.module_path.parent.relative_to(ROOT)}",
               "--cov-context=test", "--cov-report=", "--durations=0", "--durations-min=0",
               *test_files, *[arg for d in settings.deselect for arg in ("--deselect", d)]]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**_env(), "COVERAGE_FILE": str(data_file)})
    if proc.returncode not in (0, 5):
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit("the fast tests fail on the unmutated module: fix them before measuring mutants")
    durations: dict[str, float] = defaultdict(float)
    for line in proc.stdout.splitlines():
        match = _DURATION.match(line)
        if match:
            durations[match.group(3)] += float(match.group(1))
    return _lines_to_tests(data_file, settings.module_path), dict(durations)


def _lines_to_tests(data_file: Path, module_path: Path) -> dict[int, list[str]]:
    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    measured = [f for f in data.measured_files() if Path(f).resolve() == module_path.resolve()]
    if not measured:
        return {}
    lines: dict[int, list[str]] = {}
    for lineno, contexts in data.contexts_by_lineno(measured[0]).items():
        tests = sorted({c.rsplit("|", 1)[0] for c in contexts if c})
        if tests:
            lines[lineno] = tests
    return lines


# endregion

# region test selection


class Selector:
    """The tests worth running against a mutant of a given line range, most likely killers first.

    Candidates are the tests that execute the mutated lines (for an import-time line: the lines that use
    what it defines). They are ordered by
    1. how often they killed earlier mutants of the same function in this run,
    2. relevance: the tests that reach the rarely-run lines of the enclosing function (its branches,
       its error paths) are the ones that look at what that function does; each line of the function a
       test executes counts 1 / (the number of tests that execute it),
    3. speed;
    and cut off at `max_seconds` of mapped test time.
    """

    def __init__(self, source: str, cmap: CoverageMap):
        self.cmap = cmap
        self.source_lines = source.splitlines()
        self.tree = ast.parse(source)
        self.functions: list[tuple[int, int]] = []  # (first body line, last line) of every function
        self.runtime_lines: set[int] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                body = node.body if isinstance(node.body, list) else [node.body]
                self.runtime_lines.update(range(body[0].lineno, node.end_lineno + 1))
                if not isinstance(node, ast.Lambda):
                    self.functions.append((node.lineno, node.end_lineno))
        self.kills: dict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.unreliable = {test for test, ok in cmap.alone.items() if not ok}

    def record_kill(self, scope: str, test: str) -> None:
        self.kills[scope][test] += 1

    def select(self, first: int, last: int, scope: str, max_seconds: float, skip: frozenset[str] = frozenset()
               ) -> tuple[list[str], int]:
        """(the tests to run, within `max_seconds` of mapped time, leaving out `skip`; how many qualified)."""
        tests: set[str] = set()
        using: set[int] = set()
        for line in range(first, last + 1):
            if line in self.runtime_lines:
                tests.update(self.cmap.lines.get(line, ()))
                using.add(line)
            else:
                lines = self._import_time(line)
                using.update(lines)
                tests.update(t for n in lines for t in self.cmap.lines.get(n, ()))
        if not tests and any(line not in self.runtime_lines for line in range(first, last + 1)):
            tests = set(self.cmap.durations)  # nothing found that uses it: every test
        tests -= self.unreliable | skip
        relevance = self._relevance(using)
        kills = self.kills[scope]
        ordered = sorted(tests, key=lambda t: (-kills.get(t, 0), -relevance.get(t, 0.0),
                                               self.cmap.durations.get(t, 1.0), t))
        chosen, spent = [], 0.0
        for test in ordered:
            spent += self.cmap.durations.get(test, 1.0)
            if chosen and spent > max_seconds:
                break
            chosen.append(test)
        return chosen, len(ordered)

    def _relevance(self, lines: set[int]) -> dict[str, float]:
        scope: set[int] = set()
        for line in lines:
            enclosing = [(a, b) for a, b in self.functions if a <= line <= b]
            if enclosing:
                a, b = max(enclosing)  # the innermost function
                scope.update(range(a, b + 1))
            else:
                scope.add(line)
        relevance: dict[str, float] = defaultdict(float)
        for line in scope:
            covering = self.cmap.lines.get(line, ())
            for test in covering:
                relevance[test] += 1 / len(covering)
        return relevance

    def _import_time(self, line: int) -> set[int]:
        """A line run at import: the lines (inside functions) that use what its statement defines."""
        stmt, owner = self._statement_at(line)
        if stmt is None:
            return set()
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return set(range(stmt.body[0].lineno, stmt.end_lineno + 1))
        names = {owner.name} if owner is not None else _bound_names(stmt)
        if isinstance(stmt, ast.ClassDef):
            names.add(stmt.name)
        if not names:
            return set()
        names = self._users_at_import(names, stmt)
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
        return {n for n, text in enumerate(self.source_lines, start=1)
                if n in self.runtime_lines and pattern.search(text)}

    def _users_at_import(self, names: set[str], origin: ast.stmt) -> set[str]:
        """`names` plus what module-level statements build from them at import (a type alias used in an
        argument model, a table used in another), transitively: a mutant of `Confidence` is seen by the
        tests that run the commands whose models use it, not by every test that imports the module."""
        names = set(names)
        for _ in range(4):
            grown = False
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
            for stmt in self.tree.body:
                if stmt is origin or isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                defined = _bound_names(stmt) | ({stmt.name} if isinstance(stmt, ast.ClassDef) else set())
                if defined - names and any(pattern.search(self.source_lines[n - 1])
                                           for n in range(_first_line(stmt), stmt.end_lineno + 1)
                                           if n not in self.runtime_lines):
                    names |= defined
                    grown = True
            if not grown:
                break
        return names

    def _statement_at(self, line: int):
        """The module- or class-level statement holding `line`, and its class (or None)."""
        for stmt in self.tree.body:
            if _first_line(stmt) <= line <= stmt.end_lineno:
                if isinstance(stmt, ast.ClassDef) and line > stmt.lineno:
                    for inner in stmt.body:
                        if _first_line(inner) <= line <= inner.end_lineno:
                            return inner, stmt
                return stmt, None
        return None, None


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno, *[d.lineno for d in decorators]])


def _bound_names(stmt: ast.stmt) -> set[str]:
    names: set[str] = set()
    targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
    for target in targets:
        if target is not None:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
    return names


# endregion

# region mutants: enumerate, sample, describe


@dataclass
class Mutant:
    spec: MutationSpec
    region: str
    line: int
    key: str = ""
    before: str = ""
    after: str = ""
    status: str = "pending"  # killed | survived | equivalent | incompetent | skipped (left out by --only)
    detail: str = ""
    tests_selected: int = 0
    seconds: float = 0.0
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    node: object = field(default=None, repr=False)  # the parso node the operator mutates
    index: int = 0  # which of the operator's mutations of that node

    def as_dict(self) -> dict:
        fields = ("region", "line", "key", "before", "after", "status", "detail", "tests_selected", "seconds")
        return {"operator": self.spec.operator_name, "function": self.spec.definition_name,
                "occurrence": self.spec.occurrence, **{name: getattr(self, name) for name in fields}}


def _regions(source: str) -> list[tuple[int, str]]:
    marks = [(n, line.split("# region", 1)[1].strip()) for n, line in enumerate(source.splitlines(), start=1)
             if line.startswith("# region")]
    return marks or [(1, "module")]


def _region_of(line: int, regions: list[tuple[int, str]]) -> str:
    name = regions[0][1]
    for start, region in regions:
        if start <= line:
            name = region
    return name


def enumerate_mutants(settings: Settings, source: str):
    """Every mutation the configured operators can make, in cosmic-ray's occurrence order, and the tree."""
    tree = get_ast(source)
    operators = [(name, get_operator(name)()) for name in settings.operators]
    occurrence = dict.fromkeys(settings.operators, 0)
    regions = _regions(source)
    lines = source.splitlines()
    mutants: list[Mutant] = []
    for node in ast_nodes(tree):
        for name, operator in operators:
            for index, (start, end) in enumerate(operator.mutation_positions(node)):
                spec = MutationSpec(module_path=settings.module_path, operator_name=name,
                                    occurrence=occurrence[name], start_pos=start, end_pos=end,
                                    definition_name=ASTQuery(node).get_definition_name())
                occurrence[name] += 1
                if "pragma: no mutate" not in lines[start[0] - 1]:
                    mutants.append(Mutant(spec, _region_of(start[0], regions), start[0], node=node, index=index))
    return mutants, tree


def _last_line(spec: MutationSpec) -> int:
    """The last line a mutation touches (a span ending at column 0 ends on the line before)."""
    line, column = spec.end_pos
    return max(spec.start_pos[0], line - 1 if column == 0 else line)


def draw_sample(mutants: list[Mutant], size: int, seed: int) -> list[Mutant]:
    """A seeded sample, each region's share in proportion to its number of mutants (at least one)."""
    by_region: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_region[mutant.region].append(mutant)
    size = min(size, len(mutants))
    exact = {region: size * len(group) / len(mutants) for region, group in by_region.items()}
    shares = {region: max(1, int(value)) for region, value in exact.items()}
    for region in sorted(exact, key=lambda r: exact[r] - int(exact[r]), reverse=True):
        if sum(shares.values()) >= size:
            break
        shares[region] += 1
    rng = random.Random(seed)
    sample = [m for region in sorted(by_region) for m in rng.sample(by_region[region], min(shares[region], len(by_region[region])))]
    return sorted(sample, key=lambda m: (m.line, m.spec.operator_name, m.spec.occurrence))


def mutated_source(tree, mutant: Mutant) -> str:
    """The module's code with this one mutation, made on the shared parse tree and then undone.

    The same edit cosmic-ray's MutationVisitor makes (the operator's `mutate` on the node at that
    occurrence), without parsing the whole module again for every mutant.
    """
    node, parent = mutant.node, mutant.node.parent
    saved = [(n, n.parent, list(getattr(n, "children", ())), getattr(n, "value", None), getattr(n, "prefix", None))
             for n in ast_nodes(node)]
    siblings = list(parent.children)
    try:
        replacement = get_operator(mutant.spec.operator_name)().mutate(node, mutant.index)
        position = next(i for i, child in enumerate(parent.children) if child is node)
        parent.children[position:position + 1] = [] if replacement is None else [replacement]
        return tree.get_code()
    finally:
        parent.children = siblings
        for n, n_parent, children, value, prefix in saved:
            n.parent = n_parent
            if hasattr(n, "children"):
                n.children = children
            else:
                n.value, n.prefix = value, prefix


def describe(mutant: Mutant, source: str, tree) -> str | None:
    """Fill in the changed text and the stable key; returns the mutated source (None if no change)."""
    mutated = mutated_source(tree, mutant)
    if mutated == source:
        return None
    old, new = source.splitlines(), mutated.splitlines()
    before, after = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            before += [line.strip() for line in old[i1:i2]]
            after += [line.strip() for line in new[j1:j2]]
    mutant.before, mutant.after = " ".join(before), " ".join(after)
    mutant.key = " | ".join([mutant.spec.definition_name or "<module>", mutant.spec.operator_name,
                             f"{mutant.before} => {mutant.after}"])
    return mutated


def load_equivalents(path: Path) -> dict[str, str]:
    """function | operator | before => after | why it is equivalent  (one per line, # comments)."""
    equivalents: dict[str, str] = {}
    if not path.exists():
        return equivalents
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = raw.split(" | ")
        if len(parts) < 4:
            raise SystemExit(f"{path}: expected 'function | operator | before => after | reason': {raw!r}")
        equivalents[" | ".join(parts[:-1]).strip()] = parts[-1].strip()
    return equivalents


# endregion

# region running one mutant

_FAILED = re.compile(r"^(FAILED|ERROR) (\S+)")


class Runner:
    """Runs pytest in one scratch tree through tools/mutation_worker.py (a forking server that has the
    libraries imported already), so each mutant pays for its tests, not for starting Python."""

    def __init__(self, tree: Path, settings: Settings):
        self.tree = tree
        self.args = settings.test_command[3:]  # after "python -m pytest"
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tools" / "mutation_worker.py")], cwd=tree,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env())

    def run(self, tests: list[str], timeout: float) -> tuple[int | None, str]:
        """(pytest's exit code, or None after `timeout` seconds; the end of its output)."""
        self.process.stdin.write(json.dumps({"args": [*self.args, *tests], "timeout": timeout}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return answer["rc"], answer["output"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def run_mutant(mutant: Mutant, mutated: str, tests: list[str], qualified: int, runner: Runner, settings: Settings,
               cmap: CoverageMap) -> None:
    """Write the mutant into the runner's copy of the module, run `tests` there, and record the outcome."""
    mutant.tests_selected = len(tests)
    capped = f" (capped: the fastest {len(tests)} of the {qualified} tests that execute it)" \
        if len(tests) < qualified else ""
    try:
        compile(mutated, settings.module, "exec")
    except SyntaxError as exc:
        mutant.status, mutant.detail = "incompetent", f"does not compile: {exc.msg}"
        return
    if not tests:
        mutant.status, mutant.detail = "survived", "no fast test executes this line"
        return
    expected = sum(cmap.durations.get(t, 1.0) for t in tests)
    timeout = min(settings.timeout, 30 + 4 * expected)
    module = runner.tree / settings.module
    started = time.monotonic()
    with restore_contents(module):  # cosmic-ray's: the original goes back whatever happens
        module.write_text(mutated, encoding="utf-8")
        rc, output = runner.run(tests, timeout)
    mutant.seconds = time.monotonic() - started
    if rc is None:
        mutant.status, mutant.detail = "killed", f"timeout after {timeout:.0f} s"
    elif rc == 0:
        mutant.status, mutant.detail = "survived", f"{len(tests)} tests passed{capped}"
    elif rc in (1, 2):  # 1: a test failed; 2: a test module failed to import the mutant
        failed = [m.group(2) for m in map(_FAILED.match, output.splitlines()) if m]
        mutant.status, mutant.detail = "killed", (failed[0] if failed else f"exit {rc}")
    else:
        mutant.status, mutant.detail = "incompetent", f"pytest exit {rc}: {output[-300:]!r}"


def passes_alone(test: str, runner: Runner, settings: Settings, cmap: CoverageMap) -> bool:
    """Whether `test` passes by itself on the unmutated module: a kill by a test that fails alone (one that
    needs state left by the tests before it) proves nothing about the mutant."""
    if test not in cmap.alone:
        cmap.alone[test] = runner.run([test], settings.timeout)[0] == 0
    return cmap.alone[test]


class Workers:
    """One scratch copy of the project, with its runner, per worker; each mutant borrows a free one."""

    def __init__(self, settings: Settings):
        self.count = max(1, settings.workers)
        self.runners = [Runner(scratch_tree(settings, n), settings) for n in range(1, self.count + 1)]
        self.free: queue.Queue[Runner] = queue.Queue()
        for runner in self.runners:
            self.free.put(runner)

    def run(self, job, items):
        def borrowed(item):
            runner = self.free.get()
            try:
                return job(item, runner)
            finally:
                self.free.put(runner)

        try:
            with ThreadPoolExecutor(max_workers=self.count) as pool:
                yield from pool.map(borrowed, items)
        finally:
            for runner in self.runners:
                runner.close()


# endregion

# region report


def score(sample: list[Mutant]) -> dict[str, int | float]:
    counts = {status: sum(m.status == status for m in sample)
              for status in ("killed", "survived", "equivalent", "incompetent", "skipped")}
    scored = counts["killed"] + counts["survived"]
    return {**counts, "non_equivalent": scored, "score": round(100 * counts["killed"] / scored, 1) if scored else 0.0}


def write_report(sample: list[Mutant], settings: Settings, seed: int, seconds: float, cmap: CoverageMap) -> str:
    result = score(sample)
    module = settings.module_path.relative_to(ROOT)
    skipped = f", {result['skipped']} not run (--only)" if result["skipped"] else ""
    summary = (f"{result['killed']} killed of {result['non_equivalent']} non-equivalent mutants = {result['score']}% "
               f"({result['equivalent']} equivalent, {result['survived']} survived, "
               f"{result['incompetent']} incompetent{skipped}); sample {len(sample)}, seed {seed}, "
               f"{seconds / 60:.1f} min ({cmap.seconds / 60:.1f} min of it mapping)")
    rows = ["| # | status | where | region | function | operator | change | note |",
            "|---|---|---|---|---|---|---|---|"]
    for n, m in enumerate(sample, start=1):
        change = f"`{m.before}` → `{m.after}`".replace("|", "\\|")
        rows.append(f"| {n} | {m.status} | {module}:{m.line} | {m.region} | {m.spec.definition_name or ''} | "
                    f"{m.spec.operator_name} | {change} | {m.detail.replace('|', '/')} |")
    survivors = [m.key for m in sample if m.status == "survived"]
    text = "\n".join([f"# Mutation report ({date.today().isoformat()})", "", summary, "", *rows, "",
                      "## Survivors (keys for tools/equivalent_mutants.txt)", "", *[f"    {k}" for k in survivors], ""])
    (settings.workdir / "report.md").write_text(text, encoding="utf-8")
    (settings.workdir / "report.json").write_text(json.dumps({
        "date": date.today().isoformat(), "seed": seed, "sample": len(sample), "seconds": round(seconds),
        **result, "mutants": [m.as_dict() for m in sample]}, indent=1), encoding="utf-8")
    return summary


def record_session(sample: list[Mutant], settings: Settings) -> None:
    """cosmic-ray's own session database, for `cr-report` / `cr-html`."""
    path = settings.workdir / "session.sqlite"
    path.unlink(missing_ok=True)
    outcomes = {"killed": TestOutcome.KILLED, "survived": TestOutcome.SURVIVED,
                "incompetent": TestOutcome.INCOMPETENT}
    db = WorkDB(path, WorkDB.Mode.create)
    try:
        db.add_work_items(WorkItem.single(m.job_id, m.spec) for m in sample)
        for m in sample:
            if m.status in ("equivalent", "skipped"):
                result = WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=m.detail)
            else:
                result = WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=outcomes[m.status],
                                    output=m.detail, diff=f"{m.before}\n=> {m.after}")
            db.set_result(m.job_id, result)
    finally:
        db.close()


# endregion

# region main


def main(argv: list[str] | None = None) -> int:
    settings = Settings.load()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=settings.size, help="how many mutants (default %(default)s)")
    parser.add_argument("--seed", type=int, default=settings.seed, help="the sample's seed (default %(default)s)")
    parser.add_argument("--only", metavar="REGEX", help="run only the sampled mutants whose key matches")
    parser.add_argument("--list", action="store_true", help="print the sample's keys and stop")
    parser.add_argument("--rebuild-map", action="store_true", help="measure every test file again")
    parser.add_argument("--max-test-seconds", type=float, default=settings.max_test_seconds,
                        help="mapped test time per mutant (default %(default)s)")
    args = parser.parse_args(argv)

    settings.workdir.mkdir(exist_ok=True)
    mutation_operators.register()
    started = time.monotonic()
    source = settings.module_path.read_text(encoding="utf-8")
    mutants, tree = enumerate_mutants(settings, source)
    sample = draw_sample(mutants, args.sample, args.seed)
    mutated_sources = {id(m): describe(m, source, tree) for m in sample}
    if args.list:
        for m in sample:
            print(f"{m.line:5} {m.region:40} {m.key}")
        return 0
    cmap = load_or_build_map(settings, args.rebuild_map)
    selector = Selector(source, cmap)
    equivalents = load_equivalents(settings.equivalents)
    print(f"{len(mutants)} mutants, {len(sample)} sampled (seed {args.seed}) from {len({m.region for m in sample})} "
          f"regions; {settings.workers} workers", flush=True)

    def job(m: Mutant, runner: Runner) -> Mutant:
        mutated = mutated_sources[id(m)]
        if mutated is None:
            m.status, m.detail = "incompetent", "the operator made no change"
        elif m.key in equivalents:
            m.status, m.detail = "equivalent", equivalents[m.key]
        elif args.only and not re.search(args.only, m.key):
            m.status, m.detail = "skipped", "not run (--only)"
        else:
            scope = m.spec.definition_name or m.region
            ran: frozenset[str] = frozenset()
            budget = args.max_test_seconds
            while True:
                tests, qualified = selector.select(m.spec.start_pos[0], _last_line(m.spec), scope, budget, ran)
                run_mutant(m, mutated, tests, qualified, runner, settings, cmap)
                if m.status == "survived" and len(tests) < qualified and not ran:
                    # capped: one more round with the tests left out, on a budget three times as large
                    ran, budget = frozenset(tests), 3 * args.max_test_seconds
                    continue
                if m.status != "killed" or m.detail not in tests:
                    break
                if passes_alone(m.detail, runner, settings, cmap):
                    selector.record_kill(scope, m.detail)
                    break
                print(f"note: {m.detail} fails by itself on the unmutated module (it depends on the tests "
                      f"before it); it is left out of every selection", flush=True)
                selector.unreliable.add(m.detail)
        return m

    for n, m in enumerate(Workers(settings).run(job, sample), start=1):
        print(f"[{n:3}/{len(sample)}] {m.status:11} {m.line:5} {m.seconds:5.1f}s {m.key[:140]}  {m.detail[:90]}",
              flush=True)
    seconds = time.monotonic() - started
    cmap.save_alone()
    record_session(sample, settings)
    print(write_report(sample, settings, args.seed, seconds, cmap))
    print(f"report: {(settings.workdir / 'report.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# endregion

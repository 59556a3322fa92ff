"""Run a packed integration script the way a real XSOAR engine does.

What the platform does with a Python integration before and while running it (facts from demisto-sdk
1.39.13, `IntegrationScriptUnifier.clean_python_code` and `insert_script_to_yml`, used by `prepare-content`
and `unify`):

- Packing: in the code file, each match of `import demistomock as demisto`, `from CommonServerPython
  import *`, `from CommonServerUserPython import *` and `from __future__ import print_function` (each with
  optional trailing blanks and a `#` comment) is replaced by nothing. The rest of the line stays, so no
  line number moves. The cleaned code is then wrapped between
  `register_module_line('<manifest name>', 'start', __line__())` and the matching 'end' line (two
  CommonServerPython functions that map traceback lines back to modules), and stored as `script.script`.
  For an integration in a pack, prepare-content first puts `CONSTANT_PACK_VERSION = '<version>'` and a
  `demisto.debug('pack id = <pack>, pack version = <version>')` line in front of the code.
- Running: the engine puts its prelude (its `Demisto` class and instance `demisto`, then CommonServerPython)
  in front of the packed script, compiles the whole text as ONE unit (`compile(code, "<string>", "exec")`)
  and executes it in a namespace without `__name__`. Hence a script's `from __future__` import (other than
  print_function, which the packer removes) is a SyntaxError, a module-level name that CommonServerPython
  also defines replaces CommonServerPython's, and `__name__` resolves to the builtins module's name.

`pack_script` does the packing; `run_packed` runs a packed script after our own prelude
(`engine_prelude.py`: a `Demisto` object offering exactly `platform.ALLOWED_CALLS`, bound to a `Platform`,
and a few CommonServerPython names). `shadowed_names` compares a script's module-level names with those of
the real CommonServerPython (`data/commonserverpython-names.txt`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from xsoar_local.platform import ALLOWED_CALLS, Platform

DATA_DIR = Path(__file__).resolve().parent / "data"
PRELUDE_PATH = Path(__file__).resolve().parent / "engine_prelude.py"
CSP_NAMES_PATH = DATA_DIR / "commonserverpython-names.txt"
CHANNEL = "__xsoar_local_calls__"  # the one name run_packed puts in the namespace; the prelude pops it

# The packer's clean-up: each pattern is replaced by nothing ('[ \t]' so the line break stays).
_PACKER_REMOVES = tuple(re.compile(pattern) for pattern in (
    r"import demistomock as demisto[ \t]*(#.*)?",
    r"from CommonServerPython import \*[ \t]*(#.*)?",
    r"from CommonServerUserPython import \*[ \t]*(#.*)?",
    r"from __future__ import print_function[ \t]*(#.*)?",
))

# Names the engine binds itself: its platform class and instance (CommonServerPython's own
# `import demistomock as demisto` is removed by the packer too, so `demisto` is always the engine's).
ENGINE_NAMES = {"Demisto": None, "demisto": None}


# region packing

def pack_script(module_text: str, name: str | None = None, *, pack_id: str | None = None,
                pack_version: str | None = None) -> str:
    """The integration's code as the packer stores it in `script.script`.

    With `name` (the manifest's `name`), the code is wrapped in the packer's register_module_line lines. With
    `pack_id` and `pack_version` (the integration belongs to a pack), the two lines prepare-content puts first
    are added: `CONSTANT_PACK_VERSION = '<version>'` and a `demisto.debug('pack id = ..., pack version = ...')`.
    """
    code = module_text
    for pattern in _PACKER_REMOVES:
        code = pattern.sub("", code)
    if pack_id is not None and pack_version is not None:
        code = (f"CONSTANT_PACK_VERSION = '{pack_version}'\n"
                f"demisto.debug('pack id = {_quote(pack_id)}, pack version = {pack_version}')\n{code}")
    if name is None:
        return code
    return (f"register_module_line('{_quote(name)}', 'start', __line__())\n{code}\n"
            f"register_module_line('{_quote(name)}', 'end', __line__())\n")


def _quote(text: str) -> str:
    """Text for inside a single-quoted Python literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")

# endregion


# region running

def prelude_text() -> str:
    """Our engine prelude's source (what stands in for `Demisto` and CommonServerPython)."""
    return PRELUDE_PATH.read_text(encoding="utf-8")


def compile_packed(script_text: str):
    """Prelude + script compiled as one unit, as the engine does (a SyntaxError propagates)."""
    return compile(prelude_text() + script_text, "<string>", "exec", dont_inherit=True)


def run_packed(platform: Platform, script_text: str) -> Platform:
    """Execute a packed script once for `platform`, as the engine would for one command.

    The namespace is a fresh dict without `__name__`; `demisto` offers exactly ALLOWED_CALLS, bound to
    `platform`. An exception escaping the script (the way a failed fetch reports itself) propagates.
    """
    module = platform.module()
    calls = {name: getattr(module, name) for name in ALLOWED_CALLS}
    exec(compile_packed(script_text), {CHANNEL: calls})  # noqa: S102 - running the script is the point
    return platform

# endregion


# region module-level names

@dataclass(frozen=True)
class Binding:
    """A module-level name and what binds it: `origin` is the imported module or module.attribute, else None."""

    name: str
    line: int
    origin: str | None


def module_bindings(source: str) -> list[Binding]:
    """Every module-level name the source binds (also inside top-level if/try/with/for and via `global`)."""
    tree = ast.parse(source)
    found: list[Binding] = []
    for node in _module_level_statements(tree.body):
        found.extend(_bindings_of(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.extend(Binding(name, node.lineno, None) for name in node.names)
    return found


def _module_level_statements(body: list[ast.stmt]):
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _module_level_statements(getattr(node, field, None) or [])
        for handler in getattr(node, "handlers", None) or []:
            yield from _module_level_statements(handler.body)
        for case in getattr(node, "cases", None) or []:
            yield from _module_level_statements(case.body)


def _bindings_of(node: ast.stmt) -> list[Binding]:
    line = node.lineno
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [Binding(node.name, line, None)]
    if isinstance(node, ast.Import):
        return [Binding(a.asname or a.name.split(".")[0], line, a.name if a.asname else a.name.split(".")[0])
                for a in node.names]
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        return [Binding(a.asname or a.name, line, f"{module}.{a.name}") for a in node.names if a.name != "*"]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    names += [n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)]
    if isinstance(node, ast.Try):
        names += [h.name for h in node.handlers if h.name]
    return [Binding(name, line, None) for name in names]


@lru_cache(maxsize=1)
def commonserverpython_names() -> dict[str, str | None]:
    """CommonServerPython's module-level names -> what they are bound to (None for its own definitions)."""
    names: dict[str, str | None] = {}
    for raw in CSP_NAMES_PATH.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        name, _, origin = raw.partition("\t")
        names[name.strip()] = origin.strip() or None
    return names


def shadowed_names(script_text: str) -> list[Binding]:
    """Module-level names of the script that would replace a name of the engine or CommonServerPython.

    A name both import from the same place (`import json`, `from datetime import datetime`) binds the
    identical object, so it replaces nothing and is not reported.
    """
    reserved = {**commonserverpython_names(), **ENGINE_NAMES}
    clashes = []
    for binding in module_bindings(script_text):
        if binding.name not in reserved:
            continue
        theirs = reserved[binding.name]
        if binding.origin is not None and binding.origin == theirs:
            continue
        clashes.append(binding)
    return clashes

# endregion

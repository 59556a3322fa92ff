"""The packed module run the way a real XSOAR engine runs it: the packer's clean-up, one compiled unit
(our prelude + the script) exec'd without `__name__`, and no module-level name that would replace one of
CommonServerPython's."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from sentinel_emulator import Emulator
from xsoar_local import engine, host
from xsoar_local.manifest import load_manifest
from xsoar_local.platform import ALLOWED_CALLS, MANIFEST_PATH, MODULE_PATH, Platform

MODULE_TEXT = MODULE_PATH.read_text(encoding="utf-8")
MANIFEST = load_manifest(MANIFEST_PATH)
PACKED = engine.pack_script(MODULE_TEXT, MANIFEST.raw["name"])


def run(script: str, command: str = "test-module", **platform_fields) -> Platform:
    platform = Platform(command=command, **platform_fields)
    return engine.run_packed(platform, engine.pack_script(script, "Test Integration"))


# region packing


def test_pack_script_blanks_the_lines_the_packer_removes():
    """Given the demistomock, CommonServerPython and print_function imports (with trailing comments),
    when packed, then each becomes an empty line (no line number moves) and everything else stays."""
    source = ("from __future__ import print_function  # py2\n"
              "import demistomock as demisto  # noqa: E402 (the platform provides it)\n"
              "from CommonServerPython import *  # noqa: F401\n"
              "from CommonServerUserPython import *\n"
              "import json\n"
              "x = 'import demistomock as demisto-like text stays only outside the exact pattern'\n")
    packed = engine.pack_script(source)
    lines = packed.splitlines()
    assert lines[:4] == ["", "", "", ""]
    assert lines[4] == "import json"
    assert len(lines) == len(source.splitlines())


def test_pack_script_keeps_other_future_imports():
    """Given `from __future__ import annotations`, when packed, then it stays (the packer removes only
    print_function), so the engine would fail to compile the script."""
    packed = engine.pack_script("from __future__ import annotations\nx = 1\n", "X")
    assert "from __future__ import annotations" in packed
    with pytest.raises(SyntaxError, match="beginning of the file"):
        engine.compile_packed(packed)


def test_pack_script_wraps_the_code_in_register_module_line():
    """Given a manifest name, when packed, then the code sits between the packer's start and end lines."""
    packed = engine.pack_script("x = 1\n", "Azure Sentinel")
    assert packed.splitlines()[0] == "register_module_line('Azure Sentinel', 'start', __line__())"
    assert packed.splitlines()[-1] == "register_module_line('Azure Sentinel', 'end', __line__())"
    assert "x = 1" in packed


def test_pack_script_adds_the_pack_version_lines_inside_the_wrapper():
    """Given a pack ID and version, when packed, then prepare-content's two pack lines come right after the start
    line, and the script still runs on the engine (`demisto.debug` is an allowed call)."""
    packed = engine.pack_script("demisto.results(CONSTANT_PACK_VERSION)\n", "X", pack_id="P'1", pack_version="1.0.0")
    assert packed.splitlines()[1:3] == ["CONSTANT_PACK_VERSION = '1.0.0'",
                                        "demisto.debug('pack id = P\\'1, pack version = 1.0.0')"]
    platform = engine.run_packed(Platform(), packed)
    assert platform.results == ["1.0.0"] and platform.logs == [("debug", "pack id = P'1, pack version = 1.0.0")]


def test_the_packed_module_has_no_demistomock_import():
    """Given the real module, when packed, then no demistomock import is left."""
    tree = ast.parse(engine.pack_script(MODULE_TEXT))
    imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "demistomock" not in imported and "CommonServerPython" not in imported

# endregion


# region running


def test_the_guard_sees_the_builtins_name():
    """Given a script with the platform's entry guard, when run as the engine runs it, then the guard
    passes because `__name__` resolves to the builtins module's name."""
    script = ("def main():\n    demisto.results(__name__)\n\n"
              "if __name__ in ('__main__', '__builtin__', 'builtins'):\n    main()\n")
    assert run(script).results == ["builtins"]


def test_demisto_offers_exactly_the_allowed_calls():
    """Given the engine's `demisto`, then every allowed call works and anything else is an AttributeError."""
    script = ("demisto.results({'callable': sorted(n for n in ALLOWED if callable(getattr(demisto, n))),\n"
              "                 'others': [hasattr(demisto, 'executeCommand'), hasattr(demisto, 'callingContext')],\n"
              "                 'param': demisto.params()['p']})\n"
              "demisto.setLastRun({'n': 1})\n")
    platform = run(script.replace("ALLOWED", repr(ALLOWED_CALLS)), params={"p": "v"})
    assert platform.results == [{"callable": sorted(ALLOWED_CALLS), "others": [False, False], "param": "v"}]
    assert platform.new_last_run == {"n": 1}


def test_commonserverpython_like_names_are_there():
    """Given a script using the prelude's CommonServerPython-like names, then they behave as expected."""
    script = ("demisto.results({'Type': EntryType.NOTE, 'ContentsFormat': EntryFormat.MARKDOWN,\n"
              "                 'Contents': tableToMarkdown('T', [{'a': 1}])})\n"
              "return_error('boom')\n")
    platform = Platform(command="test-module")
    with pytest.raises(SystemExit) as exited:
        engine.run_packed(platform, engine.pack_script(script, "Test Integration"))
    assert exited.value.code == 0
    assert platform.results[0]["Contents"] == "### T\n|a|\n|---|\n| 1 |\n"
    assert platform.results[1]["Type"] == 4 and platform.results[1]["Contents"] == "boom"


def test_an_escaping_exception_propagates():
    """Given a script that raises (as a failed fetch does), then the exception reaches the caller."""
    with pytest.raises(ValueError, match="fetch failed"):
        run("raise ValueError('fetch failed')\n", command="fetch-incidents")


def test_prelude_binds_only_commonserverpython_names():
    """Given our prelude, then each of its module-level names is one the real engine binds too (CommonServerPython
    or `Demisto`), so it hides nothing from the script that the engine would not hide."""
    known = set(engine.commonserverpython_names()) | set(engine.ENGINE_NAMES)
    names = {b.name for b in engine.module_bindings(engine.prelude_text())}
    assert names and names <= known, sorted(names - known)

# endregion


# region CommonServerPython names


def test_the_module_shadows_no_commonserverpython_name():
    """Given the packed module, then none of its module-level names replaces a name of CommonServerPython or
    the engine; names both import from the same place (json, re, time, datetime.datetime, ...) are the
    identical object and allowed."""
    clashes = engine.shadowed_names(engine.pack_script(MODULE_TEXT))
    assert not clashes, [f"line {c.line}: {c.name}" for c in clashes]


def test_the_shadow_check_catches_real_clashes():
    """Given a script that defines CommonServerPython names or imports them from elsewhere, then each is reported;
    the same imports CommonServerPython makes are not."""
    script = ("import json\nfrom typing import Any\nfrom datetime import datetime\n"
              "import datetime as dt\nimport time as clock\n"
              "import datetime\n"                      # the module replaces CommonServerPython's datetime class
              "def retry(): pass\n"                    # CommonServerPython's retry decorator
              "LOG = print\n"
              "if True:\n    class BaseClient: pass\n"
              "def f():\n    global demisto\n")
    assert [c.name for c in engine.shadowed_names(script)] == ["datetime", "retry", "LOG", "BaseClient", "demisto"]


def test_the_names_data_file_names_its_source_and_core_names():
    """Given the recorded CommonServerPython names, then the header names the source commit and the list holds
    the names integrations rely on (a truncated list would let clashes through)."""
    text = engine.CSP_NAMES_PATH.read_text(encoding="utf-8")
    assert "demisto/content" in text.splitlines()[1] and "00428964a35f54ded9ae9f22866ef130cb49b430" in text
    names = engine.commonserverpython_names()
    for name in ("CommandResults", "return_results", "return_error", "tableToMarkdown", "BaseClient", "DemistoException",
                 "GetRemoteDataResponse", "register_module_line", "__line__", "send_data_to_xsiam", "EntryType"):
        assert name in names
    assert names["json"] == "json" and names["datetime"] == "datetime.datetime" and names["LOG"] is None
    assert len(names) > 300

# endregion


# region the real module against the emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0, seed=12).start()
    try:
        yield emu
    finally:
        emu.stop()


def engine_run(emu: Emulator, command: str, **platform_fields) -> Platform:
    params = MANIFEST.validate_params({**emu.params(), "fetch_time": "7 days", "limit": "5"})
    platform = Platform(params=params, command=command, **platform_fields)
    with host.environment({"REQUESTS_CA_BUNDLE": emu.env()["REQUESTS_CA_BUNDLE"]}):
        engine.run_packed(platform, PACKED)
    return platform


def test_test_module_passes_on_the_engine(emulator: Emulator):
    """Given the packed module and the emulator, when test-module runs as the engine runs it, then it returns ok."""
    assert engine_run(emulator, "test-module").results == ["ok"]


def test_one_fetch_pass_on_the_engine(emulator: Emulator):
    """Given the packed module and the emulator, when fetch-incidents runs as the engine runs it, then it hands
    over incidents (no more than the limit) and then sets lastRun."""
    platform = engine_run(emulator, "fetch-incidents")
    assert platform.errors == []
    assert platform.incidents and len(platform.incidents) == 5
    assert all(i["rawJSON"] and i["name"] for i in platform.incidents)
    assert platform.new_last_run and isinstance(platform.new_last_run, dict)

# endregion


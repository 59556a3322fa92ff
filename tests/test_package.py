"""`azure-sentinel package`: one unified YAML that runs on the engine, its identities, the pack zip, and the
refusals when the script would not run on the engine."""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sentinel_emulator import Emulator
from xsoar_local import cli, engine, host, package
from xsoar_local.image import runtime_image
from xsoar_local.manifest import parse_manifest
from xsoar_local.platform import MANIFEST_PATH, MODULE_PATH, Platform

ROOT = MODULE_PATH.parent.parent
MANIFEST = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
DESCRIPTION = (MODULE_PATH.parent / "AzureSentinel_description.md").read_text(encoding="utf-8")
LOGO = MODULE_PATH.parent / "AzureSentinel_image.png"

GOOD_MODULE = '''"""A tiny integration."""
from __future__ import print_function  # the packer removes this one
import json

import demistomock as demisto  # noqa: E402


def main():
    demisto.results(json.dumps({"command": demisto.command()}))


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
'''


@pytest.fixture
def ready_module() -> Path:
    """The repository's module."""
    return MODULE_PATH


def build(module: Path, out: Path, **options) -> tuple[package.Package, dict]:
    result = package.build(module, MANIFEST_PATH, out, **options)
    return result, yaml.safe_load(result.yml.read_text(encoding="utf-8"))


def cli_package(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["package", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# region the unified YAML


def test_the_unified_yaml_is_the_manifest_plus_script_description_and_image(ready_module: Path, tmp_path: Path):
    """Given the module, when packaged, then exactly one YAML is written that keeps every manifest command and
    parameter, names the runtime image, carries the description and the logo, and embeds the packed script:
    no demistomock import and no `from __future__` import but print_function."""
    result, unified = build(ready_module, tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [package.OUTPUT_NAME]
    assert [c["name"] for c in unified["script"]["commands"]] == [c["name"] for c in MANIFEST["script"]["commands"]]
    assert unified["configuration"] == MANIFEST["configuration"]
    assert unified["script"]["dockerimage"] == runtime_image().name == MANIFEST["script"]["dockerimage"]
    assert unified["detaileddescription"] == DESCRIPTION
    assert unified["image"].startswith("data:image/png;base64,")
    assert base64.b64decode(unified["image"].removeprefix("data:image/png;base64,")) == LOGO.read_bytes()
    script = unified["script"]["script"]
    tree = ast.parse(script)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not any(isinstance(n, ast.Import) and any(a.name == "demistomock" for a in n.names) for n in imports)
    futures = {a.name for n in imports if isinstance(n, ast.ImportFrom) and n.module == "__future__" for a in n.names}
    assert futures <= {"print_function"}
    version = json.loads(zipfile.ZipFile(build(ready_module, tmp_path / "z", pack=True)[0].zip)
                         .read("pack_metadata.json"))["currentVersion"]
    assert script == engine.pack_script(ready_module.read_text(encoding="utf-8"), unified["name"],
                                        pack_id=package.PACK_ID, pack_version=version)
    assert script.splitlines()[1] == f"CONSTANT_PACK_VERSION = '{version}'"  # as prepare-content writes it


def test_side_by_side_is_the_default_identity(ready_module: Path, tmp_path: Path):
    """Given no option, then the package has its own ID, name and display name and reuses the official pack's
    classifier and mappers by name."""
    _, unified = build(ready_module, tmp_path)
    assert unified["commonfields"] == {"id": "Microsoft Sentinel EO", "version": -1}
    assert unified["name"] == "Microsoft Sentinel EO" and unified["display"] == "Microsoft Sentinel (exactly once)"
    assert unified["defaultclassifier"] == "Microsoft Sentinel - Classifier"
    assert unified["defaultmapperin"] == "Microsoft Sentinel - Incoming Mapper"
    assert unified["defaultmapperout"] == "Microsoft Sentinel - Outgoing Mapper"
    assert "register_module_line('Microsoft Sentinel EO', 'start', __line__())" in unified["script"]["script"]


def test_replace_official_keeps_the_official_identity(ready_module: Path, tmp_path: Path):
    """Given --replace-official, then the package uses the official ID and name and the official display name."""
    _, unified = build(ready_module, tmp_path, replace_official=True)
    assert unified["commonfields"]["id"] == unified["name"] == "Azure Sentinel"
    assert unified["display"] == "Microsoft Sentinel"


def test_the_manifest_file_is_not_changed(ready_module: Path, tmp_path: Path):
    """Given a package build, then the manifest on disk is untouched (the identity lives only in the package)."""
    before = MANIFEST_PATH.read_bytes()
    build(ready_module, tmp_path, replace_official=True, pack=True)
    assert MANIFEST_PATH.read_bytes() == before

# endregion


# region running the package's script


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0, seed=6).start()
    try:
        yield emu
    finally:
        emu.stop()


def test_the_embedded_script_passes_test_module_on_the_engine(ready_module: Path, tmp_path: Path, emulator: Emulator):
    """Given the package YAML, when its embedded script runs the way the engine runs it (prelude + script as one
    unit, no `__name__`) with params validated by the package's own configuration, then test-module is ok and a
    list command returns a note entry."""
    _, unified = build(ready_module, tmp_path)
    params = parse_manifest(unified).validate_params(emulator.params())
    with host.environment({"REQUESTS_CA_BUNDLE": emulator.env()["REQUESTS_CA_BUNDLE"]}):
        tested = engine.run_packed(Platform(params=params, command="test-module"), unified["script"]["script"])
        listed = engine.run_packed(Platform(params=params, command="azure-sentinel-list-incidents", args={"limit": "2"}),
                                   unified["script"]["script"])
    assert tested.results == ["ok"]
    assert listed.results[0]["Type"] == 1 and len(listed.results[0]["Contents"]) == 2


def test_the_real_module_packages(tmp_path: Path, capsys):
    """Given the repository's module as it is, when packaged through the CLI, then it builds (exit 0)."""
    code, out, err = cli_package(capsys, "--out", str(tmp_path))
    assert code == 0, err
    assert f"wrote {tmp_path / package.OUTPUT_NAME}" in out

# endregion


# region the pack zip


def test_pack_writes_a_content_pack_beside_the_yaml(ready_module: Path, tmp_path: Path):
    """Given --pack, then a zip holds pack_metadata.json (community support, a mandatory dependency on the official
    AzureSentinel pack), the pack README, and the same unified YAML under Integrations/AzureSentinel/."""
    result, _ = build(ready_module, tmp_path, pack=True)
    assert result.zip == tmp_path / f"{package.PACK_ID}.zip"
    with zipfile.ZipFile(result.zip) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read("pack_metadata.json"))
        integration = archive.read("Integrations/AzureSentinel/AzureSentinel.yml").decode()
        readme = archive.read("README.md").decode()
    assert names == ["pack_metadata.json", "README.md", "Integrations/AzureSentinel/AzureSentinel.yml",
                     "Integrations/AzureSentinel/README.md"]
    assert metadata["support"] == "community"
    assert metadata["dependencies"] == {"AzureSentinel": {"mandatory": True, "display_name": "Microsoft Sentinel"}}
    assert metadata["name"] == "Microsoft Sentinel (exactly once)"
    assert integration == result.yml.read_text(encoding="utf-8")
    assert "beside the official Microsoft Sentinel pack" in readme


def test_pack_replacing_the_official_one_does_not_depend_on_it(ready_module: Path, tmp_path: Path):
    """Given --replace-official --pack, then the pack has no dependency on the official pack (installing that
    would bring back the official integration under the same ID)."""
    result, _ = build(ready_module, tmp_path, pack=True, replace_official=True)
    with zipfile.ZipFile(result.zip) as archive:
        metadata = json.loads(archive.read("pack_metadata.json"))
    assert metadata["dependencies"] == {}
    assert metadata["name"] == "Microsoft Sentinel"


def test_the_pack_zip_is_reproducible(ready_module: Path, tmp_path: Path):
    """Given the same inputs, then two builds write byte-identical zips (fixed timestamps)."""
    first, _ = build(ready_module, tmp_path / "a", pack=True)
    second, _ = build(ready_module, tmp_path / "b", pack=True)
    assert first.zip.read_bytes() == second.zip.read_bytes()

# endregion


# region refusals

BAD_MODULES = {
    "future-annotations": (GOOD_MODULE.replace("from __future__ import print_function",
                                               "from __future__ import annotations"),
                           "line 2: `from __future__ import annotations` is a SyntaxError on the engine"),
    "import-not-in-image": (GOOD_MODULE.replace("import json\n", "import json\nimport werkzeug\n"),
                            "line 4: imports `werkzeug`, which the runtime image demisto/auth-utils:1.0.0.13548907"),
    "import-inside-a-function": (GOOD_MODULE.replace("def main():\n", "def main():\n    import flask.json\n"),
                                 "imports `flask.json`, which the runtime image"),
    "removed-from-python-3.12": (GOOD_MODULE.replace("import json\n", "import json\nfrom distutils import util\n"),
                                 "imports `distutils`"),
    "shadows-commonserverpython": (GOOD_MODULE + "\n\ndef return_error(message):\n    raise SystemExit(message)\n",
                                   "line 16: the module-level name `return_error` would replace CommonServerPython's"),
    "demistomock-not-as-the-packer-expects": (GOOD_MODULE.replace("import demistomock as demisto  # noqa: E402",
                                                                  "import demistomock"),
                                              "`demistomock` is imported in a form the packer does not remove"),
    "syntax-error": (GOOD_MODULE.replace("def main():", "def main(:"), "line 8: syntax error"),
}


@pytest.mark.parametrize("case", list(BAD_MODULES))
def test_package_refuses_a_script_the_engine_cannot_run(case: str, tmp_path: Path, capsys):
    """Given a module the engine could not run, when packaged, then one error line names the problem, the exit
    code is 2 and nothing is written."""
    text, expected = BAD_MODULES[case]
    module = tmp_path / "Bad.py"
    module.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, stderr = cli_package(capsys, "--module", str(module), "--manifest", str(MANIFEST_PATH),
                                       "--out", str(out))
    assert code == 2
    assert stdout == ""
    assert len(stderr.splitlines()) == 1 and stderr.startswith("azure-sentinel: error: cannot package: Bad.py")
    assert expected in stderr
    assert not out.exists()


def test_package_accepts_print_function_and_reports_the_count_of_further_problems(tmp_path: Path, capsys):
    """Given a small module with only `from __future__ import print_function`, then it packages; given several
    problems, then the one line names the first and counts the rest."""
    good = tmp_path / "Good.py"
    good.write_text(GOOD_MODULE, encoding="utf-8")
    code, _, err = cli_package(capsys, "--module", str(good), "--manifest", str(MANIFEST_PATH), "--out", str(tmp_path))
    assert code == 0, err
    bad = tmp_path / "Bad.py"
    bad.write_text(GOOD_MODULE.replace("import json\n", "import json\nimport werkzeug\nimport flask\n"), encoding="utf-8")
    code, _, err = cli_package(capsys, "--module", str(bad), "--manifest", str(MANIFEST_PATH), "--out", str(tmp_path))
    assert code == 2 and "werkzeug" in err and "(1 more problem(s) after this one)" in err


def test_package_needs_the_description_and_the_logo(tmp_path: Path, capsys):
    """Given a manifest without its description file beside it, then packaging fails with one line naming the file."""
    manifest = tmp_path / "Fake.yml"
    manifest.write_text(MANIFEST_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    good = tmp_path / "Good.py"
    good.write_text(GOOD_MODULE, encoding="utf-8")
    code, _, err = cli_package(capsys, "--module", str(good), "--manifest", str(manifest), "--out", str(tmp_path / "o"))
    assert code == 2 and "Fake_description.md does not exist" in err

# endregion


# region the logo


def test_the_logo_is_a_small_png_of_the_platforms_size_drawn_by_our_script():
    """Given the committed logo, then it is a 120x50 PNG under 10 KB, byte-identical to tools/make_logo.py's output."""
    data = LOGO.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 10_000
    assert struct.unpack(">II", data[16:24]) == (120, 50)
    spec = importlib.util.spec_from_file_location("make_logo", ROOT / "tools" / "make_logo.py")
    make_logo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_logo)
    assert make_logo.png_bytes() == data

# endregion


@pytest.mark.parametrize("where", ["a-file", "inside-a-file"])
def test_an_out_path_that_cannot_be_a_folder_is_one_line(capsys, tmp_path, where):
    """Given --out naming an existing file (or a path under one), then one line says so, with exit 2."""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    out = tmp_path / "a-file" if where == "a-file" else tmp_path / "a-file" / "dist"
    code, stdout, stderr = cli_package(capsys, "--out", str(out))
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"azure-sentinel: error: cannot write the package into {out} (")
    assert stderr.endswith("); pass --out DIRECTORY, a folder that can be created or written.\n")

"""The runtime image: the manifest names the recorded image, the module imports only what it holds, and
CI's second step tests with exactly its library versions."""

from __future__ import annotations

import ast
import os
import re
from importlib import metadata

import pytest
import yaml

from xsoar_local.image import runtime_image
from xsoar_local.platform import MANIFEST_PATH, MODULE_PATH

ROOT = MODULE_PATH.parent.parent
IMAGE = runtime_image()
PINNED = ("requests", "msal", "pydantic")


def test_the_manifest_names_the_recorded_image():
    """Given the manifest, then its dockerimage is the image whose package list is recorded."""
    manifest = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert manifest["script"]["dockerimage"] == IMAGE.name == "demisto/auth-utils:1.0.0.13548907"


def test_the_record_holds_the_libraries_the_module_needs():
    """Given the recorded image, then its Python and the three libraries are the versions the record states."""
    assert IMAGE.python == "3.12.13"
    assert {name: IMAGE.version(name) for name in PINNED} == {
        "requests": "2.32.4", "msal": "1.37.0", "pydantic": "2.13.5"}
    assert IMAGE.provides("json") and IMAGE.provides("pydantic_core") and not IMAGE.provides("werkzeug")
    assert not IMAGE.provides("distutils") and not IMAGE.provides("asyncore")  # gone in Python 3.12


def test_every_import_of_the_module_is_in_the_image():
    """Given the module, then each module it imports (anywhere in the file) is in the image's Python 3.12
    standard library or packages (demistomock is the platform's)."""
    tree = ast.parse(MODULE_PATH.read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    missing = {name for name in imported - {"demistomock", "__future__"} if not IMAGE.provides(name)}
    assert not missing


def test_ci_second_step_installs_exactly_the_image_versions():
    """Given .ci/run, then its second step pins requests, msal and pydantic to the image's versions, and the
    README's Development section says so."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pins = dict(re.findall(r"\b(requests|msal|pydantic)==([0-9][0-9.]*)", ci))
    assert pins == {name: IMAGE.version(name) for name in PINNED}
    development = (ROOT / "README.md").read_text(encoding="utf-8").split("## Development", 1)[1]
    for name, version in pins.items():
        assert f"{name}=={version}" in development


@pytest.mark.skipif(not os.environ.get("AZURE_SENTINEL_IMAGE_VERSIONS"),
                    reason="checked only in CI's second step (AZURE_SENTINEL_IMAGE_VERSIONS=1)")
def test_this_run_uses_the_image_versions():
    """Given CI's second step, then the installed libraries are exactly the image's versions (so that step
    really tests them)."""
    assert {name: metadata.version(name) for name in PINNED} == {name: IMAGE.version(name) for name in PINNED}

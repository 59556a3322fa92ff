"""The package checked with the ecosystem's own tool: `demisto-sdk validate` and `prepare-content` (1.39.13).

Skipped unless demisto-sdk is installed (too large for every CI run; install it in a separate virtual
environment and point DEMISTO_SDK at its `demisto-sdk` executable). The SDK runs on a content-repository copy of
the package (`package.write_content_tree`) with every HTTP(S) request sent to a dead loopback proxy, so it
never leaves the machine; the validators that need the network or a content graph are not selected
(tests/data/demisto-sdk-validate.toml).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from xsoar_local import package
from xsoar_local.platform import MANIFEST_PATH, MODULE_PATH

SDK = os.environ.get("DEMISTO_SDK") or shutil.which("demisto-sdk")
CONFIG = Path(__file__).parent / "data" / "demisto-sdk-validate.toml"
DEAD_PROXY = "http://127.0.0.1:9"

pytestmark = pytest.mark.skipif(
    not SDK or not Path(SDK).exists(),
    reason="demisto-sdk is not installed (install demisto-sdk==1.39.13 in its own venv; set DEMISTO_SDK=<venv>/bin/demisto-sdk)")


@pytest.fixture
def content_repo(tmp_path: Path) -> Path:
    """The package as a one-pack content repository under git (the SDK reads the repository through git)."""
    root = tmp_path / "content"
    package.write_content_tree(root, MODULE_PATH, MANIFEST_PATH)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=test", "-c", "user.email=test@example.com",
                                                   "commit", "-q", "-m", "package"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def run_sdk(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    env.update({
        "CI": "true",  # no release check against PyPI
        "DEMISTO_SDK_CONTENT_PATH": str(root),
        "DEMISTO_SDK_IGNORE_CONTENT_WARNING": "true",
        **{name: DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")},
    })
    return subprocess.run([SDK, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_demisto_sdk_validate_passes(content_repo: Path):
    """Given the package in a content repository, when demisto-sdk validates the pack with its content checks,
    then nothing fails (rules broken on purpose are in .pack-ignore and README's Validation section), and no
    validator needed the network."""
    result = run_sdk(content_repo, "validate", "-i", f"Packs/{package.PACK_ID}", "--config-path", str(CONFIG))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "All validations passed" in output
    assert "ProxyError" not in output and "Getting from remote" not in output


def test_demisto_sdk_prepare_content_builds_what_package_builds(content_repo: Path, tmp_path: Path):
    """Given the package in a content repository, when demisto-sdk's prepare-content unifies it, then its script
    is exactly the script `azure-sentinel package` embeds, with the same image, commands and runtime image, and
    the detailed description carries ours."""
    out = tmp_path / "sdk-out"
    out.mkdir()
    folder = f"Packs/{package.PACK_ID}/Integrations/{package.INTEGRATION_DIR}"
    result = run_sdk(content_repo, "prepare-content", "-i", folder, "-o", str(out))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    sdk = yaml.safe_load((out / package.OUTPUT_NAME).read_text(encoding="utf-8"))
    ours = yaml.safe_load(package.build(MODULE_PATH, MANIFEST_PATH, tmp_path / "ours").yml.read_text(encoding="utf-8"))
    assert sdk["script"]["script"] == ours["script"]["script"]
    assert base64.b64decode(sdk["image"].split(",", 1)[1]) == base64.b64decode(ours["image"].split(",", 1)[1])
    assert [c["name"] for c in sdk["script"]["commands"]] == [c["name"] for c in ours["script"]["commands"]]
    assert sdk["script"]["dockerimage"] == ours["script"]["dockerimage"]
    assert sdk["commonfields"] == ours["commonfields"] and sdk["name"] == ours["name"]
    assert ours["detaileddescription"].strip() in sdk["detaileddescription"]

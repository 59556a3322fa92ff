"""The README generator: deterministic rendering from a manifest, and the --check round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xsoar_local.platform import MANIFEST_PATH
from xsoar_local.readme import main, render_readme

FIXTURE_MANIFEST = Path(__file__).parent / "fixtures" / "fake_integration.yml"


@pytest.fixture
def manifest() -> dict:
    return yaml.safe_load(FIXTURE_MANIFEST.read_text(encoding="utf-8"))


def test_rendering_has_params_commands_args_and_outputs(manifest: dict) -> None:
    text = render_readme(manifest)
    assert text.startswith("# Fake Sentinel\n\nA fixture integration for the local host's tests.\n")
    assert ("| Default Subscription ID | `subscriptionID` | Short text |  | True |") in text
    assert ("| The minimum severity of incidents to fetch | `min_severity` | Single select | Possible values are: "
            "Informational, Low, Medium, High. Default is Informational. | False |") in text
    assert "`tenant_id`" not in text  # hidden params are left out
    assert "### fake-echo\n\n***\nEcho the args and params \\| for tests.\n" in text
    assert "| status | Statuses. Comma-separated list. Possible values are: New, Active, Closed. | Optional |" in text
    assert "| incident_id | The incident ID. | Required |" in text
    assert "| limit | How many. Default is 50. | Optional |" in text
    assert "| Fake.Result.args | Unknown | The args. |" in text
    assert "### fake-raw" in text and "There are no input arguments for this command." in text
    assert "There is no context output for this command." in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_rendering_is_deterministic(manifest: dict) -> None:
    assert render_readme(manifest) == render_readme(yaml.safe_load(yaml.safe_dump(manifest)))


def test_check_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a written README, then --check passes; after the manifest changes, --check fails (exit 1)."""
    manifest_file = tmp_path / "Fake.yml"
    manifest_file.write_text(FIXTURE_MANIFEST.read_text(encoding="utf-8"), encoding="utf-8")
    readme = tmp_path / "README.md"
    assert main(["--manifest", str(manifest_file), "--check"]) == 1  # no README yet
    assert main(["--manifest", str(manifest_file)]) == 0
    assert readme.read_text(encoding="utf-8") == render_readme(yaml.safe_load(manifest_file.read_text()))
    assert main(["--manifest", str(manifest_file), "--check"]) == 0
    manifest_file.write_text(manifest_file.read_text().replace("How many.", "How many incidents."), encoding="utf-8")
    assert main(["--manifest", str(manifest_file), "--check"]) == 1
    assert "README.md is stale" in capsys.readouterr().err


def test_the_project_manifest_renders() -> None:
    manifest = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    text = render_readme(manifest)
    for command in manifest["script"]["commands"]:
        if not command.get("hidden"):
            assert f"### {command['name']}\n" in text

"""`azure-sentinel docs`: the README rendered from the manifest, the setup text and the recorded command
examples (demisto-sdk's `command_examples` convention), the staleness check, and recording."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from xsoar_local import cli
from xsoar_local.errors import ConfigError
from xsoar_local.examples import (
    Example, Recording, examples_path, load_recording, parse_example, read_examples, record, recorded_path,
)
from xsoar_local.platform import MANIFEST_PATH, MODULE_PATH
from xsoar_local.readme import render_for, render_readme, stale_examples

README = MANIFEST_PATH.parent / "README.md"
MANIFEST = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))


def docs(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["docs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def package_dir(tmp_path: Path) -> Path:
    """A copy of the integration's documentation inputs (manifest, description, examples, recording, README)."""
    for name in ("AzureSentinel.yml", "AzureSentinel_description.md", "command_examples", "README.md"):
        shutil.copy(MANIFEST_PATH.parent / name, tmp_path / name)
    (tmp_path / "test_data").mkdir()
    shutil.copy(recorded_path(MANIFEST_PATH), recorded_path(tmp_path / "AzureSentinel.yml"))
    return tmp_path


# region the repository's README


def test_the_readme_is_current():
    """Given the manifest, the description and the recorded examples, then README.md is their rendering and the
    recording matches command_examples and the manifest (fix: `azure-sentinel docs [--record]`)."""
    assert README.read_text(encoding="utf-8") == render_for(MANIFEST_PATH), "run `azure-sentinel docs`"
    assert stale_examples(MANIFEST_PATH) == [], "run `azure-sentinel docs --record`"


def test_every_command_has_a_recorded_example():
    """Given the manifest, then each command it documents has at least one example recorded against the emulator
    (add a `!command ...` line to AzureSentinel/command_examples, then `azure-sentinel docs --record`)."""
    recording = load_recording(recorded_path(MANIFEST_PATH))
    platform_only = {"update-remote-system"}  # its arguments (data, delta, entries...) come from the platform
    missing = [c["name"] for c in MANIFEST["script"]["commands"]
               if not c.get("hidden") and c["name"] not in platform_only and not recording.for_command(c["name"])]
    assert not missing


def test_the_readme_has_setup_parameters_and_examples():
    """Given the rendered README, then it has the setup text, the parameter table, and per command its arguments,
    outputs and an example in demisto-sdk's layout."""
    text = README.read_text(encoding="utf-8")
    assert "## Setup\n\n" in text and "### 2. Give that identity roles" in text
    assert "| Default Subscription ID | `subscriptionID` |" in text
    section = text.split("### azure-sentinel-list-incidents\n", 1)[1].split("\n### ", 1)[0]
    assert "#### Input" in section and "#### Context Output" in section
    assert "#### Command example\n```!azure-sentinel-list-incidents limit=3```\n#### Context Example\n```json\n" in section
    assert "#### Human Readable Output\n\n>### Incidents List (3 results)\n>|ID|" in section
    assert "127.0.0.1" not in text  # the emulator's address is shown as the public endpoint

# endregion


# region command_examples and rendering


def test_command_examples_follow_demisto_sdks_conventions(tmp_path: Path):
    """Given a command_examples file, then blank and # lines are ignored, a missing ! is added, and quoted values
    keep their spaces."""
    path = tmp_path / "command_examples"
    path.write_text("# a comment\n\n!cmd-a limit=2\ncmd-b message=\"two words\" x=1\n", encoding="utf-8")
    lines = read_examples(path)
    assert lines == ["!cmd-a limit=2", '!cmd-b message="two words" x=1']
    assert parse_example(lines[1]) == ("cmd-b", ["message=two words", "x=1"])
    with pytest.raises(ConfigError, match="cannot be parsed"):
        parse_example('!cmd message="unterminated')


def test_examples_render_under_their_command_with_quoted_output():
    """Given a recording for one command, then its section shows the command, the context as JSON and the
    human-readable output quoted line by line; other commands show none."""
    manifest = {"name": "X", "display": "X", "configuration": [], "script": {"commands": [
        {"name": "x-one", "description": "One."}, {"name": "x-two", "description": "Two."}]}}
    example = Example("!x-one a=1", "x-one", "### Title\n|a|\n|---|\n| 1 |", {"X": {"One": {"a": 1}}})
    text = render_readme(manifest, "## X\n\nSet it up.\n", Recording([example], [], ["!x-one a=1"]))
    one = text.split("### x-one\n", 1)[1].split("### x-two", 1)[0]
    assert "#### Command example\n```!x-one a=1```" in one
    assert '```json\n{\n    "X": {\n        "One": {\n            "a": 1\n        }\n    }\n}\n```' in one
    assert "#### Human Readable Output\n\n>### Title\n>|a|\n>|---|\n>| 1 |\n" in one
    assert "Command example" not in text.split("### x-two", 1)[1]
    assert "## Setup\n\nSet it up.\n" in text


def test_check_fails_when_the_examples_changed_after_recording(package_dir: Path, capsys):
    """Given a copy whose README and recording are current, then --check passes; after command_examples changes,
    --check fails (exit 1) and names the fix."""
    manifest = package_dir / "AzureSentinel.yml"
    assert docs(capsys, "--manifest", str(manifest), "--module", str(MODULE_PATH), "--check")[0] == 0
    with examples_path(manifest).open("a", encoding="utf-8") as extra:
        extra.write("!azure-sentinel-list-incidents limit=1\n")
    code, _, err = docs(capsys, "--manifest", str(manifest), "--module", str(MODULE_PATH), "--check")
    assert code == 1 and "recorded examples are stale" in err and "azure-sentinel docs --record" in err


def test_check_fails_when_a_skipped_example_has_its_command_now(package_dir: Path):
    """Given a recording that skipped an example for a command the manifest lacked, when the manifest gains that
    command, then the recording is stale."""
    manifest = package_dir / "AzureSentinel.yml"
    future = "!azure-sentinel-future-command limit=1"
    with (package_dir / "command_examples").open("a", encoding="utf-8") as examples:
        examples.write(future + "\n")
    recording = load_recording(recorded_path(manifest))
    recording.lines.append(future)
    recording.skipped.append(future)
    recorded_path(manifest).write_text(recording.to_json(), encoding="utf-8")
    assert stale_examples(manifest) == []
    name = parse_example(future)[0]
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["script"]["commands"].append({"name": name, "description": "New.", "arguments": []})
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert any("skipped example(s) now have their command" in p for p in stale_examples(manifest))


def test_a_malformed_recording_is_one_clear_error(package_dir: Path, capsys):
    """Given a recorded file that is not ours, then docs exits 2 with one line naming the fix."""
    recorded_path(package_dir / "AzureSentinel.yml").write_text('{"examples": 3}', encoding="utf-8")
    code, _, err = docs(capsys, "--manifest", str(package_dir / "AzureSentinel.yml"), "--check")
    assert code == 2 and "is not a recorded examples file" in err and len(err.splitlines()) == 1

# endregion


# region recording


def test_recording_is_deterministic_and_skips_commands_not_in_the_manifest(package_dir: Path):
    """Given the examples, when recorded twice against fresh emulators (fixed seed, fixed clock, seeded IDs), then
    both recordings are identical, unknown commands are skipped, and no loopback address is recorded."""
    manifest = package_dir / "AzureSentinel.yml"
    examples_path(manifest).write_text("!azure-sentinel-list-incidents limit=2\n"
                                       "!azure-sentinel-not-yet-a-command x=1\n"
                                       '!azure-sentinel-create-incident title="A b" severity=Low status=New\n',
                                       encoding="utf-8")
    first, second = record(MODULE_PATH, manifest, log=lambda _l: None), record(MODULE_PATH, manifest, log=lambda _l: None)
    assert first.to_json() == second.to_json()
    assert [e.command for e in first.examples] == ["azure-sentinel-list-incidents", "azure-sentinel-create-incident"]
    assert first.skipped == ["!azure-sentinel-not-yet-a-command x=1"]
    document = json.loads(first.to_json())
    assert document["lines"] == read_examples(examples_path(manifest))
    assert "127.0.0.1" not in first.to_json()
    assert document["examples"][0]["context"]["AzureSentinel"]["Incident"][0]["IncidentNumber"] == 1


def test_record_then_check_through_the_cli(package_dir: Path, capsys):
    """Given new examples, when `docs --record` runs, then it writes the recording and the README, and --check
    passes afterwards."""
    manifest = package_dir / "AzureSentinel.yml"
    examples_path(manifest).write_text("!azure-sentinel-auth-reset\n", encoding="utf-8")
    code, out, _ = docs(capsys, "--manifest", str(manifest), "--module", str(MODULE_PATH), "--record")
    assert code == 0 and "1 example(s), 0 skipped" in out
    assert "```!azure-sentinel-auth-reset```" in (package_dir / "README.md").read_text(encoding="utf-8")
    assert docs(capsys, "--manifest", str(manifest), "--module", str(MODULE_PATH), "--check")[0] == 0


def test_a_failing_example_stops_the_recording_with_its_error(package_dir: Path, capsys):
    """Given an example the integration answers with an error, then --record exits 2 naming the example and the
    error, and the recorded file is not replaced."""
    manifest = package_dir / "AzureSentinel.yml"
    before = recorded_path(manifest).read_bytes()
    examples_path(manifest).write_text(
        "!azure-sentinel-get-incident-by-id incident_id=00000000-0000-0000-0000-000000000000\n", encoding="utf-8")
    code, _, err = docs(capsys, "--manifest", str(manifest), "--module", str(MODULE_PATH), "--record")
    assert code == 2 and "command example '!azure-sentinel-get-incident-by-id" in err and "failed" in err
    assert recorded_path(manifest).read_bytes() == before

# endregion

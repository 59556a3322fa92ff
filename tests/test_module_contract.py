"""The manifest, the module's command table, its argument models and the README must not drift.

- The commands the platform can send (the manifest's commands plus the implicit ones its script flags
  imply) are exactly the keys of `COMMANDS`.
- Every manifest argument of every command is a field of the args model that command parses, its
  predefined values and defaults are accepted, and "required" means the same on both sides; running
  each command with every argument set succeeds against a generic ARM fake.
- README's Quick start test command is the first command .ci/run runs; its second step reruns the suite on
  the runtime image's library versions.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests_mock
import yaml

from module_helpers import ROOT, base_params, load_module, load_samples, mock_login, serve_sample

MOD = load_module()
MANIFEST = yaml.safe_load((ROOT / "AzureSentinel" / "AzureSentinel.yml").read_text(encoding="utf-8"))
SCRIPT = MANIFEST["script"]
MANIFEST_COMMANDS = {c["name"]: c for c in SCRIPT["commands"]}
MIRRORING_COMMANDS = {"get-remote-data", "get-modified-remote-data", "update-remote-system", "get-mapping-fields"}

# A valid value for every argument name the manifest uses (predefined values are taken from the manifest).
def implicit_commands() -> set[str]:
    """Commands the platform sends without a manifest entry, implied by the script flags."""
    implicit = {"test-module"}
    if SCRIPT.get("isfetch"):
        implicit.add("fetch-incidents")
    return implicit


@pytest.fixture
def recorded_models(monkeypatch):
    """The args models each command parses, recorded by wrapping the module's parse_args."""
    models: list[type] = []
    real = MOD.parse_args

    def recording(model, args):
        models.append(model)
        return real(model, args)

    monkeypatch.setattr(MOD, "parse_args", recording)
    return models


# -- commands ----------------------------------------------------------------------------------------


def test_command_table_equals_manifest_plus_implicit_commands():
    """Given the manifest, then COMMANDS has exactly its commands plus test-module and fetch-incidents."""
    expected = set(MANIFEST_COMMANDS) | implicit_commands()
    assert set(MOD.COMMANDS) == expected


def test_mirroring_flags_have_their_commands():
    """Given isremotesyncin/out in the manifest, then the platform's mirroring commands are implemented and
    declared (all four: this integration mirrors both ways)."""
    assert SCRIPT["isremotesyncin"] is SCRIPT["isremotesyncout"] is SCRIPT["ismappable"] is True
    assert MIRRORING_COMMANDS <= set(MOD.COMMANDS) & set(MANIFEST_COMMANDS)


def is_a_result(name: str, result: Any) -> bool:
    """A successful answer: a note entry, or for the mirroring commands the platform's own shapes."""
    if name == "get-remote-data":
        return isinstance(result, list) and bool(result) and "ID" in result[0]
    if name == "get-mapping-fields":
        return isinstance(result, dict) and "Microsoft Sentinel Incident" in result
    if name == "update-remote-system":
        return isinstance(result, str) and bool(result)
    return isinstance(result, dict) and result.get("Type") == 1


COMMAND_IDS = sorted(MANIFEST_COMMANDS)


SAMPLES = load_samples()


def run_first_sample(name: str) -> Any:
    """Run a command's first recorded sample through build_run + COMMANDS (no platform, never sleeping)."""
    sample = next((s for s in SAMPLES if s["command"] == name), None)
    assert sample, f"{name} has no sample in tests/samples/"
    args = dict(sample.get("args") or {})
    with requests_mock.Mocker() as m:
        mock_login(m)
        files = serve_sample(m, sample)
        run = MOD.build_run(base_params(**(sample.get("params") or {})), args, name, {}, log=lambda _m: None,
                            sleep=lambda _s: None)
        run.file_path = lambda entry_id: {"path": files[entry_id], "name": entry_id}
        return MOD.COMMANDS[name](run, args), args


@pytest.mark.parametrize("name", COMMAND_IDS)
def test_every_manifest_argument_is_a_field_of_the_commands_args_model(name, recorded_models):
    """Given a command run on its recorded sample, then each of its manifest arguments is a field it parsed."""
    command = MANIFEST_COMMANDS[name]
    result, _args = run_first_sample(name)
    assert is_a_result(name, result), result
    names = {a["name"] for a in command.get("arguments") or []}
    if not names:
        return
    assert recorded_models, f"{name} takes arguments but parsed none"
    fields = set().union(*(model.model_fields for model in recorded_models))
    missing = names - fields
    assert not missing, f"{name}: manifest arguments not accepted by its args model: {sorted(missing)}"


@pytest.mark.parametrize("name", COMMAND_IDS)
def test_predefined_values_defaults_and_required_agree(name, recorded_models):
    """Given a command's manifest arguments, then predefined values parse, defaults match and required agrees."""
    command = MANIFEST_COMMANDS[name]
    arguments = command.get("arguments") or []
    if not arguments:
        return
    _result, base = run_first_sample(name)
    model = recorded_models[0]
    for arg in arguments:
        field = model.model_fields.get(arg["name"])
        assert field is not None, f"{name}.{arg['name']} is not a field of {model.__name__}"
        for value in arg.get("predefined") or []:
            MOD.parse_args(model, {**base, arg["name"]: value})
        if "defaultValue" in arg:
            parsed = MOD.parse_args(model, {k: v for k, v in base.items() if k != arg["name"]})
            assert str(getattr(parsed, arg["name"])).lower() == str(arg["defaultValue"]).lower(), arg["name"]
        assert field.is_required() == bool(arg.get("required")), f"{name}.{arg['name']} required mismatch"
        if arg.get("required"):
            with pytest.raises(MOD.ConfigError, match=f"'{arg['name']}' is required"):
                MOD.parse_args(model, {k: v for k, v in base.items() if k != arg["name"]})


# -- README and CI ------------------------------------------------------------------------------------


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\s*$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no '## Quick start' section"
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", section.group(1), re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def ci_test_commands() -> list[str]:
    """The pytest lines of .ci/run, in order (step 1, then the image-versions step)."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.strip().startswith("#")]
    return [line for line in lines if "pytest" in line]


def test_readme_quick_start_test_command_is_what_ci_runs():
    """Given README's Quick start, then its test command is exactly the first command .ci/run executes."""
    test_commands = [c for c in quick_start_commands() if "pytest" in c]
    assert len(test_commands) == 1 and test_commands[0] == ci_test_commands()[0]


def test_ci_runs_the_module_tests_again_on_the_image_versions_and_nothing_else():
    """Given .ci/run, then besides step 1 it runs only the integration module's tests once more (on the runtime
    image's library versions, flagged by AZURE_SENTINEL_IMAGE_VERSIONS=1), those tests exist and include the
    version check, and README's Development section documents that step."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci_test_commands()[1:] == ["AZURE_SENTINEL_IMAGE_VERSIONS=1 python -m pytest -q $MODULE_TESTS"]
    patterns = re.search(r'MODULE_TESTS="([^"]*)"', ci).group(1).split()
    files = {path.name for pattern in patterns for path in ROOT.glob(pattern)}
    assert {"test_runtime_image.py", "test_module_transport.py", "test_adversarial.py", "test_engine.py"} <= files
    assert len(files) >= 20
    development = (ROOT / "README.md").read_text(encoding="utf-8").split("## Development", 1)[1]
    assert ".ci/run" in development and "library versions" in development


def test_integration_readme_is_generated_from_the_manifest():
    """Given the manifest, its setup text and its recorded examples, then AzureSentinel/README.md is exactly what
    the generator renders from them, so the command reference can never drift (`azure-sentinel docs`)."""
    from xsoar_local.readme import render_for

    readme = ROOT / "AzureSentinel" / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert text == render_for(ROOT / "AzureSentinel" / "AzureSentinel.yml"), \
        "AzureSentinel/README.md is stale: run azure-sentinel docs"
    for command in MANIFEST["script"]["commands"]:
        assert f"### {command['name']}" in text

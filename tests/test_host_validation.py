"""Instance files and manifest validation, below the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsoar_local.errors import ConfigError
from xsoar_local.instance import expand, load_instance
from xsoar_local.manifest import load_manifest, parse_manifest
from xsoar_local.platform import MANIFEST_PATH

FIXTURE_MANIFEST = Path(__file__).parent / "fixtures" / "fake_integration.yml"
ENV = {"SECRET": "s3cret", "EMPTY": ""}


# region ${VAR} expansion

@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("${SECRET}", "s3cret", id="plain"),
    pytest.param("pre-${SECRET}-post", "pre-s3cret-post", id="inside-text"),
    pytest.param("${MISSING:-fallback}", "fallback", id="default-when-unset"),
    pytest.param("${EMPTY:-fallback}", "fallback", id="default-when-empty"),
    pytest.param("${EMPTY}", "", id="set-but-empty"),
    pytest.param("${SECRET:-}", "s3cret", id="empty-default-unused"),
    pytest.param("$${SECRET}", "${SECRET}", id="escaped"),
    pytest.param("no references", "no references", id="literal"),
])
def test_references_expand_from_the_environment(text: str, expected: str) -> None:
    assert expand(text, ENV, "f: k") == expected


def test_expansion_reaches_nested_values_and_keeps_other_types() -> None:
    value = {"identifier": "id-${SECRET}", "password": "${SECRET}", "n": 5, "flag": True, "l": ["${SECRET}"]}
    assert expand(value, ENV, "f: k") == {"identifier": "id-s3cret", "password": "s3cret", "n": 5, "flag": True,
                                          "l": ["s3cret"]}


def test_an_unset_variable_without_default_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^f: credentials.password: environment variable CLIENT_SECRET is not set"):
        expand({"password": "${CLIENT_SECRET}"}, ENV, "f: credentials")


def test_a_malformed_reference_is_refused() -> None:
    with pytest.raises(ConfigError, match="malformed"):
        expand("${not closed", ENV, "f: k")


def test_instance_file_separates_env_from_params(tmp_path: Path) -> None:
    path = tmp_path / "instance.yml"
    path.write_text("subscriptionID: ${SECRET}\nenv:\n  REQUESTS_CA_BUNDLE: /ca/${SECRET}.pem\n", encoding="utf-8")
    instance = load_instance(path, ENV)
    assert instance.values == {"subscriptionID": "s3cret"}
    assert instance.env == {"REQUESTS_CA_BUNDLE": "/ca/s3cret.pem"}


@pytest.mark.parametrize(("name", "text", "fragment"), [
    pytest.param("instance.yml", "- a\n- b\n", "must be a mapping", id="not-a-mapping"),
    pytest.param("instance.yml", "a: [b\n", "is not valid YAML", id="bad-yaml"),
    pytest.param("instance.json", "{", "is not valid JSON", id="bad-json"),
    pytest.param("instance.yml", "env: [A]\n", "`env` must be a mapping", id="bad-env"),
])
def test_malformed_instance_files_are_config_errors(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment) as caught:
        load_instance(path, ENV)
    assert "\n" not in str(caught.value)

# endregion


# region params and args

def test_params_are_coerced_and_defaulted() -> None:
    manifest = load_manifest(FIXTURE_MANIFEST)
    params = manifest.validate_params({
        "subscriptionID": 123, "insecure": "No", "isFetch": True, "statuses_to_fetch": ["Closed"],
        "credentials": {"identifier": "app", "password": "pw"}, "limit": 10, "tenant_id": "hidden-but-allowed",
    })
    assert params == {
        "subscriptionID": "123", "credentials": {"identifier": "app", "password": "pw"}, "insecure": False,
        "isFetch": True, "min_severity": "Informational", "statuses_to_fetch": ["Closed"], "limit": "10",
        "fetch_time": "3 days", "fetch_mode": "ok", "batch": "2", "tenant_id": "hidden-but-allowed",
        "mirror_direction": "None", "close_incident": False, "close_ticket": False, "comment_tag": "comment",
    }


def test_credentials_with_only_a_password_get_an_empty_identifier() -> None:
    manifest = load_manifest(FIXTURE_MANIFEST)
    params = manifest.validate_params({"subscriptionID": "s", "credentials": {"password": "pw"}})
    assert params["credentials"] == {"identifier": "", "password": "pw"}


def test_empty_required_value_counts_as_missing() -> None:
    manifest = load_manifest(FIXTURE_MANIFEST)
    with pytest.raises(ConfigError, match="'subscriptionID' .* is required"):
        manifest.validate_params({"subscriptionID": ""})


def test_a_list_for_a_text_param_is_refused() -> None:
    manifest = load_manifest(FIXTURE_MANIFEST)
    with pytest.raises(ConfigError, match="must be a single value, not a list"):
        manifest.validate_params({"subscriptionID": ["a", "b"]})


def test_implicit_commands_exist_and_take_no_arguments() -> None:
    manifest = parse_manifest({"configuration": [], "script": {"commands": []}})
    assert manifest.command("test-module").arguments == ()
    with pytest.raises(ConfigError, match="unknown argument 'x'"):
        manifest.validate_args(manifest.command("fetch-incidents"), {"x": "1"})


def test_predefined_applies_only_with_auto_predefined() -> None:
    manifest = parse_manifest({"script": {"commands": [{"name": "c", "arguments": [
        {"name": "free", "predefined": ["a"]}, {"name": "fixed", "auto": "PREDEFINED", "predefined": ["a"]}]}]}})
    command = manifest.command("c")
    assert manifest.validate_args(command, {"free": "zzz", "fixed": "a"}) == {"free": "zzz", "fixed": "a"}


def test_the_real_manifest_loads_and_validates_a_typical_instance() -> None:
    """Given the project's manifest, then a client-secret instance validates and gets the platform's shapes."""
    manifest = load_manifest(MANIFEST_PATH)
    assert manifest.is_fetch
    params = manifest.validate_params({
        "subscriptionID": "sub", "resourceGroupName": "rg", "workspaceName": "ws",
        "creds_tenant_id": "tenant", "creds_client_id": "client", "credentials": "secret", "isFetch": "true",
    })
    assert params["credentials"] == {"identifier": "", "password": "secret"}
    assert params["isFetch"] is True
    assert "azure-sentinel-list-incidents" in manifest.commands

# endregion

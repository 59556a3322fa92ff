"""Contract: the context every command emits is what its manifest entry declares, and nothing else.

Each command has at least one sample in tests/samples/*.yaml: its arguments and the recorded API answers
it gets (AzureSentinel/test_data payloads or inline JSON). The command runs as the platform would;
every context path it emits must be declared in the manifest's outputs, and every declared output
must be emitted by at least one of its samples (unless the sample file lists it as optional).

Sample format (a YAML list)::

    - command: azure-sentinel-get-incident-by-id
      args: {incident_id: 73e01a99-5cd7-4139-a149-9f2736ff2ab5}
      routes:              # answered by requests-mock; `path` is relative to the workspace URL; or give
        - {method: GET, path: incidents/73e01a99-..., json_file: incident_get.json}
        # `url` ("{ARM}/subscriptions?..." or "re:<regex>"), and `status` (default 200)
      files: {entry-1: watchlist.csv}   # file entries for demisto.getFilePath (test_data paths)
      optional: [AzureSentinel.Incident.Deleted]
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import pytest
import requests_mock
import yaml

from module_helpers import ROOT, base_params, load_samples, mock_login, serve_sample
from xsoar_local.platform import Platform, run_module

MANIFEST = yaml.safe_load((ROOT / "AzureSentinel" / "AzureSentinel.yml").read_text(encoding="utf-8"))
DECLARED = {c["name"]: {o["contextPath"] for o in c.get("outputs") or []} for c in MANIFEST["script"]["commands"]}
# Commands whose results are not context entries (the platform reads them directly).
NOT_CONTEXT = {"azure-sentinel-auth-reset", "get-modified-remote-data", "get-remote-data", "get-mapping-fields",
               "update-remote-system"}
SAMPLES = load_samples()


def emitted_paths(context: dict[str, Any], declared: set[str]) -> set[str]:
    """Context leaf paths: keys without their `(val...)` merge rule, lists flattened; a declared path
    is a leaf even when its value is an object (outputs of type Unknown)."""
    paths: set[str] = set()

    def walk(prefix: str, value: Any) -> None:
        if prefix in declared and not isinstance(value, list) or not isinstance(value, (dict, list)):
            paths.add(prefix)
        elif isinstance(value, list):
            if value and not any(isinstance(v, dict) for v in value) or not value and prefix in declared:
                paths.add(prefix)
            for item in value:
                if isinstance(item, dict):
                    walk(prefix, item)
        else:
            if not value:
                paths.add(prefix)
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)

    for key, value in context.items():
        walk(re.sub(r"\(.*\)$", "", key), value)
    return paths


def run_sample(sample: dict[str, Any]) -> dict[str, Any]:
    with requests_mock.Mocker() as m:
        mock_login(m)
        files = serve_sample(m, sample)
        platform = Platform(params=base_params(**(sample.get("params") or {})), command=sample["command"],
                            args=dict(sample.get("args") or {}), files=files)
        run_module(platform)
    assert len(platform.results) == 1, platform.results
    entry = platform.results[0]
    assert isinstance(entry, dict) and entry.get("Type") == 1, entry
    return entry


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s["command"] not in NOT_CONTEXT], ids=lambda s: f"{s['command']}:{json.dumps(s.get('args'))[:40]}")
def test_a_sample_emits_only_declared_context(sample):
    """Given a recorded answer, when the command runs, then every context path it emits is declared."""
    declared = DECLARED[sample["command"]]
    undeclared = emitted_paths(run_sample(sample)["EntryContext"], declared) - declared
    assert not undeclared, f"{sample['command']} emits undeclared context: {sorted(undeclared)}"


@pytest.mark.parametrize("name", sorted(set(DECLARED) - NOT_CONTEXT))
def test_every_declared_output_is_emitted_by_a_sample(name):
    """Given a command's samples, then together they emit every output its manifest declares."""
    samples = [s for s in SAMPLES if s["command"] == name]
    assert samples, f"{name} has no sample in tests/samples/"
    emitted: set[str] = set()
    optional: set[str] = set()
    for sample in samples:
        emitted |= emitted_paths(run_sample(sample)["EntryContext"], DECLARED[name])
        optional |= set(sample.get("optional") or [])
    missing = DECLARED[name] - emitted - optional
    assert not missing, f"{name} declares outputs no sample emits: {sorted(missing)}"


def test_the_path_walk_sees_nested_lists_and_merge_rules():
    """Given a context with a merge rule, nested lists and an Unknown-typed object, then paths are as declared."""
    context = {"AzureSentinel.X(val.ID === obj.ID)": [{"ID": 1, "Label": [{"Name": "a"}], "Raw": {"k": 1}}]}
    assert emitted_paths(context, {"AzureSentinel.X.Raw"}) == {
        "AzureSentinel.X.ID", "AzureSentinel.X.Label.Name", "AzureSentinel.X.Raw"}

"""`azure-sentinel package`: the integration as one unified YAML to import into XSOAR 6 and 8.

    azure-sentinel package --out DIR [--replace-official] [--pack]

Writes DIR/integration-AzureSentinel.yml: the manifest with the packed module as `script.script` (the
packer's clean-up, see `engine.pack_script`), the setup text (`<Name>_description.md`) as
`detaileddescription` and the logo (`<Name>_image.png`) as a `data:image/png;base64,` `image`.

Identity. By default the package installs beside the official "Azure Sentinel" integration: its own ID and
name (`SIDE_BY_SIDE`) and the official pack's classifier and mappers by name, so its incidents use the
official incident type, fields and layout. `--replace-official` keeps the official ID and name, for users
who removed the official pack. `--pack` also writes DIR/<PACK_ID>.zip, a content pack for upload.

The build is refused (a `PackageError`, one line, exit code 2) when the script would not run on the engine:
a syntax error, a `from __future__` import other than print_function, an import the runtime image lacks
(anywhere in the file), or a module-level name that would replace one of CommonServerPython's.
"""

from __future__ import annotations

import ast
import base64
import copy
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xsoar_local import engine
from xsoar_local.errors import ConfigError
from xsoar_local.image import runtime_image

OUTPUT_NAME = "integration-AzureSentinel.yml"
INTEGRATION_DIR = "AzureSentinel"
PACK_ID = "MicrosoftSentinelExactlyOnce"
OFFICIAL_PACK_ID = "AzureSentinel"
PNG_PREFIX = "data:image/png;base64,"
PACK_VERSION = "1.0.0"  # a pack's first version (later ones need release notes, ReleaseNotes/<x_y_z>.md)
PACK_SUPPORT = "community"  # deliberate: maintained by this project, not by Palo Alto Networks

# demisto-sdk rules this project breaks on purpose (README: Validation): IN126 wants the fetch params named
# max_fetch and first_fetch; ours keep the official integration's names (limit, fetch_time) so its instances
# load unchanged.
IGNORED_RULES = ("IN126",)

# The platform's integration categories (demisto-sdk checks the manifest's against this list).
APPROVED_CATEGORIES = (
    "Analytics & SIEM", "Authentication & Identity Management", "Case Management",
    "Data Enrichment & Threat Intelligence", "Database", "Deception & Breach Simulation", "Email", "Endpoint",
    "Forensics & Malware Analysis", "IT Services", "Messaging and Conferencing", "Network Security", "Utilities",
    "Vulnerability Management",
)

# The official pack's content the package reuses by name.
DEFAULT_CONTENT = {
    "defaultclassifier": "Microsoft Sentinel - Classifier",
    "defaultmapperin": "Microsoft Sentinel - Incoming Mapper",
    "defaultmapperout": "Microsoft Sentinel - Outgoing Mapper",
}


@dataclass(frozen=True)
class Identity:
    id: str
    display: str

    @property
    def name(self) -> str:
        return self.id  # the platform (and demisto-sdk's BA101) want id == name


SIDE_BY_SIDE = Identity("Microsoft Sentinel EO", "Microsoft Sentinel (exactly once)")
OFFICIAL = Identity("Azure Sentinel", "Microsoft Sentinel")


class PackageError(ConfigError):
    """The package cannot be built; the message is one line naming the problem."""


@dataclass
class Package:
    """What `build` wrote."""

    yml: Path
    identity: Identity
    zip: Path | None = None
    files: list[Path] = field(default_factory=list)


# region engine readiness

def engine_problems(module_text: str, module_name: str = "AzureSentinel.py") -> list[str]:
    """Why the module would not run on the engine, one sentence each (empty when it would)."""
    try:
        tree = ast.parse(module_text)
    except SyntaxError as exc:
        return [f"{module_name} line {exc.lineno}: syntax error ({exc.msg}); the engine cannot compile it."]
    problems = [*_future_imports(tree, module_name)]
    packed = engine.pack_script(module_text)  # same line numbers as the module
    problems += _missing_imports(ast.parse(packed), module_name)
    problems += [f"{module_name} line {b.line}: the module-level name `{b.name}` would replace CommonServerPython's "
                 f"on the engine; rename it." for b in engine.shadowed_names(packed)]
    if not problems:
        try:
            engine.compile_packed(engine.pack_script(module_text, "check"))
        except SyntaxError as exc:
            problems.append(f"{module_name}: the engine cannot compile the packed script ({exc.msg}).")
    return problems


def _future_imports(tree: ast.Module, module_name: str) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                if alias.name != "print_function":
                    problems.append(
                        f"{module_name} line {node.lineno}: `from __future__ import {alias.name}` is a SyntaxError on "
                        "the engine (it compiles its prelude and the script as one unit); remove it.")
    return problems


def _missing_imports(tree: ast.Module, module_name: str) -> list[str]:
    image = runtime_image()
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                problems.append(f"{module_name} line {node.lineno}: a relative import; the engine runs the script as "
                                "one file, so there is no package to import from.")
                continue
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top == "__future__":
                continue
            if top in ("demistomock", "CommonServerPython", "CommonServerUserPython"):
                problems.append(f"{module_name} line {node.lineno}: `{module}` is imported in a form the packer does not "
                                f"remove; use exactly `import demistomock as demisto` on its own line.")
            elif not image.provides(top):
                problems.append(f"{module_name} line {node.lineno}: imports `{module}`, which the runtime image "
                                f"{image.name} does not have (Python {image.python} and its packages).")
    return problems

# endregion


# region building

def packaged_manifest(manifest: Mapping[str, Any], identity: Identity = SIDE_BY_SIDE) -> dict[str, Any]:
    """The manifest with the package's identity and the official pack's content names (a new mapping)."""
    packaged = copy.deepcopy(dict(manifest))
    packaged["commonfields"] = {**packaged.get("commonfields", {}), "id": identity.id}
    packaged["name"] = identity.name
    packaged["display"] = identity.display
    packaged.update(DEFAULT_CONTENT)
    return packaged


def unified_yaml(manifest: Mapping[str, Any], module_text: str, description: str, image_png: bytes,
                 identity: Identity = SIDE_BY_SIDE, version: str = PACK_VERSION) -> dict[str, Any]:
    """The manifest as one importable integration (a new mapping; the manifest is not changed)."""
    unified = packaged_manifest(manifest, identity)
    unified["detaileddescription"] = description
    unified["image"] = PNG_PREFIX + base64.b64encode(image_png).decode("ascii")
    script = engine.pack_script(module_text, identity.name, pack_id=PACK_ID, pack_version=version)
    unified["script"] = {**unified["script"], "script": script}
    return unified


def build(module: Path, manifest_path: Path, out: Path, *, replace_official: bool = False,
          pack: bool = False) -> Package:
    """Check the module, then write the unified YAML (and the pack zip) into `out`."""
    module_text = _read(module, "integration module")
    problems = engine_problems(module_text, module.name)
    if problems:
        more = f" ({len(problems) - 1} more problem(s) after this one)" if len(problems) > 1 else ""
        raise PackageError(f"cannot package: {problems[0]}{more}")
    manifest = _load_manifest(manifest_path)
    stem = manifest_path.with_suffix("")
    description = _read(Path(f"{stem}_description.md"), "detailed description")
    image_png = _read_png(Path(f"{stem}_image.png"))
    identity = OFFICIAL if replace_official else SIDE_BY_SIDE
    unified = unified_yaml(manifest, module_text, description, image_png, identity)
    text = dump_yaml(unified)
    result = Package(yml=out / OUTPUT_NAME, identity=identity)
    try:
        out.mkdir(parents=True, exist_ok=True)
        result.yml.write_text(text, encoding="utf-8")
        result.files.append(result.yml)
        if pack:
            readme = manifest_path.parent / "README.md"
            result.zip = out / f"{PACK_ID}.zip"
            write_pack(result.zip, text, identity, integration_readme=readme.read_text(encoding="utf-8")
                       if readme.is_file() else None, version=PACK_VERSION)
            result.files.append(result.zip)
    except OSError as exc:
        raise PackageError(f"cannot write the package into {out} ({exc.strerror or exc}); pass --out DIRECTORY, "
                           f"a folder that can be created or written.") from None
    return result


def write_pack(path: Path, unified_text: str, identity: Identity, *, integration_readme: str | None,
               version: str) -> None:
    """A content-pack zip: pack_metadata.json, README.md, Integrations/<dir>/<dir>.yml (+ its README)."""
    metadata = pack_metadata(identity, version)
    entries = {
        "pack_metadata.json": json.dumps(metadata, indent=2, sort_keys=False) + "\n",
        "README.md": pack_readme(identity),
        f"Integrations/{INTEGRATION_DIR}/{INTEGRATION_DIR}.yml": unified_text,
    }
    if integration_readme is not None:
        entries[f"Integrations/{INTEGRATION_DIR}/README.md"] = integration_readme
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)


def write_content_tree(root: Path, module: Path, manifest_path: Path, identity: Identity = SIDE_BY_SIDE,
                       version: str | None = None) -> Path:
    """The package as a content repository (Packs/<pack>/Integrations/<dir>/, split files), the layout
    demisto-sdk's `validate` and `prepare-content` work on. Returns the integration's folder.

    `Config/` holds the (empty or standard) lists demisto-sdk reads from a content repository, so it needs
    no remote copy; `.pack-ignore` lists the rules this project breaks on purpose (README: Validation).
    """
    version = version or PACK_VERSION
    pack = root / "Packs" / PACK_ID
    folder = pack / "Integrations" / INTEGRATION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    manifest = packaged_manifest(_load_manifest(manifest_path), identity)
    manifest["script"] = {**manifest["script"], "script": "-"}
    (folder / f"{INTEGRATION_DIR}.yml").write_text(dump_yaml(manifest), encoding="utf-8")
    (folder / f"{INTEGRATION_DIR}.py").write_text(_read(module, "integration module"), encoding="utf-8")
    stem = manifest_path.with_suffix("")
    for suffix in ("_description.md", "_image.png"):
        (folder / f"{INTEGRATION_DIR}{suffix}").write_bytes(Path(f"{stem}{suffix}").read_bytes())
    for name in ("README.md", "command_examples"):
        if (manifest_path.parent / name).is_file():
            (folder / name).write_bytes((manifest_path.parent / name).read_bytes())
    (pack / "pack_metadata.json").write_text(json.dumps(pack_metadata(identity, version), indent=2) + "\n",
                                             encoding="utf-8")
    (pack / "README.md").write_text(pack_readme(identity), encoding="utf-8")
    (pack / ".secrets-ignore").write_text("", encoding="utf-8")
    (pack / ".pack-ignore").write_text(f"[file:{INTEGRATION_DIR}.yml]\nignore={','.join(IGNORED_RULES)}\n",
                                       encoding="utf-8")
    _write_sdk_config(root / "Config")
    return folder


def _write_sdk_config(config: Path) -> None:
    """The lists demisto-sdk reads from a content repository's Config/ (otherwise it fetches them)."""
    lists: dict[str, Any] = {
        "approved_categories.json": {"approved_list": list(APPROVED_CATEGORIES)},
        "approved_usecases.json": {"approved_list": []},
        "approved_tags.json": {"approved_list": {"common": [], "xsoar": [], "marketplacev2": [], "xpanse": []}},
        "compliant_policies.json": {"policies": []},
    }
    for name in ("core_packs_list", "core_packs_mpv2_list", "core_packs_xpanse_list", "core_packs_platform_list"):
        lists[f"{name}.json"] = {"core_packs_list": [], "update_core_packs_list": []}
    config.mkdir(parents=True, exist_ok=True)
    for name, content in lists.items():
        (config / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def pack_metadata(identity: Identity, version: str) -> dict[str, Any]:
    side_by_side = identity == SIDE_BY_SIDE
    return {
        "name": identity.display,
        "description": "Microsoft Sentinel incidents fetched exactly once, and incident management from playbooks.",
        "support": PACK_SUPPORT,
        "currentVersion": version,
        "author": "Microsoft Sentinel connector project",
        "url": "",
        "email": "",
        "categories": ["Analytics & SIEM"],
        "tags": [],
        "useCases": [],
        "keywords": ["Sentinel", "Azure", "Microsoft"],
        "marketplaces": ["xsoar", "xsoar_saas"],
        # beside the official pack its classifier, mappers, incident type, fields and layout are reused by name;
        # replacing it, a dependency would reinstall the official integration under the same ID
        "dependencies": {OFFICIAL_PACK_ID: {"mandatory": True, "display_name": "Microsoft Sentinel"}}
        if side_by_side else {},
    }


def pack_readme(identity: Identity) -> str:
    if identity == SIDE_BY_SIDE:
        how = ("It installs beside the official Microsoft Sentinel pack, which it depends on: its incidents use that "
               "pack's classifier, incoming and outgoing mappers, incident type, fields and layout.")
    else:
        how = ("It uses the official integration ID \"Azure Sentinel\", so it replaces the official integration: "
               "remove the official pack first.")
    return (f"# {identity.display}\n\n"
            "A Microsoft Sentinel integration that fetches every incident exactly once (escalations included) and "
            "manages incidents, comments, relations, entities and alerts from playbooks, with the official "
            f"integration's command, argument and context names.\n\n{how}\n\n"
            "See Integrations/AzureSentinel/README.md for the setup and every command.\n")


def dump_yaml(data: Mapping[str, Any]) -> str:
    """YAML with multi-line strings (the script, the description) as literal blocks."""
    return yaml.dump(dict(data), Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=120)


class _LiteralDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_LiteralDumper.add_representer(str, _represent_str)

# endregion


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackageError(f"cannot package: the {what} {path} does not exist.") from None


def _read_png(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PackageError(f"cannot package: the logo {path} does not exist (run tools/make_logo.py).") from None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise PackageError(f"cannot package: the logo {path} is not a PNG file.")
    return data


def _load_manifest(path: Path) -> dict[str, Any]:
    from xsoar_local.manifest import load_manifest

    return dict(load_manifest(path).raw)

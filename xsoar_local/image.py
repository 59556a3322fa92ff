"""The runtime image the integration runs in on the platform, as recorded data.

`data/auth-utils-packages.txt` lists the image's Python packages (from the public dockerfiles-info record of
demisto/auth-utils:1.0.0.13548907) with the module names each installs; `data/python312-stdlib.txt` lists the
standard library of the image's Python (3.12). Together they say which imports a script may use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
PACKAGES_PATH = DATA_DIR / "auth-utils-packages.txt"
STDLIB_PATH = DATA_DIR / "python312-stdlib.txt"

_IMAGE_IN_HEADER = re.compile(r"\b(demisto/[a-z0-9._-]+:[0-9.]+)")


@dataclass(frozen=True)
class RuntimeImage:
    """The image's name, Python version, packages (distribution -> version) and importable top-level names."""

    name: str
    python: str
    packages: dict[str, str]
    modules: frozenset[str]
    stdlib: frozenset[str]

    def version(self, distribution: str) -> str | None:
        wanted = _normalise(distribution)
        return next((v for d, v in self.packages.items() if _normalise(d) == wanted), None)

    def provides(self, module: str) -> bool:
        """Whether `import module` (a top-level name) works in the image."""
        return module in self.stdlib or module in self.modules


@lru_cache(maxsize=1)
def runtime_image() -> RuntimeImage:
    text = PACKAGES_PATH.read_text(encoding="utf-8")
    header = _IMAGE_IN_HEADER.search(text)
    if header is None:
        raise ValueError(f"{PACKAGES_PATH} does not name its image in the header")
    packages: dict[str, str] = {}
    modules: set[str] = set()
    python = ""
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        requirement, _, names = raw.partition("\t")
        distribution, _, version = requirement.partition("==")
        if distribution == "python":
            python = version
            continue
        packages[distribution] = version
        modules.update(names.split())
    stdlib = frozenset(line.strip() for line in STDLIB_PATH.read_text(encoding="utf-8").splitlines()
                       if line.strip() and not line.startswith("#"))
    return RuntimeImage(header.group(1), python, packages, frozenset(modules), stdlib)


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()

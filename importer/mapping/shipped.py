"""The mappings shipped inside the package, by name: listed, described and read.

They live in the repository's top-level ``mappings/`` folder, which installs as the package
``importer.mappings``, so an installed importer has them wherever it runs. A name is the file's
stem (``greenhouse`` for ``greenhouse.yaml``); the description is its first comment line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from importer.errors import ConfigError

PACKAGE = "importer.mappings"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""What a mapping's name may look like: a file stem, never a path."""
# The first line of a shipped mapping: "# mappings/NAME.yaml: WHAT IT READS → POST /unified/..."
_HEADLINE = re.compile(r"#\s*(?:\S+\.ya?ml:\s*)?(?P<text>.*?)\s*(?:→.*)?")


@dataclass(frozen=True, slots=True)
class NamedMapping:
    """A mapping file known by name: where it is, what it reads."""

    name: str
    resource: Traversable
    description: str

    @property
    def label(self) -> str:
        """How messages and reports name it."""
        return f"mappings/{self.resource.name}"

    def text(self) -> str:
        return self.resource.read_text(encoding="utf-8-sig")


def mappings_in(folder: Traversable) -> dict[str, NamedMapping]:
    """Name → mapping for every ``*.yaml`` in ``folder``, ``default`` first, then by name."""
    found = {}
    for resource in folder.iterdir():
        stem, _, suffix = resource.name.rpartition(".")
        if suffix == "yaml" and NAME.fullmatch(stem) and resource.is_file():
            found[stem] = NamedMapping(stem, resource, _description(resource))
    return dict(sorted(found.items(), key=lambda item: (item[0] != "default", item[0])))


def shipped_mappings() -> dict[str, NamedMapping]:
    """The mappings installed with the package."""
    try:
        folder = resources.files(PACKAGE)
    except ModuleNotFoundError:
        # An editable install made before the mappings became a package does not map them.
        raise ConfigError(
            f"the shipped mappings ({PACKAGE}) are not installed: reinstall importer "
            "(pip install -e . in a checkout)"
        ) from None
    return mappings_in(folder)


def unknown_mapping(name: str, known: dict[str, NamedMapping]) -> ConfigError:
    """The error for a name that is neither a file nor a shipped mapping: it lists the names."""
    names = ", ".join(known) or "(none)"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ConfigError(
        f"{name}: no such mapping file, and no shipped mapping has that name{hint}; the "
        f"shipped mappings are: {names} (importer mappings describes them)"
    )


def _description(resource: Traversable) -> str:
    with resource.open("r", encoding="utf-8-sig") as lines:
        first = lines.readline().strip()
    match = _HEADLINE.fullmatch(first)
    return match["text"] if match and first.startswith("#") else ""

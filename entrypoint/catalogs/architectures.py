"""Which model architectures a vLLM release can load: the tables in catalogs/data/, one per
release, generated from vLLM's own registry (entrypoint/devtools/architecture_table.py) at build
time. Read at plan time without importing vLLM.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"

NATIVE = "native"
BACKEND = "transformers backend"  # vLLM maps it to its Transformers backend by itself
FALLBACK = "transformers fallback"  # loads only through --model-impl transformers
PREVIOUS = "previously supported"
PLUGIN = "plugin"
UNKNOWN = "unknown"


def table_path(directory: Path, version: str) -> Path:
    return directory / f"vllm-architectures-{version}.json"


@dataclass(frozen=True)
class Status:
    kind: str
    detail: str = ""  # the last release (PREVIOUS) or the plugin (PLUGIN)


@dataclass(frozen=True)
class ArchTable:
    version: str
    made_by: str
    transformers: str
    native: frozenset[str]
    transformers_backend: frozenset[str]
    transformers_fallback: frozenset[str]
    previously_supported: dict[str, str]
    plugins: dict[str, str]

    def status(self, architecture: str) -> Status:
        if architecture in self.native:
            return Status(NATIVE)
        if architecture in self.transformers_backend:
            return Status(BACKEND)
        # vLLM tries its Transformers backend before it reports a dropped architecture.
        if architecture in self.transformers_fallback:
            return Status(FALLBACK)
        if architecture in self.previously_supported:
            return Status(PREVIOUS, self.previously_supported[architecture])
        if architecture in self.plugins:
            return Status(PLUGIN, self.plugins[architecture])
        return Status(UNKNOWN)

    def loads(self, architecture: str) -> bool:
        return self.status(architecture).kind in (NATIVE, BACKEND, FALLBACK)


@functools.cache
def for_version(version: str) -> ArchTable | None:
    """The shipped table of that vLLM release, or None when the package has none."""
    try:
        data = json.loads(table_path(DATA_DIR, version).read_text())
    except (OSError, ValueError):
        return None
    return ArchTable(
        version=data["version"], made_by=data["made_by"], transformers=data["transformers"],
        native=frozenset(data["native"]),
        transformers_backend=frozenset(data["transformers_backend"]),
        transformers_fallback=frozenset(data["transformers_fallback"]),
        previously_supported=dict(data["previously_supported"]), plugins=dict(data["plugins"]))


def shipped_versions() -> list[str]:
    prefix = "vllm-architectures-"
    return sorted(p.stem[len(prefix):] for p in DATA_DIR.glob(f"{prefix}*.json"))

"""The model families catalog as data: `templates/catalog.json` loaded into `Family` rows, in
the order they are tried, and plain lookups by name and by config.json architecture.

What each field means: templates/README.md. Which family a model is, and why:
rules/family_match.py; the flags a family brings: rules/chat.py.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
CATALOG_PATH = TEMPLATES_DIR / "catalog.json"


@dataclass(frozen=True)
class Family:
    family: str
    conv_templates: tuple[str, ...]
    model_id: dict[str, tuple[str, ...]] = field(default_factory=dict)
    template: str | None = None
    replace_model_template: bool = False
    tool_call_parser: str | None = None
    auto_tool_choice: bool = False
    reasoning_parser: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    stop_token_ids: tuple[int, ...] = ()
    identify: tuple[dict[str, Any], ...] = ()  # alternatives; each a set of facts

    @property
    def name(self) -> str:
        return self.conv_templates[0]

    @property
    def template_path(self) -> Path | None:
        return TEMPLATES_DIR / self.template if self.template else None


def _family(entry: dict[str, Any]) -> Family:
    rule = {key: tuple(terms) for key, terms in entry.get("model_id", {}).items()}
    return Family(
        family=entry["family"], conv_templates=tuple(entry["conv_templates"]), model_id=rule,
        template=entry.get("template"),
        replace_model_template=entry.get("replace_model_template", False),
        tool_call_parser=entry.get("tool_call_parser"),
        auto_tool_choice=entry.get("auto_tool_choice", False),
        reasoning_parser=entry.get("reasoning_parser"), args=dict(entry.get("args", {})),
        stop_token_ids=tuple(entry.get("stop_token_ids", ())),
        identify=_alternatives(entry.get("identify")),
    )


def _alternatives(identify: Any) -> tuple[dict[str, Any], ...]:
    if isinstance(identify, dict):
        return (identify,) if identify else ()
    return tuple(facts for facts in identify or () if isinstance(facts, dict) and facts)


@functools.cache
def catalog() -> tuple[Family, ...]:
    entries = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))["families"]
    return tuple(_family(entry) for entry in entries)


def known_names() -> list[str]:
    return [name for family in catalog() for name in family.conv_templates]


def by_name(name: str) -> Family | None:
    wanted = name.strip().lower()
    return next((f for f in catalog() if wanted in (n.lower() for n in f.conv_templates)), None)


def by_architecture(architecture: str) -> Family | None:
    """The first family whose identifying facts name this config.json architecture."""
    return next((f for f in catalog() if architecture in architectures_of(f)), None)


def architectures_of(family: Family) -> tuple[str, ...]:
    """Every config.json architecture the family's `identify` alternatives name."""
    found = (name for facts in family.identify for name in facts.get("architectures", ()))
    return tuple(dict.fromkeys(found))

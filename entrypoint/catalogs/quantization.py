"""QUANTIZATION names and what each needs, from the one catalog (data/quantization.json).

A name of the replaced platform image (`ifq`) runs as a current method (`runs_as`) and has every
need of that method (GPU generations, weight bytes, checkpoint family, where it runs weight-only),
so the two cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path

CATALOG = Path(__file__).parent / "data" / "quantization.json"
GROUPS = ("legacy", "vllm", "plugin")  # the order names are listed in messages
# A replaced image's name keeps only these of its own; all else comes from the method it runs as.
OWN = ("group", "runs_as", "was", "note", "guide")


def parse_cap(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@dataclass(frozen=True)
class Method:
    name: str
    group: str  # one of GROUPS
    online: bool | None = None
    min_capability: tuple[int, int] | None = None  # None: not gated
    full_speed_capability: tuple[int, int] | None = None
    bytes_per_param: float | None = None
    family: tuple[str, ...] = ()
    dtype: str | None = None
    runs_as: str | None = None  # legacy names: the method emitted instead
    was: str | None = None
    note: str | None = None
    guide: str | None = None  # its line in docs/guide.md's table


@dataclass(frozen=True)
class Rename:
    to: str
    since: str  # the first vLLM release known to have `to`
    why: str


def _fields(row: dict) -> dict:
    caps = {key: parse_cap(row[key]) for key in ("min_capability", "full_speed_capability")
            if key in row}
    return {**row, **caps, **({"family": tuple(row["family"])} if "family" in row else {})}


def _method(name: str, row: dict, rows: dict) -> Method:
    """A row as a Method; a replaced image's name (`runs_as`) is the method it runs as, renamed,
    with its own OWN fields and any need it states itself (ifq_nf4's float16)."""
    if "runs_as" in row:
        target = _method(row["runs_as"], rows[row["runs_as"]], rows)
        return replace(target, **{"name": name, "guide": None, **_fields(row)})
    return Method(name=name, **{"family": (name,), **_fields(row)})


@cache
def methods() -> dict[str, Method]:
    rows = json.loads(CATALOG.read_text())["methods"]
    return {name: _method(name, row, rows) for name, row in rows.items()}


def names(group: str) -> list[str]:
    return [m.name for m in methods().values() if m.group == group]


@cache
def needs() -> dict[str, Method]:
    """The methods whose GPU needs are known: the ones the capability gate checks."""
    return {name: m for name, m in methods().items() if m.min_capability is not None}


@cache
def renames() -> dict[str, Rename]:
    rows = json.loads(CATALOG.read_text())["renames"]
    return {name: Rename(**row) for name, row in rows.items() if not name.startswith("_")}


INHERITED = tuple(f.name for f in fields(Method) if f.name not in ("name", *OWN))

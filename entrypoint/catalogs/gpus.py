"""`--assume-gpus SPEC`: plan for GPUs this machine does not have, from the catalog in data/."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from entrypoint.errors import UserError
from entrypoint.facts.hardware import Gpu, Inventory

CATALOG = Path(__file__).parent / "data" / "gpus.json"
SPEC = re.compile(r"(?:(\d+)\s*[x*]\s*)?(.+)", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower()).removeprefix("nvidia").removeprefix("tesla")


@cache
def catalog() -> dict[str, Gpu]:
    """Lookup key -> GPU; both canonical names and aliases are keys."""
    rows = json.loads(CATALOG.read_text())["gpus"]
    found = {}
    for row in rows:
        major, minor = (int(p) for p in row["capability"].split("."))
        gpu = Gpu(name=row["name"], capability=(major, minor),
                  memory_bytes=row["memory_mib"] * 2**20)
        for name in [row["name"], *row["aliases"]]:
            found[_key(name)] = gpu
    return found


def known_names() -> list[str]:
    return [row["name"] for row in json.loads(CATALOG.read_text())["gpus"]]


def assumed(spec: str, label: str = "--assume-gpus") -> Inventory:
    """`8xH100-80GB`, `2xA10`, `H100` (one), `none`/`0` (CPU); several kinds joined by `+`."""
    if spec.strip().lower() in ("none", "0", "cpu"):
        return Inventory(gpus=(), source="assumed", note=f"{label}={spec}")
    gpus: list[Gpu] = []
    for part in spec.split("+"):
        match = SPEC.fullmatch(part.strip())
        gpu = catalog().get(_key(match.group(2))) if match else None
        count = int(match.group(1) or 1) if match else 0
        if gpu is None or count < 1:
            raise UserError(f"{label}={spec!r} names no known GPU; write COUNTxNAME such as "
                            f"8xH100-80GB with NAME one of: {', '.join(known_names())}.")
        gpus += [gpu] * count
    return Inventory(gpus=tuple(gpus), source="assumed", note=f"{label}={spec}")


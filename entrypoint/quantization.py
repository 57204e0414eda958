"""QUANTIZATION names: which exist, checked before launch (pure rules over the catalog)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from .derive import Context
from .errors import UserError

CATALOG = Path(__file__).parent / "data" / "quantization.json"


@cache
def known_methods() -> dict[str, list[str]]:
    data = json.loads(CATALOG.read_text())
    return {group: data[group] for group in ("vllm", "plugin", "legacy")}


def check_known(ctx: Context) -> None:
    method = ctx.value("quantization")
    if method is None:
        return
    groups = known_methods()
    if not any(method in names for names in groups.values()):
        decision = ctx.decided["quantization"]
        label = decision.reason.removeprefix("set by ")
        valid = ", ".join(groups["legacy"] + groups["vllm"] + groups["plugin"])
        raise UserError(f"{label}={method!r} is not a known quantization method; use one of: "
                        f"{valid}.")

"""The table of legacy flags (data/legacy_flags.json) and the docs page generated from it.

`python -m entrypoint.catalogs.legacy_flag_table --write` refreshes docs/legacy-flags.md; a test
fails when the page is stale.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

TABLE = Path(__file__).parent / "data" / "legacy_flags.json"
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "legacy-flags.md"


def dashed(option: str) -> str:
    return "--" + option[2:].replace("_", "-") if option.startswith("--") else option


@cache
def rows() -> dict[str, dict]:
    return {row["flag"]: row for row in json.loads(TABLE.read_text())["flags"]}


def row_for(option: str) -> dict | None:
    return rows().get(dashed(option))


def takes(option: str) -> str:
    """How many values follow a flag the installed vLLM lacks: the legacy table knows."""
    row = row_for(option)
    return row["takes"] if row else "optional"


def _what_happens(row: dict) -> str:
    how, action = row.get("how"), row["action"]
    if action == "drop":
        return "dropped, with a warning"
    if action == "keep":
        return "kept (vLLM still accepts it)"
    if action == "error":
        return f"refused: {row['hint']}"
    if how == "flag":
        return "`" + " ".join(row["to"]) + "`"
    if how == "knob":
        return f"run's `{row['to']}` setting"
    if how == "json":
        return f"`{row['to']} '{{\"{row['key']}\": ...}}'`"
    if how == "rope":
        return "`--hf-overrides '{\"rope_parameters\": {...}}'`"
    if how == "key_value_json":
        return "`image=2,video=1` becomes `{\"image\": 2, \"video\": 1}`"
    if how == "comma_list":
        return "`a,b` becomes `a b`"
    if how == "value_map":
        return ", ".join(f"`{old}` becomes `{new}`" for old, new in row["map"].items())
    return "handled by run's own flag parsing"


def render_markdown() -> str:
    lines = [
        "# Legacy flags",
        "",
        "Generated from `entrypoint/catalogs/data/legacy_flags.json` by "
        "`python -m entrypoint.catalogs.legacy_flag_table --write`; do not edit by hand.",
        "",
        "Launch commands written for vLLM 0.4-0.6 or for the platform image this product "
        "replaces keep working: each old flag is dropped with a warning, rewritten into what "
        "the installed vLLM accepts (with a warning saying what changed), or refused with one "
        "sentence naming the replacement. A flag the installed vLLM still accepts passes "
        "through unchanged unless its row says its value form changed.",
        "",
        "| old flag | values | action | becomes | why |",
        "|---|---|---|---|---|",
    ]
    for row in rows().values():
        lines.append(f"| `{row['flag']}` | {row['takes']} | {row['action']} | "
                     f"{_what_happens(row)} | {row['reason']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    fresh = render_markdown()
    if "--write" in sys.argv:
        DOCS_PAGE.write_text(fresh)
    elif not DOCS_PAGE.exists() or DOCS_PAGE.read_text() != fresh:
        sys.exit("docs/legacy-flags.md is stale: run "
                 "`python -m entrypoint.catalogs.legacy_flag_table --write`.")

#!/usr/bin/env python3
"""The drift between two vLLM option tables (entrypoint/catalogs/data/vllm-options-VERSION.json,
read from each vLLM's own `vllm serve` parser): flags removed, flags added, flags whose value form
changed, and for each removed flag the closest added one (a likely rename) and whether the
legacy table (legacy_flags.json) already has a row for it. Prints Markdown.

    scripts/options_drift.py OLD.json NEW.json
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "entrypoint" / "catalogs" / "data"


def long_flags(kinds: dict[str, str]) -> dict[str, str]:
    return {flag: kind for flag, kind in kinds.items() if flag.startswith("--")}


def legacy_rows() -> set[str]:
    return {row["flag"] for row in json.loads((DATA / "legacy_flags.json").read_text())["flags"]}


def drift(old: dict, new: dict) -> str:
    before, after = long_flags(old["kinds"]), long_flags(new["kinds"])
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    changed = sorted(f for f in set(before) & set(after) if before[f] != after[f])
    legacy = legacy_rows()
    lines = [f"## vLLM {old['version']} -> {new['version']}: `vllm serve` flags", "",
             f"{len(before)} -> {len(after)} option strings: {len(removed)} removed, "
             f"{len(added)} added, {len(changed)} changed form.", ""]
    lines += ["### Removed (a start with one of these fails on the new vLLM)", ""]
    if not removed:
        lines.append("none")
    for flag in removed:
        near = difflib.get_close_matches(flag, added, n=1, cutoff=0.75)
        hint = f"; likely renamed to `{near[0]}`" if near else ""
        row = "legacy table has a row" if flag in legacy else "**no legacy row yet**"
        lines.append(f"- `{flag}` ({before[flag]}){hint}; {row}")
    lines += ["", "### Added", ""]
    lines += [f"- `{flag}` ({after[flag]})" for flag in added] or ["none"]
    lines += ["", "### Value form changed", ""]
    lines += [f"- `{flag}`: {before[flag]} -> {after[flag]}" for flag in changed] or ["none"]
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit("usage: scripts/options_drift.py OLD.json NEW.json")
    old, new = (json.loads(Path(arg).read_text()) for arg in sys.argv[1:])
    sys.stdout.write(drift(old, new))
    return 0


if __name__ == "__main__":
    sys.exit(main())

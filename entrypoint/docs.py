"""Generated documentation: the settings table in README.md comes from the knob declarations.

`python -m entrypoint.docs --write` refreshes it; the tests fail when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .settings import KNOBS

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def settings_table() -> str:
    rows = ["| env | flag | default | what it does |", "|---|---|---|---|"]
    for knob in KNOBS.values():
        flags = ", ".join(f"`{f}`" for f in knob.flags) or "(none)"
        env = f"`{knob.env}`" if knob.env else "(none)"
        default = "derived" if knob.name in DERIVED else f"`{knob.default}`"
        default = "unset" if knob.default is None else default
        rows.append(f"| {env} | {flags} | {default} | {knob.help} |")
    return "\n".join(rows)


# Knobs whose unset value is decided from the model and hardware (see derive.RULES).
DERIVED = {"max_model_len", "dtype", "tensor_parallel_size", "enable_prefix_caching"}


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render_readme(text: str) -> str:
    return replace_between(text, BEGIN, END, settings_table())


if __name__ == "__main__":
    current = README.read_text()
    fresh = render_readme(current)
    if "--write" in sys.argv:
        README.write_text(fresh)
    elif fresh != current:
        sys.exit("README.md settings table is stale: run `make docs`.")

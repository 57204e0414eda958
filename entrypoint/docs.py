"""Generated documentation: the settings table in README.md comes from the knob declarations,
docs/troubleshooting.md from the UserError messages in the code (entrypoint/error_catalog.py).

`python -m entrypoint.docs --write` refreshes both; the tests fail when either is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .error_catalog import TROUBLESHOOTING, troubleshooting_page
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


def stale_pages() -> dict[Path, str]:
    """Generated pages whose text differs from what the code says now: path -> fresh text."""
    readme = README.read_text()
    fresh = {README: render_readme(readme), TROUBLESHOOTING: troubleshooting_page()}
    current = {README: readme,
               TROUBLESHOOTING: TROUBLESHOOTING.read_text() if TROUBLESHOOTING.exists() else ""}
    return {path: text for path, text in fresh.items() if text != current[path]}


if __name__ == "__main__":
    stale = stale_pages()
    if "--write" in sys.argv:
        for path, text in stale.items():
            path.write_text(text)
    elif stale:
        sys.exit(f"{', '.join(p.name for p in stale)} stale: run `make docs`.")

"""Generated documentation: the settings table in README.md comes from the knob declarations,
docs/troubleshooting.md from the UserError messages in the code
(entrypoint/devtools/error_catalog.py), and the model families table in docs/models.md from
templates/catalog.json.

`python -m entrypoint.devtools.docs --write` refreshes them; the tests fail when one is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from entrypoint.devtools.error_catalog import TROUBLESHOOTING, troubleshooting_page
from entrypoint.settings.knobs import KNOBS

README = Path(__file__).resolve().parents[2] / "README.md"
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


MODELS_DOC = README.parent / "docs" / "models.md"
FAMILIES_BEGIN, FAMILIES_END = "<!-- families:begin -->", "<!-- families:end -->"


def _model_id_rule(rule: dict) -> str:
    parts = [" and ".join(rule.get("all", ()))]
    if rule.get("any"):
        parts.append("(" + " or ".join(rule["any"]) + ")")
    if rule.get("none"):
        parts.append("not " + " or ".join(rule["none"]))
    return "contains " + " and ".join(p for p in parts if p) if rule else "-"


def loads_on_image(architectures: tuple[str, ...]) -> str:
    """The family's identifying architectures against the image's vLLM table (and the older
    engine's), as the architecture gate will judge them."""
    from entrypoint.catalogs import architectures as arch
    from entrypoint.rules.architecture import OLDER_ENGINE_VLLM
    from entrypoint.settings.vllm_options import REFERENCE_VERSION

    if not architectures:
        return "checked from config.json"
    image, older = arch.for_version(REFERENCE_VERSION), arch.for_version(OLDER_ENGINE_VLLM)
    verdicts = []
    for name in architectures:
        status = image.status(name)
        if status.kind == arch.NATIVE:
            text = "yes"
        elif status.kind in (arch.BACKEND, arch.FALLBACK):
            text = "yes, Transformers backend (slower)"
        elif status.kind == arch.PREVIOUS:
            text = f"no: dropped after {status.detail}"
        else:
            text = "no: not in vLLM's registry"
        if status.kind not in (arch.NATIVE, arch.BACKEND, arch.FALLBACK):
            text += ("; older-engine variant: yes" if older.loads(name)
                     else "; older-engine variant: no")
        verdicts.append((name, text))
    if len({text for _, text in verdicts}) == 1:
        return verdicts[0][1]
    return "; ".join(f"`{name}`: {text}" for name, text in verdicts)


def families_table() -> str:
    from entrypoint.catalogs.families import architectures_of, catalog
    from entrypoint.settings.vllm_options import REFERENCE_VERSION

    rows = ["| # | family | CONV_TEMPLATE | MODEL_ID rule (any case) | chat template | "
            "tool parser | reasoning parser | extra args | extra stop token ids | "
            f"loads on this image (vLLM {REFERENCE_VERSION}) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for number, family in enumerate(catalog(), 1):
        template = f"`{family.template}`" if family.template else "the model's own"
        if family.template:
            template += (" (replaces the model's)" if family.replace_model_template
                         else " (if the model has none)")
        tool = f"`{family.tool_call_parser}`" if family.tool_call_parser else "-"
        if family.auto_tool_choice:
            tool += " + auto tool choice"
        reasoning = f"`{family.reasoning_parser}`" if family.reasoning_parser else "-"
        args = " ".join(f"`{k}`" if v is True else f"`{k} {v}`" for k, v in family.args.items())
        stops = ", ".join(map(str, family.stop_token_ids)) or "-"
        names = ", ".join(f"`{n}`" for n in family.conv_templates)
        rows.append(f"| {number} | {family.family} | {names} | {_model_id_rule(family.model_id)}"
                    f" | {template} | {tool} | {reasoning} | {args or '-'} | {stops} | "
                    f"{loads_on_image(architectures_of(family))} |")
    return "\n".join(rows)


def render_models_doc(text: str) -> str:
    return replace_between(text, FAMILIES_BEGIN, FAMILIES_END, families_table())


def stale_pages() -> dict[Path, str]:
    """Generated pages whose text differs from what the code says now: path -> fresh text."""
    readme = README.read_text()
    models = MODELS_DOC.read_text()
    fresh = {README: render_readme(readme), TROUBLESHOOTING: troubleshooting_page(),
             MODELS_DOC: render_models_doc(models)}
    current = {README: readme,
               TROUBLESHOOTING: TROUBLESHOOTING.read_text() if TROUBLESHOOTING.exists() else "",
               MODELS_DOC: models}
    return {path: text for path, text in fresh.items() if text != current[path]}


if __name__ == "__main__":
    stale = stale_pages()
    if "--write" in sys.argv:
        for path, text in stale.items():
            path.write_text(text)
    elif stale:
        sys.exit(f"{', '.join(p.name for p in stale)} stale: run `make docs`.")

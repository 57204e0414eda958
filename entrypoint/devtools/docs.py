"""Generated documentation: the settings table in README.md comes from the knob declarations,
docs/troubleshooting.md from the UserError messages in the code
(entrypoint/devtools/error_catalog.py), the model families table in docs/models.md from
templates/catalog.json, and the quantization tables in docs/guide.md and docs/sizing.md from
entrypoint/catalogs/data/quantization.json.

`python -m entrypoint.devtools.docs --write` refreshes them; the tests fail when one is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from entrypoint.devtools.error_catalog import TROUBLESHOOTING, troubleshooting_page
from entrypoint.rules.gates import cap_text
from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.provenance import precedence_text

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
PRECEDENCE_BEGIN, PRECEDENCE_END = "<!-- precedence:begin -->", "<!-- precedence:end -->"


def settings_table() -> str:
    rows = ["| env | flag | default | what it does |", "|---|---|---|---|"]
    for knob in KNOBS.values():
        flags = ", ".join(f"`{f}`" for f in knob.flags) or "(none)"
        env = ", ".join(f"`{name}`" for name in knob.env_names) or "(none)"
        default = "unset" if knob.default is None else f"`{knob.default}`"
        default = "derived" if knob.derived_by else default
        rows.append(f"| {env} | {flags} | {default} | {knob.help} |")
    return "\n".join(rows)


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render_readme(text: str) -> str:
    text = replace_between(text, PRECEDENCE_BEGIN, PRECEDENCE_END,
                           f"Precedence, highest first: {precedence_text()}.")
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


GUIDE_DOC = README.parent / "docs" / "guide.md"
SIZING_DOC = README.parent / "docs" / "sizing.md"
QUANT_BEGIN, QUANT_END = "<!-- quantization:begin -->", "<!-- quantization:end -->"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _capability(method) -> str:
    if method.min_capability is None:
        return "not checked"
    text = f"{cap_text(method.min_capability)}+"
    if method.full_speed_capability:
        text += f"; full speed on {cap_text(method.full_speed_capability)}+, weight-only below"
    return text


def quantization_guide_table() -> str:
    """The methods users pick (those with a `guide` line), for docs/guide.md."""
    from entrypoint.catalogs.quantization import methods

    rows = ["| `QUANTIZATION` | weight memory | GPUs (compute capability) | notes |",
            "|---|---|---|---|", "| unset | 2 bytes/parameter (bf16/fp16) | all | best quality |"]
    for method in (m for m in methods().values() if m.guide):
        notes = f"runs as `{method.runs_as}`: {method.guide}" if method.runs_as else method.guide
        notes += f"; computes in {method.dtype}" if method.dtype else ""
        rows.append(f"| `{method.name}` | ~{_number(method.bytes_per_param)} byte/parameter | "
                    f"{_capability(method)} | {notes} |")
    return "\n".join(rows)


def quantization_table() -> str:
    """Every name `run` accepts and what the gates check, for docs/sizing.md."""
    from entrypoint.catalogs.quantization import methods

    rows = ["| `QUANTIZATION` | kind | compute capability | weight bytes per parameter |",
            "|---|---|---|---|"]
    for method in methods().values():
        if method.runs_as:
            kind = f"the replaced image's name, runs as `{method.runs_as}`"
        else:
            kind = {True: "online", False: "checkpoint", None: "-"}[method.online]
        kind += " (from a vLLM plugin)" if method.group == "plugin" else ""
        kind += f", computes in {method.dtype}" if method.dtype else ""
        weight = _number(method.bytes_per_param) if method.bytes_per_param else "-"
        rows.append(f"| `{method.name}` | {kind} | {_capability(method)} | {weight} |")
    return "\n".join(rows)


def stale_pages() -> dict[Path, str]:
    """Generated pages whose text differs from what the code says now: path -> fresh text."""
    current = {path: path.read_text() if path.exists() else ""
               for path in (README, TROUBLESHOOTING, MODELS_DOC, GUIDE_DOC, SIZING_DOC)}
    fresh = {
        README: render_readme(current[README]), TROUBLESHOOTING: troubleshooting_page(),
        MODELS_DOC: render_models_doc(current[MODELS_DOC]),
        GUIDE_DOC: replace_between(current[GUIDE_DOC], QUANT_BEGIN, QUANT_END,
                                   quantization_guide_table()),
        SIZING_DOC: replace_between(current[SIZING_DOC], QUANT_BEGIN, QUANT_END,
                                    quantization_table()),
    }
    return {path: text for path, text in fresh.items() if text != current[path]}


if __name__ == "__main__":
    stale = stale_pages()
    if "--write" in sys.argv:
        for path, text in stale.items():
            path.write_text(text)
    elif stale:
        sys.exit(f"{', '.join(p.name for p in stale)} stale: run `make docs`.")

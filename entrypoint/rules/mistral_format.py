"""Mistral with tools: the chat template and tokenizer mode vLLM's docs pair with the `mistral`
tool parser (docs/features/tool_calling.md, "Mistral Models").

A folder in Mistral's own format (consolidated*.safetensors with tekken.json or
tokenizer.model.v*) makes vLLM's tokenizer_mode auto load mistral-common, which renders tools
itself: nothing to add. A folder in Hugging Face format only gets the docs' Transformers
pairing: `--tokenizer-mode hf` and a tool template (ours, templates/mistral-tools.jinja, written
from mistral-common's encoder), since the model's own template needs 9-character call ids and
raises on vLLM's longer ones.
"""

from __future__ import annotations

from entrypoint.catalogs.families import TEMPLATES_DIR
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, fact
from entrypoint.settings.provenance import Source

PARSER = "mistral"
TEMPLATE = TEMPLATES_DIR / "mistral-tools.jinja"
FACT = "mistral format"


def supplies_template(parser: str | None, model: ModelFacts) -> bool:
    """This rule passes the tool template (so the family rule need not warn of none)."""
    return parser == PARSER and not model.mistral_format


def planned_parser(ctx: Context) -> str | None:
    for flag, _ in ctx.extra_flags:
        if flag.option == "--tool-call-parser":
            return flag.values[0] if flag.values else None
    return ctx.argv.value("--tool-call-parser")


def pair_with_parser(ctx: Context) -> Outcome | None:
    parser = planned_parser(ctx)
    if parser != PARSER:
        return None
    if not supplies_template(parser, ctx.model):
        return fact(FACT, "Mistral's own files (consolidated*.safetensors, mistral-common "
                          "tokenizer): vLLM's tokenizer_mode auto renders tools with "
                          "mistral-common")
    why = ("the mistral tool parser on a Hugging Face-format folder, paired as vLLM's tool "
           "calling docs pair it")
    return (fact(FACT, "Hugging Face format only: --tokenizer-mode hf and the Mistral tool "
                       "template")
            + ctx.flag("--tokenizer-mode", ("hf",), source=Source.MODEL, reason=why)
            + ctx.flag("--chat-template", (str(TEMPLATE),), source=Source.MODEL,
                       reason=f"{why}; the model's own template raises on vLLM's call ids "
                              "(Mistral's are 9 characters)"))

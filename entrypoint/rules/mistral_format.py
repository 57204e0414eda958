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
from entrypoint.rules.context import Context, Decision
from entrypoint.settings.argv import PassFlag

PARSER = "mistral"
TEMPLATE = TEMPLATES_DIR / "mistral-tools.jinja"
FACT = "mistral format"


def planned_parser(ctx: Context) -> str | None:
    for flag, _ in ctx.extra_flags:
        if flag.option == "--tool-call-parser":
            return flag.values[0] if flag.values else None
    passed = [f.values for f in ctx.argv.passthrough if f.option == "--tool-call-parser"]
    return passed[-1][0] if passed and passed[-1] else None


def pair_with_parser(ctx: Context) -> None:
    if planned_parser(ctx) != PARSER:
        return
    if ctx.model.mistral_format:
        ctx.facts[FACT] = ("Mistral's own files (consolidated*.safetensors, mistral-common "
                           "tokenizer): vLLM's tokenizer_mode auto renders tools with "
                           "mistral-common")
        return
    ctx.facts[FACT] = "Hugging Face format only: --tokenizer-mode hf and the Mistral tool template"
    why = ("the mistral tool parser on a Hugging Face-format folder, paired as vLLM's tool "
           "calling docs pair it")
    if not ctx.argv.passes("--tokenizer-mode"):
        ctx.extra_flags.append((PassFlag("--tokenizer-mode", ("hf",)),
                                Decision("hf", "model", why)))
    if not ctx.argv.passes("--chat-template"):
        ctx.extra_flags.append((PassFlag("--chat-template", (str(TEMPLATE),)), Decision(
            str(TEMPLATE), "model", f"{why}; the model's own template raises on vLLM's "
            "call ids (Mistral's are 9 characters)")))
        # the family rule's "this model dir has no chat template" no longer holds
        ctx.warnings[:] = [w for w in ctx.warnings if "use their own chat template" not in w]

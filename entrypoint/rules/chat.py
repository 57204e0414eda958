"""The derive rule for chat: template, tool-call and reasoning parsers, extra stop tokens.

The family match (rules/family_match.py) becomes vLLM flags in the rule's outcome; each flag's
plan entry (`chat_template`, `tool_call_parser`, `reasoning_parser`, `enable_auto_tool_choice`,
`generation_config`) carries the match's reason. A flag the user passes is never replaced.
A family's extra stop tokens reach vLLM as a generation config file the plan writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from entrypoint.catalogs.families import Family, known_names
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.facts.model_tokens import eos_token_ids, model_chat_template
from entrypoint.rules import family_match, mistral_format
from entrypoint.rules.context import Context
from entrypoint.rules.family_match import Match
from entrypoint.rules.outcome import NOTHING, Outcome, decide, warn
from entrypoint.settings.given import validate
from entrypoint.settings.knobs import FLAG_NAMES
from entrypoint.settings.provenance import Source

AUTO_TOOL_CHOICE = ("--enable-auto-tool-choice", "--no-enable-auto-tool-choice",
                    "--disable-auto-tool-choice")


def _given(ctx: Context, name: str) -> tuple[str, Source, str] | None:
    entry = ctx.given.get(name)
    return (entry.value, entry.source, entry.label) if entry else None


def _add(ctx: Context, options: tuple[str, ...], option: str, values: tuple[str, ...],
         match: Match, why: str) -> Outcome:
    return ctx.flag(option, values, source=match.source, reason=why, unless=options)


def apply_family(ctx: Context) -> Outcome:
    match, warnings = family_match.find(_given(ctx, "conv_template"), _given(ctx, "model_id"),
                                        ctx.model)
    out = warn(*warnings) + _record_model_id(ctx)
    own_template = model_chat_template(ctx.model) is not None
    if match is None:
        out += decide("conv_template", None, Source.DEFAULT, _no_match_reason(ctx))
        if not own_template and not ctx.argv.passes("--chat-template"):
            out += warn(
                "The model ships no chat template and no catalog family matched it, so chat "
                "requests will fail; set CONV_TEMPLATE to one of: "
                f"{', '.join(known_names())}.")
        return out
    family = match.family
    reason = f"{family.family}: {match.reason}"
    if _keeps_own_template(match, own_template):
        reason += f"; the model's own chat template is kept over {family.template}"
    return (out + decide("conv_template", family.name, match.source, reason)
            + _chat_template(ctx, match, own_template) + _parsers(ctx, match)
            + _extra_args(ctx, match) + _stop_tokens(ctx, match))


def _no_match_reason(ctx: Context) -> str:
    model_id = ctx.given.get("model_id")
    named = f"MODEL_ID {model_id.value}" if model_id else "no MODEL_ID"
    shown = ", ".join(ctx.model.architectures) or ctx.model.model_type or "unknown architecture"
    return (f"no catalog family matched ({named}; ti_model_config.json; model dir: {shown}):"
            " vLLM's defaults apply")


def _record_model_id(ctx: Context) -> Outcome | None:
    if ctx.user_set("model_id"):
        return None
    ti_id = ctx.model.files.get("ti_model_config.json", {}).get("model_id")
    if isinstance(ti_id, str) and ti_id.strip():
        return decide("model_id", ti_id, Source.MODEL, "from ti_model_config.json")
    return None


def _keeps_own_template(match: Match, own_template: bool) -> bool:
    """A model's own template is the authority unless a name or the family's rule says ours."""
    family = match.family
    return bool(own_template and family.template
                and not (match.by_name or family.replace_model_template))


def _chat_template(ctx: Context, match: Match, own_template: bool) -> Outcome | None:
    family: Family = match.family
    if family.template is None:
        # (a Mistral folder in Hugging Face format gets its tool template from mistral_format)
        if not (own_template or ctx.argv.passes("--chat-template")
                or mistral_format.supplies_template(family.tool_call_parser, ctx.model)):
            return warn(f"{family.family} models use their own chat template, but this "
                        "model dir has none; chat requests will fail until one is added "
                        "or --chat-template is passed.")
        return None
    if _keeps_own_template(match, own_template):
        return None
    why = f"{family.family} template ({match.reason})"
    if own_template:
        why += "; replaces the model's own template"
    return _add(ctx, ("--chat-template",), "--chat-template", (str(family.template_path),),
                match, why)


def _parsers(ctx: Context, match: Match) -> Outcome:
    family = match.family
    out = NOTHING
    if family.tool_call_parser:
        out += _add(ctx, ("--tool-call-parser",), "--tool-call-parser",
                    (family.tool_call_parser,), match,
                    f"{family.family} tool calls ({match.reason})")
    if family.auto_tool_choice:
        out += _add(ctx, AUTO_TOOL_CHOICE, "--enable-auto-tool-choice", (), match,
                    f"{family.family} calls tools on its own ({match.reason})")
    if family.reasoning_parser:
        out += _add(ctx, ("--reasoning-parser",), "--reasoning-parser",
                    (family.reasoning_parser,), match,
                    f"{family.family} reasoning ({match.reason})")
    return out


def _extra_args(ctx: Context, match: Match) -> Outcome:
    """Catalog `args`: a knob run owns is decided (unless the user set it); others pass on."""
    out = NOTHING
    for option, value in match.family.args.items():
        shown = option if value is True else f"{option} {value}"
        why = f"{match.family.family} needs {shown} ({match.reason})"
        knob = FLAG_NAMES.get(option)
        if knob is not None:
            # Derived from the model's family, even when CONV_TEMPLATE named the family; checked
            # like any other value of the setting.
            if ctx.left_default(knob.name):
                label = f"templates/catalog.json {match.family.family} {option}"
                out += decide(knob.name, validate(knob, value, label), Source.MODEL, why)
            continue
        values = () if value is True else (str(value),)
        out += _add(ctx, (option,), option, values, match, why)
    return out


def _stop_tokens(ctx: Context, match: Match) -> Outcome | None:
    family = match.family
    if not family.stop_token_ids or ctx.argv.passes("--generation-config"):
        return None
    config = generation_config_with_stops(ctx.model, family.stop_token_ids)
    if config is None:
        return None
    folder, content = generation_config_folder(ctx.settings.run_dir, config)
    ids = ", ".join(map(str, family.stop_token_ids))
    return Outcome(files={f"{folder}/generation_config.json": content}) + _add(
        ctx, ("--generation-config",), "--generation-config", (folder,), match,
        f"{family.family} stops at token ids {ids} ({match.reason}): the model's "
        "generation config with them added to eos_token_id")


def generation_config_with_stops(model: ModelFacts, stops: tuple[int, ...]) -> dict | None:
    """The model's generation config with `stops` added to eos_token_id; None if all present."""
    present = eos_token_ids(model)
    missing = [i for i in stops if i not in present]
    if not missing:
        return None
    config = dict(model.files.get("generation_config.json", {}))
    config["eos_token_id"] = present + missing
    return config


def generation_config_folder(run_dir: str, config: dict) -> tuple[str, str]:
    """(folder, content): one folder per content, so concurrent starts never share a file."""
    content = json.dumps(config, indent=2, sort_keys=True) + "\n"
    import hashlib  # only for a family with extra stop tokens: kept off the usual start

    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    return str(Path(run_dir) / f"generation-config-{digest}"), content

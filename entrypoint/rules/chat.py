"""The derive rule for chat: template, tool-call and reasoning parsers, extra stop tokens.

The catalog match (see chat_catalog) becomes vLLM flags through `ctx.extra_flags`; each flag's
plan entry (`chat_template`, `tool_call_parser`, `reasoning_parser`, `enable_auto_tool_choice`,
`generation_config`) carries the match's reason. A flag the user passes is never replaced.
"""

from __future__ import annotations

from entrypoint.catalogs import families
from entrypoint.catalogs.families import Family, Match
from entrypoint.rules.context import Context, Decision
from entrypoint.settings.argv import PassFlag
from entrypoint.settings.given import validate
from entrypoint.settings.knobs import FLAG_NAMES
from entrypoint.settings.provenance import Source

AUTO_TOOL_CHOICE = ("--enable-auto-tool-choice", "--no-enable-auto-tool-choice",
                    "--disable-auto-tool-choice")


def _given(ctx: Context, name: str) -> tuple[str, str, str] | None:
    entry = ctx.given.get(name)
    return (entry.value, entry.source, entry.label) if entry else None


def _add(ctx: Context, options: tuple[str, ...], flag: PassFlag, match: Match, why: str) -> None:
    if not ctx.argv.passes(*options):
        value = " ".join(flag.values) or True
        ctx.extra_flags.append((flag, Decision(value, match.source, why)))


def apply_family(ctx: Context) -> None:
    match, warnings = families.find(_given(ctx, "conv_template"), _given(ctx, "model_id"),
                                        ctx.model)
    ctx.warnings += warnings
    _record_model_id(ctx)
    own_template = families.model_chat_template(ctx.model) is not None
    if match is None:
        ctx.decide("conv_template", None, "default", _no_match_reason(ctx))
        if not own_template and not ctx.argv.passes("--chat-template"):
            ctx.warnings.append(
                "The model ships no chat template and no catalog family matched it, so chat "
                "requests will fail; set CONV_TEMPLATE to one of: "
                f"{', '.join(families.known_names())}.")
        return
    family = match.family
    reason = f"{family.family}: {match.reason}"
    if _keeps_own_template(match, own_template):
        reason += f"; the model's own chat template is kept over {family.template}"
    ctx.decide("conv_template", family.name, match.source, reason)
    _chat_template(ctx, match, own_template)
    _parsers(ctx, match)
    _extra_args(ctx, match)
    _stop_tokens(ctx, match)


def _no_match_reason(ctx: Context) -> str:
    model_id = ctx.given.get("model_id")
    named = f"MODEL_ID {model_id.value}" if model_id else "no MODEL_ID"
    shown = ", ".join(ctx.model.architectures) or ctx.model.model_type or "unknown architecture"
    return (f"no catalog family matched ({named}; ti_model_config.json; model dir: {shown}):"
            " vLLM's defaults apply")


def _record_model_id(ctx: Context) -> None:
    if ctx.user_set("model_id"):
        return
    ti_id = ctx.model.files.get("ti_model_config.json", {}).get("model_id")
    if isinstance(ti_id, str) and ti_id.strip():
        ctx.decide("model_id", ti_id, "model", "from ti_model_config.json")


def _keeps_own_template(match: Match, own_template: bool) -> bool:
    """A model's own template is the authority unless a name or the family's rule says ours."""
    family = match.family
    return bool(own_template and family.template
                and not (match.by_name or family.replace_model_template))


def _chat_template(ctx: Context, match: Match, own_template: bool) -> None:
    family: Family = match.family
    if family.template is None:
        if not own_template and not ctx.argv.passes("--chat-template"):
            ctx.warnings.append(f"{family.family} models use their own chat template, but this "
                                "model dir has none; chat requests will fail until one is added "
                                "or --chat-template is passed.")
        return
    if _keeps_own_template(match, own_template):
        return
    why = f"{family.family} template ({match.reason})"
    if own_template:
        why += "; replaces the model's own template"
    _add(ctx, ("--chat-template",), PassFlag("--chat-template", (str(family.template_path),)),
         match, why)


def _parsers(ctx: Context, match: Match) -> None:
    family = match.family
    if family.tool_call_parser:
        _add(ctx, ("--tool-call-parser",),
             PassFlag("--tool-call-parser", (family.tool_call_parser,)), match,
             f"{family.family} tool calls ({match.reason})")
    if family.auto_tool_choice:
        _add(ctx, AUTO_TOOL_CHOICE, PassFlag("--enable-auto-tool-choice"), match,
             f"{family.family} calls tools on its own ({match.reason})")
    if family.reasoning_parser:
        _add(ctx, ("--reasoning-parser",),
             PassFlag("--reasoning-parser", (family.reasoning_parser,)), match,
             f"{family.family} reasoning ({match.reason})")


def _extra_args(ctx: Context, match: Match) -> None:
    """Catalog `args`: a knob run owns is decided (unless the user set it); others pass on."""
    for option, value in match.family.args.items():
        shown = option if value is True else f"{option} {value}"
        why = f"{match.family.family} needs {shown} ({match.reason})"
        knob = FLAG_NAMES.get(option)
        if knob is not None:
            # Derived from the model's family, even when CONV_TEMPLATE named the family; checked
            # like any other value of the setting.
            if ctx.decided[knob.name].source is Source.DEFAULT:
                label = f"templates/catalog.json {match.family.family} {option}"
                ctx.decide(knob.name, validate(knob, value, label), Source.MODEL, why)
            continue
        values = () if value is True else (str(value),)
        _add(ctx, (option,), PassFlag(option, values), match, why)


def _stop_tokens(ctx: Context, match: Match) -> None:
    family = match.family
    if not family.stop_token_ids or ctx.argv.passes("--generation-config"):
        return
    config = families.generation_config_with_stops(ctx.model, family.stop_token_ids)
    if config is None:
        return
    folder, content = families.generation_config_folder(ctx.value("run_dir"), config)
    ctx.files[f"{folder}/generation_config.json"] = content
    ids = ", ".join(map(str, family.stop_token_ids))
    _add(ctx, ("--generation-config",), PassFlag("--generation-config", (folder,)), match,
         f"{family.family} stops at token ids {ids} ({match.reason}): the model's "
         "generation config with them added to eos_token_id")

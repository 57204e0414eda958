"""Apply the legacy flag table to a parsed argv (pure): drop, rewrite or refuse each old flag.

Runs before unknown flags are refused, so a launch command pasted from an old blog post either
works (with a warning per change) or stops with one sentence naming the replacement.
"""

from __future__ import annotations

import json
import re

from entrypoint.catalogs.legacy_flag_table import row_for
from entrypoint.errors import UserError
from entrypoint.settings.argv import ParsedArgv, PassFlag
from entrypoint.settings.values import FALSE_WORDS
from entrypoint.settings.vllm_options import VllmOptions


def translate(parsed: ParsedArgv, options: VllmOptions) -> None:
    json_flags: dict[str, dict] = {}  # several old flags can fill one JSON-valued flag
    remaining = []
    for flag in parsed.unknown:
        row = row_for(flag.option)
        if row is None or row.get("how") == "argv":
            remaining.append(flag)
            continue
        _apply(row, flag, parsed, options, json_flags)
    parsed.unknown = remaining
    for index, flag in enumerate(parsed.passthrough):
        row = row_for(flag.option)
        if row and row.get("known_too"):
            parsed.passthrough[index] = _fix_known(row, flag, parsed)
    parsed.passthrough = [flag for flag in parsed.passthrough if flag is not None]
    for option, body in json_flags.items():
        _emit(parsed, options, option, (json.dumps(body, separators=(",", ":")),))


def _typed(flag: PassFlag) -> str:
    return " ".join(flag.tokens())


def _apply(row: dict, flag: PassFlag, parsed: ParsedArgv, options: VllmOptions,
           json_flags: dict[str, dict]) -> None:
    action, how, name = row["action"], row.get("how"), flag.option
    if action == "error":
        raise UserError(f"{name} was removed from vLLM ({row['reason']}); {row['hint']}.")
    if row["takes"] in ("one", "many") and not flag.values:
        raise UserError(f"{name} needs a value.")
    switched_off = row["takes"] in ("none", "bool") and flag.values \
        and flag.values[0].lower() in FALSE_WORDS
    if action == "drop" or switched_off:
        parsed.notes.append(f"{_typed(flag)} dropped: {row['reason']}.")
        return
    value = ",".join(flag.values)
    if how == "knob":
        parsed.given.setdefault(row["to"], value)
        parsed.given_as.setdefault(row["to"], name)
        shown = "<hidden>" if row["to"] == "api_keys" else value
        parsed.notes.append(f"{name} {shown} read as run's {row['to']} setting: {row['reason']}.")
    elif how == "flag":
        tokens = [t.replace("{value}", value) for t in row["to"][1:]]
        tokens = [v for t in tokens for v in (flag.values if t == "{values}" else (t,))]
        _emit(parsed, options, row["to"][0], tuple(tokens))
        parsed.notes.append(f"{_typed(flag)} rewritten as {' '.join(row['to'][:1] + tokens)}: "
                            f"{row['reason']}.")
    elif how == "json":
        body = json_flags.setdefault(row["to"], {})
        body[row["key"]] = _json_value(value) if row["takes"] != "bool" else value != "false"
        if row["key"] == "backend" and ":" in value:  # 0.6 style: xgrammar:disable-any-whitespace
            body["backend"], _, options = value.partition(":")
            body.update({o.replace("-", "_"): True for o in options.split(",") if o})
        parsed.notes.append(f"{_typed(flag)} rewritten into {row['to']} "
                            f"{row['key']}: {row['reason']}.")
    elif how == "rope":
        _rope(flag, row, json_flags)
        parsed.notes.append(f"{_typed(flag)} rewritten into --hf-overrides rope_parameters: "
                            f"{row['reason']}.")


def _json_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _rope(flag: PassFlag, row: dict, json_flags: dict[str, dict]) -> None:
    body = json_flags.setdefault(row["to"], {})
    params = body.setdefault("rope_parameters", {})
    value = flag.values[0]
    if flag.option.replace("_", "-") == "--rope-theta":
        params["rope_theta"] = float(_number(flag.option, value))
        return
    scaling = _json_value(value)
    if not isinstance(scaling, dict):
        raise UserError(f"{flag.option} {value!r} is not a JSON object; write it as "
                        "'{\"rope_type\": \"yarn\", \"factor\": 4.0}'.")
    if "type" in scaling and "rope_type" not in scaling:  # pre-2024 spelling
        scaling["rope_type"] = scaling.pop("type")
    params.update(scaling)


def _number(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a number; write e.g. 1000000.") from None


def _emit(parsed: ParsedArgv, options: VllmOptions, option: str, values: tuple[str, ...]) -> None:
    canonical = options.canonical(option)
    if canonical is None:
        raise UserError(f"vLLM {options.version} has no {option} to translate an old flag into; "
                        "remove the old flag.")
    if parsed.passes(canonical):
        raise UserError(f"{canonical} is given twice: once directly and once as the translation "
                        "of an old flag; keep only the direct one.")
    parsed.passthrough.append(PassFlag(canonical, values))


def _fix_known(row: dict, flag: PassFlag, parsed: ParsedArgv) -> PassFlag | None:
    """A flag the installed vLLM still has, but whose value form changed."""
    how = row.get("how")
    if row["action"] == "drop":
        parsed.notes.append(f"{_typed(flag)} dropped: {row['reason']}.")
        return None
    if how == "key_value_json" and flag.values and "=" in flag.values[0] \
            and not flag.values[0].lstrip().startswith("{"):
        body = _key_values(flag.option, flag.values[0])
        fixed = PassFlag(flag.option, (json.dumps(body, separators=(",", ":")),))
    elif how == "comma_list" and any("," in v for v in flag.values):
        fixed = PassFlag(flag.option, tuple(p for v in flag.values for p in v.split(",") if p))
    elif how == "value_map" and flag.values and flag.values[0] in row["map"]:
        fixed = PassFlag(flag.option, (row["map"][flag.values[0]],))
    else:
        return flag
    parsed.notes.append(f"{_typed(flag)} rewritten as {_typed(fixed)}: {row['reason']}.")
    return fixed


def _key_values(option: str, text: str) -> dict:
    body = {}
    for item in filter(None, text.split(",")):
        key, _, count = item.partition("=")
        if not re.fullmatch(r"\d+", count.strip()):
            raise UserError(f"{option} {text!r}: {item!r} is not name=count; write "
                            "image=2,video=1 or the JSON {\"image\": 2}.")
        body[key.strip()] = int(count)
    return body

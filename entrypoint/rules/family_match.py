"""Which catalog family a model is, and why (the families are data: catalogs/families.py).

`templates/catalog.json` lists model families in the order they are tried. A family is found,
first match wins, from these sources in turn:

1. CONV_TEMPLATE (a family's name, e.g. `qwen2.5`); an unknown name is refused.
2. MODEL_ID (the Hugging Face name), matched case-insensitively against each family's
   `model_id` rule: `all` terms must occur, at least one of `any`, none of `none`.
3. `ti_model_config.json` in the model dir: its `conv_template_name`, then its `model_id`.
4. The model dir itself, strongest evidence first: a family whose `identify` facts hold and
   name the model's `model_type`; then one whose facts name its architecture; then
   `_name_or_path` (config.json, tokenizer_config.json) matched as a name; then families
   identified by other facts alone (config values, eos ids, chat template text, special
   tokens). Within each tier the catalog order decides. `identify` is one set of facts or a
   list of alternatives; every fact of a set must hold, so a model that only resembles a
   family (the architecture without its model_type or vocabulary) is not announced as it.

`apply_family` (rules/chat.py) turns the match into vLLM flags; what the user passes wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from entrypoint.catalogs.families import Family, by_name, catalog, known_names
from entrypoint.errors import UserError
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.facts.model_tokens import eos_token_ids, model_chat_template, special_tokens
from entrypoint.settings.provenance import Source


@dataclass(frozen=True)
class Match:
    family: Family
    source: Source  # the user's (CONV_TEMPLATE / MODEL_ID) or MODEL (ti_model_config.json, dir)
    reason: str
    by_name: bool  # chosen by a template name (CONV_TEMPLATE, conv_template_name)


# --- by the Hugging Face name (MODEL_ID, ti_model_config.json, _name_or_path) ----------------


def explain_model_id(rule: dict[str, tuple[str, ...]], model_id: str) -> str | None:
    """Why `model_id` satisfies the rule ("contains qwen2.5 and instruct"), or None."""
    text = model_id.lower()
    wanted = list(rule.get("all", ()))
    if not rule or not all(term in text for term in wanted):
        return None
    if any(term in text for term in rule.get("none", ())):
        return None
    if "any" in rule:
        found = next((term for term in rule["any"] if term in text), None)
        if found is None:
            return None
        wanted.append(found)
    reason = "contains " + " and ".join(wanted)
    if rule.get("none"):
        reason += ", not " + " or ".join(rule["none"])
    return reason


def by_model_id(model_id: str) -> tuple[Family, str] | None:
    for family in catalog():
        reason = explain_model_id(family.model_id, model_id)
        if reason:
            return family, reason
    return None


# --- identification from the model dir -------------------------------------------------------


def _dotted(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def explain_identity(facts: dict[str, Any], model: ModelFacts) -> str | None:
    """Why the model dir shows the family's `identify` facts, or None when one is missing."""
    reasons = []
    if "architectures" in facts:
        found = [a for a in model.architectures if a in facts["architectures"]]
        if not found:
            return None
        reasons.append(f"architecture {found[0]}")
    if "model_types" in facts:
        if model.model_type not in facts["model_types"]:
            return None
        reasons.append(f"model_type {model.model_type}")
    for source, values in (("config.json", facts.get("config", {})),
                           ("generation_config.json", facts.get("generation_config", {}))):
        data = (model.text_config if source == "config.json"
                else model.files.get("generation_config.json", {}))
        for key, expected in values.items():
            if _dotted(data, key) != expected:
                return None
            reasons.append(f"{key}={json.dumps(expected)}")
    if "eos_token_ids" in facts:
        if not set(facts["eos_token_ids"]) <= set(eos_token_ids(model)):
            return None
        reasons.append(f"eos ids include {', '.join(map(str, facts['eos_token_ids']))}")
    if "chat_template_contains" in facts:
        template = model_chat_template(model) or ""
        if not all(text in template for text in facts["chat_template_contains"]):
            return None
        reasons.append("chat template uses " + " and ".join(facts["chat_template_contains"]))
    if "special_tokens" in facts:
        if not set(facts["special_tokens"]) <= special_tokens(model):
            return None
        reasons.append("special tokens " + " and ".join(facts["special_tokens"]))
    return ", ".join(reasons) if reasons else None


def _names_in_model_dir(model: ModelFacts) -> list[tuple[str, str]]:
    """(file, name) for the Hugging Face names the model dir records about itself."""
    found = []
    for file, data in (("config.json", model.config),
                       ("tokenizer_config.json", model.files.get("tokenizer_config.json", {}))):
        for key in ("_name_or_path", "name_or_path"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                # A local path says the most in its last two parts (org/name).
                found.append((f"{file} {key}", "/".join(value.rstrip("/").split("/")[-2:])))
    return found


def _tier(facts: dict[str, Any]) -> int:
    """How strong a set of facts is: model_type (0), architecture (1), other facts (3); a name
    match is tier 2."""
    if "model_types" in facts:
        return 0
    return 1 if "architectures" in facts else 3


def identify(model: ModelFacts) -> Match | None:
    found: list[tuple[int, int, Match]] = []
    for order, family in enumerate(catalog()):
        for facts in family.identify:
            reason = explain_identity(facts, model)
            if reason:
                match = Match(family, Source.MODEL, f"model dir shows {reason}", by_name=False)
                found.append((_tier(facts), order, match))
                break
    for label, name in _names_in_model_dir(model):
        hit = by_model_id(name)
        if hit:
            family, reason = hit
            found.append((2, 0, Match(family, Source.MODEL, f"{label} {name} {reason}",
                                      by_name=False)))
            break
    return min(found, key=lambda item: item[:2])[2] if found else None


# --- all sources, in order ---------------------------------------------------------------------


def unknown_name_error(label: str, name: str) -> UserError:
    return UserError(f"{label}={name!r} is not a known conversation template; use one of: "
                     f"{', '.join(known_names())}.")


def find(conv_template: tuple[str, Source, str] | None, model_id: tuple[str, Source, str] | None,
         model: ModelFacts) -> tuple[Match | None, list[str]]:
    """The family for this start, and warnings. `conv_template` and `model_id` are the user's
    (value, source, label) when given."""
    warnings: list[str] = []
    if conv_template:
        name, source, label = conv_template
        family = by_name(name)
        if family is None:
            raise unknown_name_error(label, name)
        return Match(family, source, f"{label}={name}", by_name=True), warnings
    if model_id:
        value, source, label = model_id
        hit = by_model_id(value)
        if hit:
            return Match(hit[0], source, f"{label} {value} {hit[1]}", by_name=False), warnings
    ti = model.files.get("ti_model_config.json", {})
    name = ti.get("conv_template_name")
    if isinstance(name, str) and name.strip():
        family = by_name(name)
        if family:
            reason = f"ti_model_config.json conv_template_name={name}"
            return Match(family, Source.MODEL, reason, by_name=True), warnings
        warnings.append(f"ti_model_config.json names conv_template_name={name!r}, which is not a "
                        "known conversation template; set CONV_TEMPLATE to one of: "
                        f"{', '.join(known_names())}.")
    ti_id = ti.get("model_id")
    if isinstance(ti_id, str) and ti_id.strip() and (hit := by_model_id(ti_id)):
        reason = f"ti_model_config.json model_id {ti_id} {hit[1]}"
        return Match(hit[0], Source.MODEL, reason, by_name=False), warnings
    return identify(model), warnings

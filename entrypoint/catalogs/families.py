"""Which chat template, tool-call parser and reasoning parser a model gets (pure matching).

The rules are data: `templates/catalog.json` lists model families in the order they are tried.
A family is found, first match wins, from these sources in turn:

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

`apply_family` (a derive rule) turns the match into vLLM flags; what the user passes wins.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entrypoint.errors import UserError
from entrypoint.facts.model_dir import ModelFacts

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
CATALOG_PATH = TEMPLATES_DIR / "catalog.json"


@dataclass(frozen=True)
class Family:
    family: str
    conv_templates: tuple[str, ...]
    model_id: dict[str, tuple[str, ...]] = field(default_factory=dict)
    template: str | None = None
    replace_model_template: bool = False
    tool_call_parser: str | None = None
    auto_tool_choice: bool = False
    reasoning_parser: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    stop_token_ids: tuple[int, ...] = ()
    identify: tuple[dict[str, Any], ...] = ()  # alternatives; each a set of facts

    @property
    def name(self) -> str:
        return self.conv_templates[0]

    @property
    def template_path(self) -> Path | None:
        return TEMPLATES_DIR / self.template if self.template else None


@dataclass(frozen=True)
class Match:
    family: Family
    source: str  # env (CONV_TEMPLATE / MODEL_ID) or model (ti_model_config.json, model dir)
    reason: str
    by_name: bool  # chosen by a template name (CONV_TEMPLATE, conv_template_name)


def _family(entry: dict[str, Any]) -> Family:
    rule = {key: tuple(terms) for key, terms in entry.get("model_id", {}).items()}
    return Family(
        family=entry["family"], conv_templates=tuple(entry["conv_templates"]), model_id=rule,
        template=entry.get("template"),
        replace_model_template=entry.get("replace_model_template", False),
        tool_call_parser=entry.get("tool_call_parser"),
        auto_tool_choice=entry.get("auto_tool_choice", False),
        reasoning_parser=entry.get("reasoning_parser"), args=dict(entry.get("args", {})),
        stop_token_ids=tuple(entry.get("stop_token_ids", ())),
        identify=_alternatives(entry.get("identify")),
    )


def _alternatives(identify: Any) -> tuple[dict[str, Any], ...]:
    if isinstance(identify, dict):
        return (identify,) if identify else ()
    return tuple(facts for facts in identify or () if isinstance(facts, dict) and facts)


@functools.cache
def catalog() -> tuple[Family, ...]:
    entries = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))["families"]
    return tuple(_family(entry) for entry in entries)


def known_names() -> list[str]:
    return [name for family in catalog() for name in family.conv_templates]


def by_name(name: str) -> Family | None:
    wanted = name.strip().lower()
    return next((f for f in catalog() if wanted in (n.lower() for n in f.conv_templates)), None)


def by_architecture(architecture: str) -> Family | None:
    """The first family whose identifying facts name this config.json architecture."""
    return next((f for f in catalog() if architecture in architectures_of(f)), None)


def architectures_of(family: Family) -> tuple[str, ...]:
    """Every config.json architecture the family's `identify` alternatives name."""
    found = (name for facts in family.identify for name in facts.get("architectures", ()))
    return tuple(dict.fromkeys(found))


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


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def eos_token_ids(model: ModelFacts) -> list[int]:
    """Every end-of-sequence id the model's configs name, generation config first."""
    found: list[int] = []
    generation = model.files.get("generation_config.json", {})
    for value in (generation.get("eos_token_id"), model.get("eos_token_id")):
        found += [i for i in _ids(value) if i not in found]
    return found


def model_chat_template(model: ModelFacts) -> str | None:
    """The chat template the model ships (chat_template.jinja or tokenizer_config.json)."""
    if model.texts.get("chat_template.jinja"):
        return model.texts["chat_template.jinja"]
    template = model.files.get("tokenizer_config.json", {}).get("chat_template")
    if isinstance(template, list):  # named templates: [{"name": ..., "template": ...}]
        texts = [t.get("template", "") for t in template if isinstance(t, dict)]
        return "\n".join(t for t in texts if isinstance(t, str)) or None
    return template if isinstance(template, str) and template else None


def _token_text(token: Any) -> str | None:
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) else None


def special_tokens(model: ModelFacts) -> set[str]:
    tokenizer = model.files.get("tokenizer_config.json", {})
    found = {_token_text(tokenizer.get(key)) for key in ("bos_token", "eos_token", "pad_token")}
    decoder = tokenizer.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        found |= {_token_text(token) for token in decoder.values()}
    extra = tokenizer.get("additional_special_tokens") or tokenizer.get("extra_special_tokens")
    if isinstance(extra, list):
        found |= {_token_text(token) for token in extra}
    return {token for token in found if token}


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
                match = Match(family, "model", f"model dir shows {reason}", by_name=False)
                found.append((_tier(facts), order, match))
                break
    for label, name in _names_in_model_dir(model):
        hit = by_model_id(name)
        if hit:
            family, reason = hit
            found.append((2, 0, Match(family, "model", f"{label} {name} {reason}",
                                      by_name=False)))
            break
    return min(found, key=lambda item: item[:2])[2] if found else None


# --- all sources, in order ---------------------------------------------------------------------


def unknown_name_error(label: str, name: str) -> UserError:
    return UserError(f"{label}={name!r} is not a known conversation template; use one of: "
                     f"{', '.join(known_names())}.")


def find(conv_template: tuple[str, str, str] | None, model_id: tuple[str, str, str] | None,
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
            return Match(family, "model", reason, by_name=True), warnings
        warnings.append(f"ti_model_config.json names conv_template_name={name!r}, which is not a "
                        "known conversation template; set CONV_TEMPLATE to one of: "
                        f"{', '.join(known_names())}.")
    ti_id = ti.get("model_id")
    if isinstance(ti_id, str) and ti_id.strip() and (hit := by_model_id(ti_id)):
        reason = f"ti_model_config.json model_id {ti_id} {hit[1]}"
        return Match(hit[0], "model", reason, by_name=False), warnings
    return identify(model), warnings


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

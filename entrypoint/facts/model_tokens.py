"""What a model dir says about its own tokens: end-of-sequence ids, the chat template it ships,
its special tokens. Read-only views over `ModelFacts` (the files are read by model_dir.py)."""

from __future__ import annotations

from typing import Any

from entrypoint.facts.model_dir import ModelFacts


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
    """The special tokens tokenizer_config.json names (bos/eos/pad, added and extra tokens)."""
    tokenizer = model.files.get("tokenizer_config.json", {})
    found = {_token_text(tokenizer.get(key)) for key in ("bos_token", "eos_token", "pad_token")}
    decoder = tokenizer.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        found |= {_token_text(token) for token in decoder.values()}
    extra = tokenizer.get("additional_special_tokens") or tokenizer.get("extra_special_tokens")
    if isinstance(extra, list):
        found |= {_token_text(token) for token in extra}
    return {token for token in found if token}

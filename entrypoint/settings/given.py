"""What the user gave, per source, validated and merged in the one precedence order (pure).

Each source (CLI flags, environment variables, Triton's model.json) becomes a layer of `Given`
values; `merge` keeps, per setting, the entry whose source ranks highest
(`provenance.PRECEDENCE`). Rules then ask `Context.user_set(name)`, never compare sources.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from entrypoint.errors import UserError
from entrypoint.settings.knobs import ENV_NAMES, KNOBS, Knob, is_secret_name
from entrypoint.settings.provenance import Source
from entrypoint.settings.values import BOOL_WORDS_HELP, Invalid

# Prefixes of variables that belong to other programs; never "did you mean"-ed.
FOREIGN_PREFIXES = ("VLLM_", "NCCL_", "CUDA_", "NVIDIA_", "HF_", "RAY_", "TORCH", "OMP_", "LC_")


@dataclass(frozen=True)
class Given:
    value: Any
    source: Source  # CLI, ENV or FILE
    label: str  # how the user spelled it: "--max-model-len" or "MAX_MODEL_LEN"


Layer = Mapping[str, Given]


def validate(knob: Knob, raw: Any, label: str) -> Any:
    """One value through the knob's declared type; a bad one becomes one sentence."""
    try:
        return knob.parse(raw)
    except Invalid as error:
        problem = str(error)
        if knob.is_bool:
            problem = f"use {BOOL_WORDS_HELP}"
        shown = "<hidden>" if knob.secret else raw
        if isinstance(shown, str) and len(shown) > 80:  # the start is enough to recognise it
            shown = shown[:40] + "..."
        raise UserError(f"{label}={shown!r} is not valid: {problem}.") from None


def env_layer(environ: Mapping[str, str]) -> dict[str, Given]:
    """Settings from environment variables; an empty or blank variable counts as unset. Of a
    knob's several variables (PORT, AIP_HTTP_PORT, ...) the first one set wins."""
    layer = {}
    for knob in KNOBS.values():
        for env_name in knob.env_names:
            raw = environ.get(env_name)
            if raw is not None and raw.strip() != "":
                layer[knob.name] = Given(validate(knob, raw.strip(), env_name), Source.ENV,
                                         env_name)
                break
    return layer


def flag_layer(values: Mapping[str, Any], labels: Mapping[str, str],
               source: Source = Source.CLI, prefix: str = "") -> dict[str, Given]:
    """Settings from parsed flags: the command line's, or a settings file's (`prefix` names it)."""
    layer = {}
    for name, raw in values.items():
        label = prefix + labels.get(name, name)
        layer[name] = Given(validate(KNOBS[name], raw, label), source, label)
    return layer


def merge(*layers: Layer) -> dict[str, Given]:
    """Per setting, the entry from the source that ranks highest; layers may come in any order."""
    merged: dict[str, Given] = {}
    for layer in layers:
        for name, entry in layer.items():
            if name not in merged or entry.source.rank < merged[name].source.rank:
                merged[name] = entry
    return merged


def read_given(environ: Mapping[str, str], cli: Mapping[str, Any],
               cli_labels: Mapping[str, str]) -> dict[str, Given]:
    return merge(flag_layer(cli, cli_labels), env_layer(environ))


def value_or_default(given: Layer, name: str) -> Any:
    """What the user gave for a setting, else its declared default (before any rule runs)."""
    return given[name].value if name in given else KNOBS[name].default


# Variables read by run (besides the knobs): a value that is not text stops the plan there.
READ_PREFIXES = ("VLLM_", "HF_", "MODELSCOPE_", "NVIDIA_", "CUDA_", "RUN_")


def undecodable(text: str) -> int | None:
    """Index of the first character that stands for a byte that is not UTF-8 (Python keeps such
    bytes of the environment as lone surrogates), else None."""
    for index, char in enumerate(text):
        if "\udc80" <= char <= "\udcff" or "\ud800" <= char <= "\udfff":
            return index
    return None


def text_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment as text: one sentence for a variable run reads that holds non-UTF-8 bytes;
    any other such variable is left out of what the rules see (vLLM still inherits it as is)."""
    clean = {}
    for name, value in environ.items():
        if undecodable(name) is not None:
            continue
        at = undecodable(value)
        if at is None:
            clean[name] = value
            continue
        if name in ENV_NAMES or name.startswith(READ_PREFIXES) or is_secret_name(name):
            byte = ord(value[at]) - 0xDC00 if value[at] >= "\udc80" else None
            what = f"byte 0x{byte:02x}" if byte is not None else "a character"
            raise UserError(f"{name} holds {what} at position {at + 1} that is not UTF-8 text; "
                            f"set {name} to plain text.")
    return clean


def misspelled_env(environ: Mapping[str, str]) -> list[str]:
    """Warnings for variables that look like a known one typed wrong (MAX_MODLE_LEN)."""
    known = list(ENV_NAMES)
    warnings = []
    for name in environ:
        if name in ENV_NAMES or not name.isupper() or name.startswith(FOREIGN_PREFIXES):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if close:
            warnings.append(f"Environment variable {name} is not used; did you mean {close[0]}?")
    return warnings

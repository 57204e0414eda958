"""Merge what the user gave (CLI flags over environment variables) into validated values (pure)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from entrypoint.errors import UserError
from entrypoint.settings.knobs import BOOL_WORDS_HELP, ENV_NAMES, KNOBS, Knob, Settings

# Prefixes of variables that belong to other programs; never "did you mean"-ed.
FOREIGN_PREFIXES = ("VLLM_", "NCCL_", "CUDA_", "NVIDIA_", "HF_", "RAY_", "TORCH", "OMP_", "LC_")


@dataclass(frozen=True)
class Given:
    value: Any
    source: str  # "cli" or "env"
    label: str  # how the user spelled it: "--max-model-len" or "MAX_MODEL_LEN"


def validate(knob: Knob, raw: Any, label: str) -> Any:
    """One value through the knob's declared type; a bad one becomes one sentence."""
    try:
        return getattr(Settings.model_validate({knob.name: raw}), knob.name)
    except ValidationError as error:
        problem = error.errors()[0]["msg"].removeprefix("Value error, ")
        if knob.is_bool:
            problem = f"use {BOOL_WORDS_HELP}"
        shown = "<hidden>" if knob.secret else raw
        raise UserError(f"{label}={shown!r} is not valid: {problem}.") from None


def read_given(environ: Mapping[str, str], cli: Mapping[str, Any],
               cli_labels: Mapping[str, str]) -> dict[str, Given]:
    given: dict[str, Given] = {}
    for env_name, knob in ENV_NAMES.items():
        raw = environ.get(env_name)
        if raw is not None and raw.strip() != "":
            given[knob.name] = Given(validate(knob, raw.strip(), env_name), "env", env_name)
    for name, raw in cli.items():
        label = cli_labels.get(name, name)
        given[name] = Given(validate(KNOBS[name], raw, label), "cli", label)
    return given


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

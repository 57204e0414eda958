"""Triton's vLLM engine-args file (`model.json`) as a settings source (read step).

Clients moving from a Triton + vLLM deployment bring a `model.json` of engine arguments
(`{"gpu_memory_utilization": 0.5, "enforce_eager": "true", ...}`, booleans often as strings).
It is read from the model directory, or from the path in TRITON_MODEL_JSON / --triton-model-json,
and ranks below flags and environment variables: values it sets have source `file`.
"""

from __future__ import annotations

import json
from pathlib import Path

from entrypoint.errors import UserError
from entrypoint.facts.model_dir import read_json
from entrypoint.settings import legacy_flags
from entrypoint.settings.argv import ParsedArgv, parse_argv
from entrypoint.settings.given import Given, Layer, flag_layer, value_or_default
from entrypoint.settings.provenance import Source
from entrypoint.settings.vllm_options import VllmOptions

FILE_NAME = "model.json"


def is_file(path: Path) -> bool:
    """False also when the path cannot even be looked at (too long, no permission): the model
    dir check that follows names that problem properly."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def locate(given: dict[str, Given]) -> tuple[Path, bool] | None:
    """The file and whether the user named it; None when there is none."""
    if "triton_model_json" in given:
        entry = given["triton_model_json"]
        path = Path(entry.value)
        if not is_file(path):
            raise UserError(f"{entry.label}={entry.value} is not a file; point it at Triton's "
                            "model.json or unset it.")
        return path, True
    model = Path(value_or_default(given, "model"))
    candidate = model / FILE_NAME
    return (candidate, False) if is_file(candidate) else None


def engine_args_to_argv(args: dict) -> list[str]:
    """Engine-argument keys as flags: `"enforce_eager": "true"` -> `--enforce-eager=true`."""
    tokens = []
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            tokens.append(f"{flag}={'true' if value else 'false'}")
        elif isinstance(value, list):
            tokens += [flag, *(str(item) for item in value)]
        elif isinstance(value, dict):
            tokens.append(f"{flag}={json.dumps(value)}")
        elif value is not None:
            tokens.append(f"{flag}={value}")
    return tokens


def layer(parsed: ParsedArgv, given: Layer, options: VllmOptions) -> dict[str, Given]:
    """The file's settings as a layer (source FILE, merged below the user's own) and its other
    engine arguments added to the pass-through flags, where the command line does not set them."""
    found = locate(given)
    if found is None:
        return {}
    path, named = found
    args = dict(read_json(path) or {})
    model = args.pop("model", None)
    settings = {}
    if model is not None and named and "model" not in given:
        settings["model"] = Given(model, Source.FILE, f"{path} model")
    elif model is not None:
        parsed.notes.append(f"{path}: its \"model\" ({model}) is not used; the model is "
                            f"{given['model'].value if 'model' in given else 'the mounted one'}.")
    from_file = parse_argv(engine_args_to_argv(args), options)
    legacy_flags.translate(from_file, options)
    if from_file.unknown:
        key = from_file.unknown[0].option[2:].replace("-", "_")
        raise UserError(f"{path}: \"{key}\" is not an engine argument vLLM {options.version} "
                        "accepts; remove it from the file.")
    keys = {name: label[2:].replace("-", "_") for name, label in from_file.given_as.items()}
    settings |= flag_layer(from_file.given, keys, Source.FILE, prefix=f"{path} ")
    mine = {flag.option for flag in parsed.passthrough}
    parsed.passthrough[:0] = [f for f in from_file.passthrough if f.option not in mine]
    parsed.notes += [f"{path}: {note}" for note in from_file.notes]
    return settings

"""Read the facts of a model directory (config files only; no weights, no torch)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from entrypoint.errors import UserError
from entrypoint.facts.quantized import HF_QUANT_CONFIG, Declared, declared
from entrypoint.facts.weights import checkpoint_bytes

OPTIONAL_FILES = ("tokenizer_config.json", "generation_config.json", "ti_model_config.json",
                  HF_QUANT_CONFIG)
OPTIONAL_TEXT_FILES = ("chat_template.jinja",)  # transformers >= 4.47 saves the template here


def read_json(path: Path, required: bool = False) -> dict[str, Any] | None:
    """A JSON object from a file; a broken file is bad input, named with the fix."""
    try:
        present = path.is_file()
    except OSError as error:  # the folder itself denies access
        raise UserError(f"{path} cannot be read ({error.strerror}); check the permissions of"
                        " the model folder.") from None
    if not present:
        if required:
            raise UserError(f"{path} is missing; point MODEL at the folder that holds config.json.")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        reason = error.strerror
        raise UserError(f"{path} cannot be read ({reason}); check its permissions.") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}); restore the file.") from None
    except RecursionError:
        raise UserError(f"{path} is nested too deeply to be a model config; restore it.") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object, not {type(data).__name__}; restore it.")
    return data


def read_text(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path} cannot be read ({error}); restore the file.") from None


@dataclass(frozen=True)
class ModelFacts:
    path: Path
    config: dict[str, Any]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkpoint_bytes: int | None = None  # weights on disk (weights.checkpoint_bytes)
    texts: dict[str, str] = field(default_factory=dict)  # OPTIONAL_TEXT_FILES found
    # The model's own code that auto_map's AutoModel* entries name: file -> text (None: absent)
    code: dict[str, str | None] = field(default_factory=dict)
    # Mistral's own format beside the HF one (consolidated*.safetensors with mistral-common's
    # tokenizer), which vLLM's tokenizer_mode auto then prefers (vllm/tokenizers/registry.py)
    mistral_format: bool = False

    @property
    def text_config(self) -> dict[str, Any]:
        """Vision-language configs nest the language model's shape under text_config."""
        nested = self.config.get("text_config") or self.config.get("llm_config")
        return {**self.config, **nested} if isinstance(nested, dict) else self.config

    def get(self, *keys: str) -> Any:
        for key in keys:
            value = self.text_config.get(key)
            if value is not None:
                return value
        return None

    def positive_int(self, *keys: str) -> int | None:
        value = self.get(*keys)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not 0 < value < float("inf"):  # also drops NaN and 1e999, which JSON allows
            return None
        return int(value)

    @property
    def architectures(self) -> list[str]:
        found = self.config.get("architectures")
        return [a for a in found if isinstance(a, str)] if isinstance(found, list) else []

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type") or "")

    @property
    def torch_dtype(self) -> str | None:
        value = self.get("torch_dtype", "dtype")
        return value if isinstance(value, str) else None

    @property
    def quantization(self) -> Declared | None:
        """The checkpoint's own quantization, from every file vLLM reads it from."""
        return declared(self.config, self.files)

    @property
    def quantization_config(self) -> dict[str, Any] | None:
        found = self.quantization
        return found.config if found else None


def model_code_files(config: dict[str, Any]) -> list[str]:
    """Files of this folder that hold the model classes auto_map names (`module.Class` ->
    module.py); `repo--module.Class` lives in another repository and is left out."""
    auto_map = config.get("auto_map")
    if not isinstance(auto_map, dict):
        return []
    targets = [t for name, t in auto_map.items()
               if isinstance(name, str) and name.startswith("AutoModel") and isinstance(t, str)]
    files = [t.rsplit(".", 1)[0].replace(".", "/") + ".py" for t in targets
             if "--" not in t and "." in t]
    return list(dict.fromkeys(f for f in files if not f.startswith(("/", "."))))


def read_code(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except (OSError, ValueError):
        return None


def has_mistral_format(path: Path) -> bool:
    try:
        names = [entry.name for entry in path.iterdir()]
    except OSError:
        return False
    weights = any(fnmatch(n, "consolidated*.safetensors") for n in names)
    return weights and any(n == "tekken.json" or fnmatch(n, "tokenizer.model.v*") for n in names)


def read_model_dir(path: Path) -> ModelFacts:
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as error:  # name too long, no permission, NUL byte
        reason = getattr(error, "strerror", None) or str(error)
        raise UserError(f"Model directory {str(path)[:200]!r} cannot be opened ({reason});"
                        " set MODEL to a readable folder.") from None
    if not exists:
        raise UserError(
            f"Model directory {path} does not exist; mount the model there"
            " or set MODEL to its path."
        )
    if not is_dir:
        raise UserError(f"MODEL={path} is a file; set MODEL to the folder that holds config.json.")
    config = read_json(path / "config.json", required=True)
    files = {name: data for name in OPTIONAL_FILES if (data := read_json(path / name))}
    texts = {name: text for name in OPTIONAL_TEXT_FILES if (text := read_text(path / name))}
    code = {name: read_code(path / name) for name in model_code_files(config)}
    return ModelFacts(path=path, config=config, files=files,
                      checkpoint_bytes=checkpoint_bytes(path), texts=texts, code=code,
                      mistral_format=has_mistral_format(path))

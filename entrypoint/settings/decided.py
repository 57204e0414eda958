"""The decided settings as typed attributes: `ctx.settings.max_model_len` is an `int | None`.

One annotation per knob of settings/knobs.py (a test holds the two together); the value is read
from the decisions so far, so a rule sees what earlier rules decided.
"""

from __future__ import annotations

from collections.abc import Mapping

from entrypoint.settings.provenance import Decision


class Settings:
    model: str
    port: int
    quantization: str | None
    max_model_len: int | None
    dtype: str
    enable_prefix_caching: bool
    tensor_parallel_size: int
    trust_remote_code: bool
    gpu_memory_utilization: float
    enforce_eager: bool
    use_lookahead: bool
    num_speculative_tokens: int
    model_id: str | None
    conv_template: str | None
    assume_gpus: str | None
    disable_mem_cache: bool
    shutdown_timeout: int
    api_key: str | None
    api_keys: str | None
    speculative_model: str | None
    prompt_lookup_max: int
    prompt_lookup_min: int
    legacy_clients: bool
    triton_model_json: str | None
    model_hub: str
    base_model: str | None
    merge_lora: bool
    cache_dir: str | None
    run_dir: str
    pipeline_parallel_size: int
    distributed_backend: str | None
    ui: bool
    multinode_timeout: float

    __slots__ = ("_decided",)

    def __init__(self, decided: Mapping[str, Decision]) -> None:
        object.__setattr__(self, "_decided", decided)

    def __getattr__(self, name: str):
        try:
            return self._decided[name].value
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("settings are decided by rules, never assigned")

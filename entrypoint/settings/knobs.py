"""Every knob `run` owns, declared once.

Each field carries its environment variable, its CLI flags, its default and its help text. The
argv parser, the env reader, validation messages, the plan's provenance and the README table are
all generated from these declarations. A field left as `None` was not given by the user; derive
rules or the declared default fill it in later.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
BOOL_WORDS_HELP = "true/false, 1/0, yes/no or on/off"


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected {BOOL_WORDS_HELP}")


_SIZE_SUFFIX = {"k": 1000, "m": 1000**2, "g": 1000**3, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_token_count(raw: Any) -> int:
    """An int, or vLLM's human-readable form: 32k = 32000, 32K = 32768 (as vLLM reads them)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgKMG])", text)
    if match:
        count = float(match.group(1)) * _SIZE_SUFFIX[match.group(2)]
        if count == float("inf"):  # float() of a huge number; int() would raise OverflowError
            raise ValueError("the number is far too large")
        return int(count)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ValueError("expected a whole number such as 8192 or 32k")


Bool = Annotated[bool, BeforeValidator(parse_bool)]
TokenCount = Annotated[int, BeforeValidator(parse_token_count), Field(gt=0)]
Dtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]


def knob(
    *,
    help: str,
    default: Any = None,
    env: str | None = None,
    flags: tuple[str, ...] = (),
    vllm: bool = True,
    secret: bool = False,
    **constraints: Any,
) -> Any:
    """Declare one setting. `vllm=False` marks knobs that `run` consumes itself."""
    meta = {"env": env, "flags": list(flags), "default": default, "vllm": vllm, "secret": secret}
    return Field(None, description=help, json_schema_extra=meta, **constraints)


class Settings(BaseSettings):
    """What the user may set. None = not set by the user."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True, validate_default=False)

    model: str | None = knob(
        env="MODEL", flags=("--model",), default="/data/model",
        help="Model directory (or a positional model argument).",
    )
    port: int | None = knob(
        flags=("--port",), default=8501, ge=1, le=65535,
        help="Port of the OpenAI-compatible server.",
    )
    quantization: str | None = knob(
        env="QUANTIZATION", flags=("--quantization", "-q"),
        help="Online or checkpoint quantization method (fp8, ifq, ifq_nf4, awq, gptq, ...).",
    )
    max_model_len: TokenCount | None = knob(
        env="MAX_MODEL_LEN", flags=("--max-model-len",),
        help="Context length; derived from the model (capped at 8192) when unset.",
    )
    dtype: Dtype | None = knob(
        env="DTYPE", flags=("--dtype",), default="auto",
        help="Weight and activation dtype; derived from the model and GPU when unset.",
    )
    enable_prefix_caching: Bool | None = knob(
        env="ENABLE_PREFIX_CACHING", flags=("--enable-prefix-caching",), default=True,
        help="Reuse the KV cache of shared prompt prefixes; on, except on V100-generation GPUs.",
    )
    tensor_parallel_size: int | None = knob(
        env="TP", flags=("--tensor-parallel-size", "-tp"), default=1, ge=1,
        help="GPUs one model replica is split over; derived from the visible GPUs when unset.",
    )
    trust_remote_code: Bool | None = knob(
        env="TRUST_REMOTE_CODE", flags=("--trust-remote-code",), default=True,
        help="Allow the model directory's own Python code to run.",
    )
    gpu_memory_utilization: float | None = knob(
        env="GPU_MEMORY_UTILIZATION", flags=("--gpu-memory-utilization",), default=0.9,
        gt=0, le=1, help="Fraction of each GPU's memory vLLM may use.",
    )
    enforce_eager: Bool | None = knob(
        env="ENFORCE_EAGER", flags=("--enforce-eager",), default=False,
        help="Skip CUDA graphs and torch.compile (faster start, slower decoding).",
    )
    use_lookahead: Bool | None = knob(
        env="USE_LOOKAHEAD", flags=("--use-lookahead",), default=False, vllm=False,
        help="N-gram prompt-lookup speculative decoding (no draft model).",
    )
    num_speculative_tokens: int | None = knob(
        env="NUM_SPECULATIVE_TOKENS", flags=("--num-speculative-tokens",), default=6, ge=1,
        vllm=False, help="Tokens proposed per step when lookahead is on.",
    )
    model_id: str | None = knob(
        env="MODEL_ID", vllm=False,
        help="Hugging Face name of the mounted model; picks the chat template and parsers.",
    )
    conv_template: str | None = knob(
        env="CONV_TEMPLATE", vllm=False,
        help="Conversation template name (see the template catalog); overrides MODEL_ID rules.",
    )
    assume_gpus: str | None = knob(
        env="ASSUME_GPUS", flags=("--assume-gpus",), vllm=False,
        help="Plan for these GPUs instead of the ones found (with --dry-run): COUNTxNAME such as"
             " 8xH100-80GB, 2xA10, 1xV100-32GB, 4xL20; `none` plans for the CPU build.",
    )
    disable_mem_cache: Bool | None = knob(
        env="DISABLE_MEM_CACHE", default=False, vllm=False,
        help="Skip warming the page cache with the weight files.",
    )
    shutdown_timeout: int | None = knob(
        env="SHUTDOWN_TIMEOUT", flags=("--shutdown-timeout",), default=20, ge=0, le=3600,
        help="Seconds in-flight requests may finish after SIGTERM while new ones are refused"
        " (0 aborts them); keep it below the platform's grace period (often 30 s).",
    )
    api_key: str | None = knob(
        env="API_KEY", vllm=False, secret=True,
        help="API key clients must send as `Authorization: Bearer KEY` for /v1/*; never in argv.",
    )
    api_keys: str | None = knob(
        env="API_KEYS", vllm=False, secret=True,
        help="Several API keys, comma-separated; each one is accepted (with API_KEY too).",
    )
    speculative_model: str | None = knob(
        env="SPECULATIVE_MODEL", vllm=False,
        help="Draft model for speculative decoding (old --speculative-model; [ngram]: lookahead).",
    )
    # vLLM's own defaults are 5/5; a shorter minimum match proposes more often on the short
    # repeats (code, JSON, quoted text) that lookahead users serve.
    prompt_lookup_max: int | None = knob(
        env="PROMPT_LOOKUP_MAX", default=4, vllm=False, ge=1,
        help="Longest prompt n-gram that lookahead matches.",
    )
    prompt_lookup_min: int | None = knob(
        env="PROMPT_LOOKUP_MIN", default=2, vllm=False, ge=1,
        help="Shortest prompt n-gram that lookahead matches.",
    )
    legacy_clients: Bool | None = knob(
        env="LEGACY_CLIENTS", flags=("--legacy-clients",), default=True, vllm=False,
        help="Serve old clients: guided_* request fields and Triton /v2/models/*/generate.",
    )
    triton_model_json: str | None = knob(
        env="TRITON_MODEL_JSON", flags=("--triton-model-json",), vllm=False,
        help="Triton vLLM engine-args file read as settings (default: model dir model.json).",
    )
    model_hub: Literal["huggingface", "modelscope"] | None = knob(
        env="MODEL_HUB", default="huggingface", vllm=False,
        help="Where a MODEL given as a hub id (org/name[@revision]) is downloaded from.",
    )
    base_model: str | None = knob(
        env="BASE_MODEL", vllm=False,
        help="Base model (folder or hub id) for a LoRA adapter MODEL; else the adapter's"
             " base_model_name_or_path.",
    )
    merge_lora: Bool | None = knob(
        env="MERGE_LORA", default=False, vllm=False,
        help="Merge a LoRA adapter into its base once (cached) and serve the merged model.",
    )
    cache_dir: str | None = knob(
        env="CACHE_DIR", vllm=False,
        help="Persistent folder for hub downloads, merged adapters and vLLM's compile cache"
             " (VLLM_CACHE_ROOT), so restarts skip them.",
    )
    run_dir: str | None = knob(
        env="RUN_DIR", default="/tmp/llm-serve-run", vllm=False,
        help="Writable folder for files run generates for vLLM (e.g. a generation config that "
        "adds a family's stop tokens).",
    )
    pipeline_parallel_size: int | None = knob(
        env="PP", flags=("--pipeline-parallel-size", "-pp"), default=1, ge=1,
        help="Pipeline stages one replica is split over; the node count when multi-node and unset.",
    )
    distributed_backend: Literal["ray", "mp", "uni", "external_launcher"] | None = knob(
        env="DISTRIBUTED_BACKEND", flags=("--distributed-executor-backend",),
        help="How vLLM spans GPUs and nodes; multi-node: ray (default) or mp (vLLM's own).",
    )
    ui: Bool | None = knob(
        env="UI", flags=("--ui",), default=True, vllm=False,
        help="Serve a page at / (the plan, live figures from /metrics, a chat box); false turns"
             " it off.",
    )
    multinode_timeout: float | None = knob(
        env="MULTINODE_TIMEOUT", default=600, gt=0, vllm=False,
        help="Seconds the nodes of a multi-node group wait for each other before giving up.",
    )


@dataclass(frozen=True)
class Knob:
    """One declaration, read back from the Settings field."""

    name: str
    env: str | None
    flags: tuple[str, ...]
    default: Any
    help: str
    vllm: bool
    secret: bool
    is_bool: bool

    @property
    def flag(self) -> str | None:
        """The vLLM-style long flag; also what the plan emits."""
        return next((f for f in self.flags if f.startswith("--")), None)


def _knobs() -> dict[str, Knob]:
    knobs = {}
    for name, field in Settings.model_fields.items():
        meta = field.json_schema_extra or {}
        knobs[name] = Knob(
            name=name,
            env=meta["env"],
            flags=tuple(meta["flags"]),
            default=meta["default"],
            help=field.description or "",
            vllm=meta["vllm"],
            secret=meta["secret"],
            is_bool=Bool in typing.get_args(field.annotation),
        )
    return knobs


KNOBS: dict[str, Knob] = _knobs()
ENV_NAMES: dict[str, Knob] = {k.env: k for k in KNOBS.values() if k.env}
FLAG_NAMES: dict[str, Knob] = {f: k for k in KNOBS.values() for f in k.flags}

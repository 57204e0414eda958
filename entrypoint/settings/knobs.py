"""Every knob `run` owns, declared once.

Each declaration carries its value type (settings/values.py), environment variable, CLI flags,
default and help text, and, for a setting rules fill in from the model and the hardware when it is
unset, the rule that does (`derived_by`). The argv parser, the env reader, validation messages,
the plan's provenance and the README table are all generated from these declarations. A value
left as `None` was not given by the user; derive rules or the declared default fill it in later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from entrypoint.settings.values import Bool, Choice, Float, Int, Text, TokenCount

DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")


@dataclass(frozen=True)
class Knob:
    name: str
    kind: Callable[[Any], Any]  # raw value -> typed value, or values.Invalid
    env: str | None
    flags: tuple[str, ...]
    default: Any
    help: str
    vllm: bool  # False: a knob `run` consumes itself
    secret: bool
    derived_by: str | None  # "sizing.max_model_len": the rule (rules/<module>.<function>)
    # Variables a platform sets for this setting, read after `env`, first one set wins.
    platform_env: tuple[str, ...] = ()

    @property
    def env_names(self) -> tuple[str, ...]:
        """Every variable read for this knob, the one that wins first."""
        return ((self.env,) if self.env else ()) + self.platform_env

    @property
    def is_bool(self) -> bool:
        return isinstance(self.kind, Bool)

    @property
    def flag(self) -> str | None:
        """The vLLM-style long flag; also what the plan emits."""
        return next((f for f in self.flags if f.startswith("--")), None)

    def parse(self, raw: Any) -> Any:
        return None if raw is None else self.kind(raw)


def knob(name: str, kind: Callable[[Any], Any], *, help: str, default: Any = None,
         env: str | None = None, flags: tuple[str, ...] = (), vllm: bool = True,
         secret: bool = False, derived_by: str | None = None,
         platform_env: tuple[str, ...] = ()) -> Knob:
    return Knob(name, kind, env, flags, default, help, vllm, secret, derived_by, platform_env)


DECLARED = (
    knob("model", Text(), env="MODEL", flags=("--model",), default="/data/model",
         help="Model directory (or a positional model argument)."),
    # PORT: Cloud Run, Knative, Heroku-style platforms; AIP_HTTP_PORT: Vertex AI's custom
    # containers; SAGEMAKER_BIND_TO_PORT: SageMaker inference pipelines and multi-container hosts.
    knob("port", Int(ge=1, le=65535), env="PORT", flags=("--port",), default=8501,
         platform_env=("AIP_HTTP_PORT", "SAGEMAKER_BIND_TO_PORT"),
         help="Port of the OpenAI-compatible server; --port wins over PORT, then AIP_HTTP_PORT "
              "(Vertex AI), then SAGEMAKER_BIND_TO_PORT (SageMaker)."),
    knob("quantization", Text(), env="QUANTIZATION", flags=("--quantization", "-q"),
         help="Online or checkpoint quantization method (fp8, ifq, ifq_nf4, awq, gptq, ...)."),
    knob("max_model_len", TokenCount, env="MAX_MODEL_LEN", flags=("--max-model-len",),
         derived_by="sizing.max_model_len",
         help="Context length; derived from the model (capped at 8192) when unset."),
    knob("dtype", Choice(DTYPES), env="DTYPE", flags=("--dtype",), default="auto",
         derived_by="sizing.dtype",
         help="Weight and activation dtype; derived from the model and GPU when unset."),
    knob("enable_prefix_caching", Bool(), env="ENABLE_PREFIX_CACHING",
         flags=("--enable-prefix-caching",), default=True, derived_by="gates.prefix_caching",
         help="Reuse the KV cache of shared prompt prefixes; on, except on V100-generation GPUs."),
    knob("tensor_parallel_size", Int(ge=1), env="TP", flags=("--tensor-parallel-size", "-tp"),
         default=1, derived_by="sizing.tensor_parallel_size",
         help="GPUs one model replica is split over; derived from the visible GPUs when unset."),
    knob("trust_remote_code", Bool(), env="TRUST_REMOTE_CODE", flags=("--trust-remote-code",),
         default=True, help="Allow the model directory's own Python code to run."),
    knob("gpu_memory_utilization", Float(gt=0, le=1), env="GPU_MEMORY_UTILIZATION",
         flags=("--gpu-memory-utilization",), default=0.9,
         help="Fraction of each GPU's memory vLLM may use."),
    knob("enforce_eager", Bool(), env="ENFORCE_EAGER", flags=("--enforce-eager",), default=False,
         help="Skip CUDA graphs and torch.compile (faster start, slower decoding)."),
    knob("use_lookahead", Bool(), env="USE_LOOKAHEAD", flags=("--use-lookahead",), default=False,
         vllm=False, help="N-gram prompt-lookup speculative decoding (no draft model)."),
    knob("num_speculative_tokens", Int(ge=1), env="NUM_SPECULATIVE_TOKENS",
         flags=("--num-speculative-tokens",), default=6, vllm=False,
         help="Tokens proposed per step when lookahead is on."),
    knob("model_id", Text(), env="MODEL_ID", vllm=False,
         help="Hugging Face name of the mounted model; picks the chat template and parsers."),
    knob("conv_template", Text(), env="CONV_TEMPLATE", vllm=False,
         help="Conversation template name (see the template catalog); overrides MODEL_ID rules."),
    knob("assume_gpus", Text(), env="ASSUME_GPUS", flags=("--assume-gpus",), vllm=False,
         help="Plan for these GPUs instead of the ones found (with --dry-run): COUNTxNAME such as"
              " 8xH100-80GB, 2xA10, 1xV100-32GB, 4xL20; `none` plans for the CPU build."),
    knob("disable_mem_cache", Bool(), env="DISABLE_MEM_CACHE", default=False, vllm=False,
         help="Skip warming the page cache with the weight files."),
    knob("shutdown_timeout", Int(ge=0, le=3600), env="SHUTDOWN_TIMEOUT",
         flags=("--shutdown-timeout",), default=20,
         help="Seconds in-flight requests may finish after SIGTERM while new ones are refused"
              " (0 aborts them); keep it below the platform's grace period (often 30 s)."),
    knob("api_key", Text(), env="API_KEY", vllm=False, secret=True,
         help="API key clients must send as `Authorization: Bearer KEY` for /v1/*; never in argv."),
    knob("api_keys", Text(), env="API_KEYS", vllm=False, secret=True,
         help="Several API keys, comma-separated; each one is accepted (with API_KEY too)."),
    knob("speculative_model", Text(), env="SPECULATIVE_MODEL", vllm=False,
         help="Draft model for speculative decoding (old --speculative-model; [ngram]: "
              "lookahead)."),
    # vLLM's own defaults are 5/5; a shorter minimum match proposes more often on the short
    # repeats (code, JSON, quoted text) that lookahead users serve.
    knob("prompt_lookup_max", Int(ge=1), env="PROMPT_LOOKUP_MAX", default=4, vllm=False,
         help="Longest prompt n-gram that lookahead matches."),
    knob("prompt_lookup_min", Int(ge=1), env="PROMPT_LOOKUP_MIN", default=2, vllm=False,
         help="Shortest prompt n-gram that lookahead matches."),
    knob("legacy_clients", Bool(), env="LEGACY_CLIENTS", flags=("--legacy-clients",),
         default=True, vllm=False,
         help="Serve old clients: guided_* request fields and Triton /v2/models/*/generate."),
    knob("triton_model_json", Text(), env="TRITON_MODEL_JSON", flags=("--triton-model-json",),
         vllm=False,
         help="Triton vLLM engine-args file read as settings (default: model dir model.json)."),
    knob("model_hub", Choice(("huggingface", "modelscope")), env="MODEL_HUB",
         default="huggingface", vllm=False,
         help="Where a MODEL given as a hub id (org/name[@revision]) is downloaded from."),
    knob("base_model", Text(), env="BASE_MODEL", vllm=False,
         help="Base model (folder or hub id) for a LoRA adapter MODEL; else the adapter's"
              " base_model_name_or_path."),
    knob("merge_lora", Bool(), env="MERGE_LORA", default=False, vllm=False,
         help="Merge a LoRA adapter into its base once (cached) and serve the merged model."),
    knob("cache_dir", Text(), env="CACHE_DIR", vllm=False,
         help="Persistent folder for hub downloads, merged adapters and vLLM's compile cache"
              " (VLLM_CACHE_ROOT), so restarts skip them."),
    knob("profile", Text(), env="RUN_PROFILE", flags=("--profile",), vllm=False,
         help="Tuned profile written by `run tune`, applied when it was made for this model, GPU"
              " and vLLM (default: CACHE_DIR/run-profile.json when present; none ignores it)."),
    knob("run_dir", Text(), env="RUN_DIR", default="/tmp/llm-serve-run", vllm=False,
         help="Writable folder for files run generates for vLLM (e.g. a generation config that "
              "adds a family's stop tokens)."),
    knob("pipeline_parallel_size", Int(ge=1), env="PP",
         flags=("--pipeline-parallel-size", "-pp"), default=1,
         help="Pipeline stages one replica is split over; the node count when multi-node and "
              "unset."),
    knob("distributed_backend", Choice(("ray", "mp", "uni", "external_launcher")),
         env="DISTRIBUTED_BACKEND", flags=("--distributed-executor-backend",),
         help="How vLLM spans GPUs and nodes; multi-node: ray (default) or mp (vLLM's own)."),
    knob("ui", Bool(), env="UI", flags=("--ui",), default=True, vllm=False,
         help="Serve a page at / (the plan, live figures from /metrics, a chat box); false turns"
              " it off."),
    knob("multinode_timeout", Float(gt=0), env="MULTINODE_TIMEOUT", default=600, vllm=False,
         help="Seconds the nodes of a multi-node group wait for each other before giving up."),
)

KNOBS: dict[str, Knob] = {k.name: k for k in DECLARED}
ENV_NAMES: dict[str, Knob] = {name: k for k in KNOBS.values() for name in k.env_names}
FLAG_NAMES: dict[str, Knob] = {f: k for k in KNOBS.values() for f in k.flags}
# A variable whose name says it holds a secret (HF_TOKEN, AWS_SECRET_ACCESS_KEY, API_KEYS): its
# value is masked wherever the plan is shown, and refused like our own when it is not text.
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def is_secret_name(name: str) -> bool:
    return any(marker in name.upper() for marker in SECRET_MARKERS)

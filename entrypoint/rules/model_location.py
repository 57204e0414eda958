"""Rules for where the model comes from (pure over `ctx.location`, a facts.model_location.Located).

They run after the sizing rules: the served folder, the hub name, LoRA flags or the merged
model, the persistent compile cache and the page-cache warm-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from entrypoint.errors import UserError
from entrypoint.facts.model_location import lora_rank_choice
from entrypoint.plan.steps import Download, MergeLora, WarmPageCache
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import NOTHING, Outcome, decide, env, fact, warn
from entrypoint.settings.provenance import Decision, Source

FITS_SHARE = 0.9  # of available memory; vLLM's own prefetch uses the same margin


def served_folder(ctx: Context) -> Outcome | None:
    """MODEL as vLLM gets it: the folder found (checkpoint, snapshot, base of an adapter)."""
    src = ctx.location
    if src is None:
        return None
    out = Outcome(steps=tuple(Download(m, ctx.environ) for m in src.missing))
    if src.how:
        out += decide("model", str(src.serve_dir), Source.MODEL, src.how[-1])
    if src.served_name and not src.adapters:
        out += ctx.flag("--served-model-name", (src.served_name,), source=Source.MODEL,
                        reason="the hub id, not the cache path, names the model for clients")
    return out


def lora_adapters(ctx: Context) -> Outcome | None:
    src = ctx.location
    if src is None or not src.adapters:
        return None
    if ctx.settings.merge_lora:
        return merge_adapter(ctx)
    rank = max(a.rank for a in src.adapters)
    choice = lora_rank_choice(rank, ", ".join(str(a.path) for a in src.adapters))
    names = ", ".join(a.name for a in src.adapters)
    out = ctx.flag("--enable-lora", source=Source.MODEL,
                   reason=f"MODEL holds LoRA adapters ({names})")
    out += ctx.flag("--lora-modules", tuple(f"{a.name}={a.path}" for a in src.adapters),
                    source=Source.MODEL,
                    reason="each adapter is served under its folder name beside the base model")
    out += ctx.flag("--max-lora-rank", (str(choice),), source=Source.MODEL,
                    reason=f"largest adapter rank r={rank}, rounded up to a rank vLLM accepts")
    if len(src.adapters) > 1:
        out += ctx.flag("--max-loras", (str(len(src.adapters)),), source=Source.MODEL,
                        reason="every adapter may be active in the same batch")
    return out


def merge_adapter(ctx: Context) -> Outcome:
    src = ctx.location
    label = ctx.label("merge_lora")
    if len(src.adapters) > 1:
        raise UserError(f"{label}=true merges one adapter, but MODEL holds {len(src.adapters)}"
                        f" ({', '.join(a.name for a in src.adapters)}); point MODEL at one"
                        " adapter folder, or turn merging off to serve them all.")
    adapter = src.adapters[0]
    merged = src.merged_dir
    merging = MergeLora(base=src.serve_dir, adapter=adapter.path, out=merged,
                        done=src.merged_done)
    return Outcome(steps=(merging,)) + \
        decide("model", str(merged), Source.MODEL,
               f"{label}=true: {adapter.name} merged into {src.serve_dir.name}, cached") + \
        ctx.flag("--served-model-name", (adapter.name,), source=Source.MODEL,
                 reason="the merged model answers to the adapter's name")


# What a restart can skip when it lives on CACHE_DIR: (variable, folder under CACHE_DIR, what).
RESTART_CACHES = (
    ("VLLM_CACHE_ROOT", "vllm", "vLLM's torch.compile artifacts and startup plan"),
    ("TORCHINDUCTOR_CACHE_DIR", "inductor", "Inductor's compiled kernels"),
    ("TRITON_CACHE_DIR", "triton", "Triton's kernel binaries"),
)
CONTAINER_DEFAULTS = {"VLLM_CACHE_ROOT": "~/.cache/vllm",
                      "TORCHINDUCTOR_CACHE_DIR": "/tmp/torchinductor_$USER",
                      "TRITON_CACHE_DIR": "~/.triton/cache"}


def compile_cache(ctx: Context) -> Outcome:
    """Compile caches on persistent storage: a restart loads instead of compiling."""
    src = ctx.location
    root = ctx.settings.cache_dir
    out = NOTHING
    if root:
        label, source = ctx.label("cache_dir"), ctx.decided["cache_dir"].source
        for name, sub, what in RESTART_CACHES:
            out += env(name, str(Path(root) / sub), f"{label}: {what} survive restarts", source)
        out += env("VLLM_ENABLE_STARTUP_PLAN", "1",
                   f"{label}: a restart reuses the measured KV cache size, skipping profiling",
                   source)
    elif "VLLM_CACHE_ROOT" not in ctx.environ and src is not None and src.volume_cache:
        out += warn(
            f"vLLM's compile cache lives inside the container and is lost on restart; set"
            f" CACHE_DIR={src.volume_cache} (writable, on the model's volume) to keep it.")
    return out + fact("caches", cache_places(ctx, out.env))


def cache_places(ctx: Context, chosen_env: Mapping[str, Decision]) -> str:
    """What will be cached where, and whether a restart finds it (shown by --dry-run)."""
    places = []
    for name, _, what in RESTART_CACHES:
        chosen = chosen_env.get(name) if name not in ctx.environ else None
        where = chosen.value if chosen else ctx.environ.get(name)
        kept = " (kept on CACHE_DIR)" if chosen else (
            " (set by you)" if where else " (inside the container: lost on restart)")
        places.append(f"{what} in {where or CONTAINER_DEFAULTS[name]}{kept}")
    return "; ".join(places)


def warm_page_cache(ctx: Context) -> Outcome | None:
    src = ctx.location
    facts = src.weights if src is not None else None
    if facts is None or not facts.files or ctx.settings.merge_lora and src.adapters:
        return None
    if ctx.settings.disable_mem_cache:
        return fact("page cache", "warm-up off (DISABLE_MEM_CACHE)")
    if ctx.argv.passes("--safetensors-load-strategy", "--load-format"):
        return fact("page cache", "left to vLLM: the load flags were given")
    gib = facts.total_bytes / 2**30
    if facts.total_bytes > FITS_SHARE * facts.available_bytes:
        return fact("page cache", f"no warm-up: weights {gib:.1f} GiB exceed 90% of the"
                                  f" {facts.available_bytes / 2**30:.1f} GiB free memory")
    safetensors = all(f.endswith(".safetensors") for f in facts.files)
    if facts.on_network_fs and safetensors and \
            ctx.options.kind("--safetensors-load-strategy"):
        return ctx.flag("--safetensors-load-strategy", ("prefetch",), source=Source.MODEL,
                        reason=f"weights on a network file system ({facts.fs_type}): vLLM's own "
                               "prefetch reads each rank's shards into the page cache in parallel")
    return Outcome(steps=(WarmPageCache(files=facts.files, total_bytes=facts.total_bytes),)) + \
        fact("page cache", f"warm-up of {gib:.2f} GiB while vLLM starts ({facts.fs_type})")

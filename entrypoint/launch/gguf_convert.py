"""The GGUF launch steps' effects: a GGUF file converted once into a Hugging Face folder vLLM can
serve, or only its tokenizer written out (for vLLM's own GGUF loader, `--tokenizer`).

`convert` is the project's one converter: the launch step `plan.steps.ConvertGguf` (launch/steps.py)
and the demo build (entrypoint/devtools/demo_model.py) both call it. transformers reads the file
with the `gguf` package and, asked to dequantize, keeps float32 weights that `save_pretrained` can
write (without `dequantize=True` it keeps them packed and refuses to save). torch, transformers
and gguf load inside the functions: importing this module costs nothing.
Each folder appears whole or not at all (launch/folders.py).
"""

from __future__ import annotations

from pathlib import Path

from entrypoint.launch.folders import publish, staging_for


def convert(source: Path, out: Path) -> Path:
    """The GGUF file `source` as a Hugging Face folder `out` (float32 weights, tokenizer, chat
    template)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(source.parent), source.name
    staging = staging_for(out)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True))
    model.save_pretrained(staging)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(staging)
    return publish(staging, out)


def write_tokenizer(source: Path, out: Path) -> Path:
    """The tokenizer inside a GGUF file as a Hugging Face tokenizer folder; seconds, a few MB."""
    from transformers import AutoTokenizer

    staging = staging_for(out)
    AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name).save_pretrained(staging)
    return publish(staging, out, readable=False)


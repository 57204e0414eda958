"""The GGUF launch steps' effects: a GGUF file converted once into a Hugging Face folder vLLM can
serve, or only its tokenizer written out (for vLLM's own GGUF loader, `--tokenizer`).

`convert` is the project's one converter: the launch step `plan.steps.ConvertGguf` (launch/steps.py)
and the demo build (entrypoint/devtools/demo_model.py) both call it. transformers reads the file
with the `gguf` package and, asked to dequantize, keeps float32 weights that `save_pretrained` can
write (without `dequantize=True` it keeps them packed and refuses to save). torch, transformers
and gguf load inside the functions: importing this module costs nothing.
Each folder appears whole or not at all: it is written beside its place and renamed into it.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def convert(source: Path, out: Path) -> Path:
    """The GGUF file `source` as a Hugging Face folder `out` (float32 weights, tokenizer, chat
    template)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(source.parent), source.name
    staging = fresh_staging(out)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True))
    model.save_pretrained(staging)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(staging)
    for path in staging.iterdir():  # safetensors writes 0600; a container's user must read it
        path.chmod(0o644)
    return move_into_place(staging, out)


def write_tokenizer(source: Path, out: Path) -> Path:
    """The tokenizer inside a GGUF file as a Hugging Face tokenizer folder; seconds, a few MB."""
    from transformers import AutoTokenizer

    staging = fresh_staging(out)
    AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name).save_pretrained(staging)
    return move_into_place(staging, out)


def fresh_staging(out: Path) -> Path:
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # left by a start that did not finish
    return staging


def move_into_place(staging: Path, out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out

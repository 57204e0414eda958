"""GGUF files (llama.cpp's one-file format): recognising one, and converting it once into a
Hugging Face folder that vLLM can serve.

`convert` is the one converter, used by the demo build (entrypoint/devtools/demo_model.py) and by
the launch step `plan.steps.ConvertGguf` for a GGUF given as MODEL (launch/steps.py). transformers
reads the file with the `gguf` package and, asked to dequantize, keeps float32 weights that
`save_pretrained` can write (without `dequantize=True` it keeps them packed and refuses to save).
torch, transformers and gguf load only inside `convert`: the plan itself stays fast.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

MAGIC = b"GGUF"  # the first four bytes of every GGUF file
SUFFIX = ".gguf"
# Measured on SmolLM2-135M Q4_1 (98 MB) on 2 shared cores: 38 s, 1.35 GB peak memory, 517 MiB of
# float32 written.
FLOAT32_PER_GGUF_BYTE = 517 * 2**20 / 98_362_432


def is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == MAGIC
    except OSError:
        return False


def ggufs_in(folder: Path) -> list[Path]:
    """The GGUF files directly inside a folder, by name."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == SUFFIX and p.is_file())
    except OSError:
        return []


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(path: Path) -> str:
    """Names the converted copy: the file's name, size and modification time, so the plan costs no
    read of a multi-GB file and a replaced file gets a fresh conversion."""
    stat = path.stat()
    text = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"{path.stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def is_converted(out: Path) -> bool:
    return (out / "config.json").is_file() and (out / "model.safetensors").is_file()


def convert(source: Path, out: Path) -> Path:
    """The GGUF file `source` as a Hugging Face folder `out` (float32 weights, tokenizer, chat
    template); `out` appears whole or not at all, and an existing one is kept."""
    if is_converted(out):
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(source.parent), source.name
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True))
    model.save_pretrained(staging)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(staging)
    for path in staging.iterdir():  # safetensors writes 0600; a container's user must read it
        path.chmod(0o644)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out


def write_tokenizer(source: Path, out: Path) -> Path:
    """The tokenizer inside a GGUF file as a Hugging Face tokenizer folder (for vLLM's GGUF
    loader, `--tokenizer`); seconds, a few MB."""
    if (out / "tokenizer_config.json").is_file():
        return out
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer.save_pretrained(staging)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out

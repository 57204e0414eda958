"""GGUF files (llama.cpp's one-file format): recognising one, naming its converted copy, and
whether that copy exists. Read-only: the conversion is a launch step (launch/gguf_convert.py).
"""

from __future__ import annotations

from pathlib import Path

MAGIC = b"GGUF"  # the first four bytes of every GGUF file
SUFFIX = ".gguf"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")  # a HF tokenizer beside the file
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


def cache_key(path: Path) -> str:
    """Names the converted copy: the file's name, size and modification time, so the plan costs no
    read of a multi-GB file and a replaced file gets a fresh conversion."""
    import hashlib  # only for a GGUF, kept off the usual start

    stat = path.stat()
    text = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"{path.stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def is_converted(out: Path) -> bool:
    return (out / "config.json").is_file() and (out / "model.safetensors").is_file()


def has_tokenizer(out: Path) -> bool:
    return (out / "tokenizer_config.json").is_file()


def tokenizer_beside(path: Path) -> Path | None:
    """The folder of the GGUF file when it also holds a Hugging Face tokenizer."""
    folder = path.parent
    return folder if any((folder / name).is_file() for name in TOKENIZER_FILES) else None

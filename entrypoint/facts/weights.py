"""How many bytes the checkpoint's weights take on disk (read step: file sizes, no weights read)."""

from __future__ import annotations

import json
from pathlib import Path

INDEX = "model.safetensors.index.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def checkpoint_bytes(model_dir: Path) -> int | None:
    """`metadata.total_size` of the safetensors index, else the summed weight file sizes."""
    index = model_dir / INDEX
    if index.is_file():
        try:
            total = json.loads(index.read_text(encoding="utf-8"))["metadata"]["total_size"]
            if isinstance(total, (int, float)) and total > 0:
                return int(total)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a broken index: fall back to the file sizes
    for suffix in WEIGHT_SUFFIXES:  # one format only: repos often ship both
        files = [p for p in model_dir.glob(f"*{suffix}") if p.is_file()]
        # consolidated.safetensors (Mistral's own format) duplicates the HF shards beside it
        if len(files) > 1:
            files = [p for p in files if not p.name.startswith("consolidated")]
        if files:
            return sum(p.stat().st_size for p in files)
    return None

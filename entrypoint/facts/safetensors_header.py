"""Whether a safetensors file holds every byte its header describes (read step: headers only).

A safetensors file is an 8-byte little-endian header length, that many bytes of JSON naming each
tensor's `data_offsets` (counted from the end of the header), then the data. A file cut short by an
interrupted download or copy still has its header, so its size tells at once whether the data is
all there, without reading a weight. vLLM (the safetensors library) refuses any file whose size
differs from what its header describes; it finds out only when the engine loads it. An empty
file is not judged here: it has no header to contradict (a placeholder, or a copy not begun).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

LENGTH_BYTES = 8
MAX_HEADER_BYTES = 100_000_000  # the safetensors library refuses larger headers too


@dataclass(frozen=True)
class Mismatch:
    """A file whose size is not what its header says: `expected` None when the header itself is
    cut short or unreadable."""

    name: str
    size: int
    expected: int | None

    def says(self) -> str:
        if self.expected is None:
            return f"{self.name} ({self.size} bytes) has no complete safetensors header"
        return (f"{self.name} holds {self.size} bytes where its header describes "
                f"{self.expected}")


def described_size(handle, size: int) -> int | None:
    """The file size the header describes; None when the header is cut short or unreadable."""
    prefix = handle.read(LENGTH_BYTES)
    if len(prefix) < LENGTH_BYTES:
        return None
    (length,) = struct.unpack("<Q", prefix)
    if length > min(MAX_HEADER_BYTES, size - LENGTH_BYTES):
        return None
    try:
        header = json.loads(handle.read(length))
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and o >= 0 for o in offsets)):
            return None
        end = max(end, offsets[1])
    return LENGTH_BYTES + length + end


def mismatch(path: Path) -> Mismatch | None:
    """None when `path` is a complete safetensors file (or cannot be read: checked elsewhere)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            expected = described_size(handle, size)
    except OSError:
        return None
    if size == 0 or expected == size:
        return None
    return Mismatch(path.name, size, expected)


def mismatches(model_dir: Path, names: tuple[str, ...]) -> tuple[Mismatch, ...]:
    """The `*.safetensors` files among `names` whose size is not what their header says."""
    found = (mismatch(model_dir / name) for name in names if name.endswith(".safetensors"))
    return tuple(m for m in found if m is not None)

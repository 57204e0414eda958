"""Folders built for a start (a GGUF conversion, a merged adapter, a generated model): written
beside their place and renamed into it, so a half-built folder never sits where a later start
would take it for done."""

from __future__ import annotations

import shutil
from pathlib import Path


def staging_for(out: Path) -> Path:
    """An empty place to build `out` in (what a start that did not finish left is removed)."""
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def publish(staging: Path, out: Path, readable: bool = True) -> Path:
    """Put a finished build at `out`, all or nothing."""
    if readable:  # safetensors writes 0600; a container's other user must read it
        for path in staging.iterdir():
            path.chmod(0o644)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out

"""What launch does before vLLM starts, as data the plan lists (`--dry-run` shows each
`describe()`); `entrypoint.launch.steps.perform` carries them out, in plan order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from entrypoint.facts.gguf import FLOAT32_PER_GGUF_BYTE
from entrypoint.facts.hub import Missing

READERS = 8  # parallel readers of the page-cache warm-up


@dataclass(frozen=True)
class Download:
    """Fetch the rest of a hub snapshot (the weights) into the cache; resumes partial files."""

    missing: Missing  # what the read step found absent, pinned to the planned config's commit
    environ: Mapping[str, str] = field(repr=False)  # the hub's variables; holds HF_TOKEN

    def describe(self) -> str:
        m = self.missing
        size = f", {m.size / 2**20:.1f} MiB" if m.size else ""
        what = f"{m.files} file(s){size}" if m.files else "the missing files (weights)"
        return f"download {what} of {m.ref} from {m.ref.hub_name} into {m.cache}"


@dataclass(frozen=True)
class MergeLora:
    """Merge one LoRA adapter into its base with peft, into the cache (once per adapter)."""

    base: Path
    adapter: Path
    out: Path
    done: bool  # a merged copy of these very files is already there

    def describe(self) -> str:
        state = "reused, already merged" if self.done else "once"
        return f"merge LoRA {self.adapter} into {self.base} with peft -> {self.out} ({state})"


@dataclass(frozen=True)
class WarmPageCache:
    """Start a detached reader of the weight files and return at once."""

    files: tuple[str, ...]
    total_bytes: int
    readers: int = READERS

    def describe(self) -> str:
        return (f"read {len(self.files)} weight file(s) ({self.total_bytes / 2**30:.2f} GiB) into"
                f" the page cache with {self.readers} parallel readers, in the background")


@dataclass(frozen=True)
class ConvertGguf:
    """Convert a GGUF file into a float32 Hugging Face folder in the cache (once per file)."""

    source: Path
    out: Path
    gguf_bytes: int
    done: bool  # converted by an earlier start: reused

    def describe(self) -> str:
        if self.done:
            return f"convert GGUF {self.source} -> {self.out} (reused, already converted)"
        space = self.gguf_bytes * FLOAT32_PER_GGUF_BYTE / 2**30
        return (f"convert GGUF {self.source} into a Hugging Face folder {self.out} once with"
                f" transformers (float32, about {space:.1f} GiB on disk; about 40 s and 1.4 GB"
                f" of memory per 100 MB of GGUF on 2 cores)")


@dataclass(frozen=True)
class GgufTokenizer:
    """Write the tokenizer inside a GGUF file as a Hugging Face tokenizer folder (once)."""

    source: Path
    out: Path
    done: bool

    def describe(self) -> str:
        state = "reused" if self.done else "once"
        return f"write the tokenizer of GGUF {self.source} to {self.out} ({state})"


Step = Download | MergeLora | WarmPageCache | ConvertGguf | GgufTokenizer

"""Merging a LoRA adapter into its base with `peft` (a launch step; torch and peft load here only).

The merged model goes into the cache under a name made from the base and the adapter's files
(names, sizes, modification times), so a restart with the same adapter reuses it and a retrained
adapter gets a fresh merge. It is written to a staging folder and renamed: never half there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Files the merged folder needs besides the weights, copied from the adapter (tokenizer it was
# trained with) or else from the base.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                   "special_tokens_map.json", "chat_template.jinja", "generation_config.json")


def fingerprint(base: Path, adapter: Path) -> str:
    import hashlib  # only for an adapter with MERGE_LORA: kept off the usual start

    digest = hashlib.sha256(str(base.resolve()).encode())
    for folder in (adapter, base):
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class MergeLora:
    base: Path
    adapter: Path
    out: Path

    def describe(self) -> str:
        state = "reused, already merged" if (self.out / "config.json").is_file() else "once"
        return f"merge LoRA {self.adapter} into {self.base} with peft -> {self.out} ({state})"

    def run(self) -> None:
        if (self.out / "config.json").is_file():
            return
        print(f"run: {self.describe()}", flush=True)
        merge(self.base, self.adapter, self.out)


def merge(base: Path, adapter: Path, out: Path) -> Path:
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto", device_map="cpu",
                                                 low_cpu_mem_usage=True)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with torch.no_grad():
        merged.save_pretrained(staging, safe_serialization=True)
    for name in TOKENIZER_FILES:
        source = adapter / name if (adapter / name).is_file() else base / name
        if source.is_file():
            shutil.copyfile(source, staging / name)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out

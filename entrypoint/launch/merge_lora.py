"""Merging a LoRA adapter into its base with `peft` (a launch step; torch and peft load here only).

It is written to a staging folder and renamed: never half there (launch/folders.py).
"""

from __future__ import annotations

from pathlib import Path

from entrypoint.launch.folders import publish, staging_for

# Files the merged folder needs besides the weights, copied from the adapter (tokenizer it was
# trained with) or else from the base.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                   "special_tokens_map.json", "chat_template.jinja", "generation_config.json")


def merge(base: Path, adapter: Path, out: Path) -> Path:
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto", device_map="cpu",
                                                 low_cpu_mem_usage=True)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    staging = staging_for(out)
    with torch.no_grad():
        merged.save_pretrained(staging, safe_serialization=True)
    for name in TOKENIZER_FILES:
        source = adapter / name if (adapter / name).is_file() else base / name
        if source.is_file():
            shutil.copyfile(source, staging / name)
    return publish(staging, out, readable=False)

"""Build the tiny random-weight model that end-to-end tests start where only a shape matters.

A Llama-shaped model with random weights (2 layers, hidden 128, head_dim 64: the smallest the CPU
attention kernel accepts) and a real 32000-token sentencepiece tokenizer that ships inside
`mistral_common`, so nothing is downloaded. About 8 MB; builds in seconds.

Usage: python -m entrypoint.devtools.tiny_model OUT_DIR [--context N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from entrypoint.launch.folders import publish, staging_for

TOKENIZER_CONFIG = {
    "tokenizer_class": "LlamaTokenizer",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
}
# A ChatML-like template so chat requests work before the template catalog picks one.
DEMO_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def build_tokenizer(out: Path) -> None:
    import mistral_common
    from transformers import AutoTokenizer

    source = Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1"
    with tempfile.TemporaryDirectory() as staging:
        shutil.copy(source, Path(staging) / "tokenizer.model")
        (Path(staging) / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG))
        tokenizer = AutoTokenizer.from_pretrained(staging)
    tokenizer.chat_template = DEMO_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)


def build(out: Path, context: int = 2048, seed: int = 0) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    torch.manual_seed(seed)
    config = LlamaConfig(
        hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=64,
        vocab_size=32000, max_position_embeddings=context,
        bos_token_id=1, eos_token_id=2, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    staging = staging_for(out)
    model.save_pretrained(staging)
    build_tokenizer(staging)
    return publish(staging, out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args()
    print(build(args.out, args.context))

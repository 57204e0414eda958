"""Tiny models of real catalog architectures, one per family the e2e tests serve
(tests/e2e/test_families.py).

Each has its family's `config.json` architecture and model type at small sizes (2 layers,
hidden 128, head_dim 64: the smallest the CPU attention kernel takes), the family's chat and
tool tokens at the family's ids on the sentencepiece tokenizer that ships in `mistral_common`
(tests/tool_call_model.py), and the family's vocabulary size, so catalog stop ids are real
tokens. Tool families are trained the way tests/tool_call_model.py trains (the rows of the
tied embedding the reply uses, a few hundred CPU steps) to answer one prompt with a tool call
in the family's own format; the others keep random weights. Built once, cached under `.cache/`.

Usage: python -m tests.tiny_families NAME OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from entrypoint.catalogs.families import TEMPLATES_DIR
from tests import tool_call_model as base

TOOL_PROMPT = base.TOOL_PROMPT
WEATHER_TOOL = base.WEATHER_TOOL
LLAMA_DATE = "26 Jul 2024"  # rendered prompts must not depend on today's date
THINKING = "The user wants the weather."
VERSION = "v1"  # bump when the specs below change, so cached builds are not reused

LLAMA3_TOKENS = {
    "<|begin_of_text|>": (128000, True), "<|end_of_text|>": (128001, True),
    "<|start_header_id|>": (128006, True), "<|end_header_id|>": (128007, True),
    "<|eom_id|>": (128008, True), "<|eot_id|>": (128009, True),
    "<|python_tag|>": (128010, True),
}
QWEN3_TOKENS = {**base.QWEN_TOKENS, "<think>": (151667, False), "</think>": (151668, False)}
GLM4_TOKENS = {
    "<|endoftext|>": (151329, True), "[gMASK]": (151331, True), "<sop>": (151333, True),
    "<|system|>": (151335, True), "<|user|>": (151336, True), "<|assistant|>": (151337, True),
    "<|observation|>": (151338, True),
}
# GLM-4-0414's prompt shape (its tokenizer_config.json): [gMASK]<sop>, then <|role|>\n text.
GLM4_TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
# InternLM2's chat and tool tokens at its ids (chat/chat_format.md in InternLM/InternLM).
INTERNLM2_TOKENS = {
    "<|plugin|>": (92538, True), "<|interpreter|>": (92539, True), "<|action_end|>": (92540, True),
    "<|action_start|>": (92541, True), "<|im_end|>": (92542, True), "<|im_start|>": (92543, True),
}
# InternLM2's own template: ChatML turns after <s>; it writes no tools.
INTERNLM2_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] "
    "+ '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}")
# Mistral v3's control tokens; Mistral has them at 3..9, which the stand-in sentencepiece model
# uses for byte tokens, so they sit above its 32000 pieces (Mistral v0.3's vocabulary is 32768).
MISTRAL_TOKENS = {name: (32000 + i, True) for i, name in enumerate(
    ["[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
     "[TOOL_RESULTS]", "[/TOOL_RESULTS]"])}
# Mistral v0.3's own template without its tool branch: [INST] turns, answers closed by </s>.
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] "
    "+ '[/INST]' }}{% elif m['role'] == 'assistant' %}{{ ' ' + m['content'] + eos_token }}"
    "{% endif %}{% endfor %}")
SMALL = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 64,
         "max_position_embeddings": 2048, "tie_word_embeddings": True}


@dataclass(frozen=True)
class Family:
    """One tiny model: what `run` is told (MODEL_ID) and what the model dir holds."""

    name: str
    model_id: str
    config_class: str  # in transformers
    model_class: str
    config: dict
    tokens: dict[str, tuple[int, bool]]
    special: dict[str, str]  # bos/eos/pad token names of the tokenizer
    template: str  # the chat template the model ships (the catalog may replace it)
    eos_token_id: list[int]  # generation_config.json, as the family's release has it
    reply: str = ""  # the trained answer to TOOL_PROMPT, in the family's call format
    render: dict = field(default_factory=dict)  # template kwargs the server is sent too
    catalog_template: str = ""  # the catalog's template that replaces `template` when served


FAMILIES = {
    # Llama-3.1 Instruct: the catalog replaces the model's own template (Llama 3's here, which
    # has no tools) with its JSON tools one; the model learnt its call under the catalog's.
    "llama-3.1": Family(
        "llama-3.1", "meta-llama/Llama-3.1-8B-Instruct", "LlamaConfig", "LlamaForCausalLM",
        {**SMALL, "vocab_size": 128256, "bos_token_id": 128000, "eos_token_id": 128009,
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 1024}},
        LLAMA3_TOKENS, {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
        (TEMPLATES_DIR / "llama-3.jinja").read_text(), [128001, 128008, 128009],
        reply='{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>',
        render={"date_string": LLAMA_DATE}, catalog_template="llama-3.1-json-tools.jinja"),
    # Qwen3: hermes tool calls after a <think> block (qwen3 reasoning parser).
    "qwen3": Family(
        "qwen3", "Qwen/Qwen3-8B", "Qwen3Config", "Qwen3ForCausalLM",
        {**SMALL, "vocab_size": base.VOCAB_SIZE, "bos_token_id": 151643,
         "eos_token_id": 151645},
        QWEN3_TOKENS, {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
        base.CHATML_TEMPLATE.read_text(), [151645, 151643],
        reply=(f"<think>\n{THINKING}\n</think>\n\n<tool_call>\n"
               f"{json.dumps(base.TOOL_CALL)}\n</tool_call><|im_end|>")),
    # GLM-4 (0414): no tool parser in the catalog; random weights.
    "glm-4": Family(
        "glm-4", "THUDM/GLM-4-9B-0414", "Glm4Config", "Glm4ForCausalLM",
        {**SMALL, "vocab_size": 151552, "bos_token_id": None, "eos_token_id": 151329,
         "pad_token_id": 151329, "partial_rotary_factor": 0.5},
        GLM4_TOKENS, {"eos_token": "<|user|>", "pad_token": "<|endoftext|>"},
        GLM4_TEMPLATE, [151329, 151336, 151338]),
    # InternLM2 Chat: the catalog's tool template replaces the model's (which drops tools).
    # Llama's architecture: InternLM2's config class is the model's own code, not transformers';
    # what is tested is the template and parser `run` plans for the family (by MODEL_ID).
    "internlm2": Family(
        "internlm2", "internlm/internlm2_5-7b-chat", "LlamaConfig", "LlamaForCausalLM",
        {**SMALL, "vocab_size": 92544, "bos_token_id": 1, "eos_token_id": 2},
        INTERNLM2_TOKENS, {"bos_token": "<s>", "eos_token": "</s>"}, INTERNLM2_TEMPLATE,
        [2, 92542]),
    # Mistral Instruct v0.3 in Hugging Face format only: `run` pairs the mistral parser with
    # --tokenizer-mode hf and the catalog's Mistral tool template.
    "mistral": Family(
        "mistral", "mistralai/Mistral-7B-Instruct-v0.3", "MistralConfig", "MistralForCausalLM",
        {**SMALL, "vocab_size": 32768, "bos_token_id": 1, "eos_token_id": 2,
         "sliding_window": None},
        MISTRAL_TOKENS, {"bos_token": "<s>", "eos_token": "</s>"}, MISTRAL_TEMPLATE, [2]),
}


def generation_config(family: Family) -> dict:
    return {"eos_token_id": family.eos_token_id, "do_sample": False}


def build(name: str, out: Path, seed: int = 0) -> Path:
    import torch
    import transformers
    from transformers import AutoTokenizer

    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    family = FAMILIES[name]
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    config = getattr(transformers, family.config_class)(**family.config)
    config.save_pretrained(staging)
    base.build_tokenizer(staging, family.tokens, family.template, **family.special)
    model = getattr(transformers, family.model_class)(config)
    if family.reply:
        tokenizer = AutoTokenizer.from_pretrained(staging)  # exactly what vLLM will load
        template = {"chat_template": (TEMPLATES_DIR / family.catalog_template).read_text()
                    } if family.catalog_template else {}
        rows = base.training_rows(tokenizer, [(TOOL_PROMPT, family.reply)],
                                  tools=[WEATHER_TOOL], **family.render, **template)
        base.train(model, rows)
    model = model.to(torch.bfloat16)
    if family.reply:
        for ids, prompt_len in rows:
            if base.greedy_reply(model, ids, prompt_len) != ids[prompt_len:]:
                raise RuntimeError(f"the bf16 {name} model lost its reply")
    model.save_pretrained(staging)
    (staging / "generation_config.json").write_text(json.dumps(generation_config(family)))
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)  # all or nothing: a half-built model never sits at `out`
    return out


if __name__ == "__main__":
    print(build(sys.argv[1], Path(sys.argv[2])))

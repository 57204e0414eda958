"""The CPU build keeps a small float32 checkpoint in float32 (rules/exact_dtype.py)."""

from __future__ import annotations

import pytest

from tests.rules.builder import LLAMA_8B, derived

# SmolLM2-135M-Instruct as the converter writes it (the demo model).
SMOLLM2 = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
    "intermediate_size": 1536, "num_attention_heads": 9, "num_key_value_heads": 3,
    "head_dim": 64, "num_hidden_layers": 30, "vocab_size": 49152,
    "max_position_embeddings": 8192, "tie_word_embeddings": True, "dtype": "float32",
}


def dtype_of(**kwargs):
    return derived(gpus="none", **kwargs).decided["dtype"]


def test_the_demo_model_stays_float32_on_the_cpu_build_with_the_reason():
    decision = dtype_of(config=SMOLLM2, cpu_build=True)
    assert decision.value == "float32"
    assert "0.13B parameters" in decision.reason and "greedy answers" in decision.reason


@pytest.mark.parametrize("config, env, expected", [
    ({**SMOLLM2, "dtype": "bfloat16"}, {}, "bfloat16"),  # a bfloat16 checkpoint stays bfloat16
    ({**LLAMA_8B, "torch_dtype": "float32"}, {}, "bfloat16"),  # 8B: float32 would cost 30 GiB
    (SMOLLM2, {"DTYPE": "bfloat16"}, "bfloat16"),  # the user's choice wins
])
def test_bfloat16_where_float32_is_not_kept(config, env, expected):
    assert dtype_of(config=config, env=env, cpu_build=True).value == expected


def test_gpu_plans_are_unchanged():
    assert derived(config=SMOLLM2, gpus="1xA10").decided["dtype"].value == "bfloat16"

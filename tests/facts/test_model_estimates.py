"""Issue 22: the model read the way vLLM reads it, on published shapes (tests/model_configs.py).

Quantization declared outside config.json, vLLM's context rules per model type, per-layer KV
and parameters where layers differ, and config-only estimates next to published sizes.
"""

from __future__ import annotations

import pytest

from entrypoint.facts.model_dir import read_model_dir
from entrypoint.facts.model_params import estimated_params
from entrypoint.facts.model_shape import context_length, shape
from entrypoint.facts.quantized import declared
from entrypoint.rules.memory import GIB, estimate
from tests.conftest import write_model_dir
from tests.facts import estimates_table
from tests.model_configs import FILES, MODELS, PUBLISHED_CHECKPOINT_GIB, PUBLISHED_PARAMS


def facts(tmp_path, name, config=None, **files):
    files = {**FILES.get(name, {}), **files}
    return read_model_dir(write_model_dir(tmp_path / name, config or MODELS[name], **files))


# --- 1. quantization declared outside config.json ---------------------------------------------

def test_modelopt_checkpoint_is_read_from_hf_quant_config(tmp_path):
    model = facts(tmp_path, "Llama-3.1-70B-Instruct-FP8")
    assert (model.quantization.method, model.quantization.source) == (
        "modelopt", "hf_quant_config.json")
    assert model.quantization.bits == 8


def test_modelopt_weights_count_one_byte_each(tmp_path):
    """Config only: 70.6B parameters at 1 byte (embeddings 2), not 36B read as 2-byte weights."""
    est = estimate(facts(tmp_path, "Llama-3.1-70B-Instruct-FP8"), None, "bfloat16")
    published = PUBLISHED_CHECKPOINT_GIB["Llama-3.1-70B-Instruct-FP8"]
    assert est.weights_bytes / GIB == pytest.approx(published, rel=0.01)
    assert "70.55B parameters" in est.weights_how and "modelopt" in est.weights_how


@pytest.mark.parametrize("config, files, method, source", [
    ({"quantization_config": {"quant_method": "modelopt", "quant_algo": "NVFP4"}}, {},
     "modelopt_fp4", "config.json"),  # ModelOpt 0.31+ writes it into config.json
    ({}, {"hf_quant_config": {"producer": {"name": "modelopt"},
                              "quantization": {"quant_algo": "NVFP4", "group_size": 16}}},
     "modelopt_fp4", "hf_quant_config.json"),
    ({"quantization_config": {"quant_method": "compressed_tensors"}}, {}, "compressed-tensors",
     "config.json"),
    ({"compression_config": {"quant_method": "compressed-tensors"}}, {}, "compressed-tensors",
     "config.json compression_config"),
    ({"quantization_config": {"quant_method": "GPTQ", "bits": 4}}, {}, "gptq", "config.json"),
    ({"text_config": {"quantization_config": {"quant_method": "awq", "bits": 4}}}, {}, "awq",
     "config.json text_config"),
    # config.json wins over hf_quant_config.json, as in vLLM's get_config
    ({"quantization_config": {"quant_method": "fp8"}},
     {"hf_quant_config": {"producer": {"name": "modelopt"},
                          "quantization": {"quant_algo": "FP8"}}}, "fp8", "config.json"),
])
def test_quantization_variants_and_aliases(tmp_path, config, files, method, source):
    model = facts(tmp_path, "q", {**MODELS["Llama-3.1-8B-Instruct"], **config}, **files)
    assert (model.quantization.method, model.quantization.source) == (method, source)


def test_unquantized_checkpoint_declares_nothing():
    assert declared(MODELS["Llama-3.1-8B-Instruct"], {}) is None


# --- 2. context length as vLLM derives it ------------------------------------------------------

def test_gemma3_rope_factor_is_not_applied(tmp_path):
    length, how = context_length(facts(tmp_path, "medgemma-27b-it"))
    assert length == 131072  # not 1048576
    assert "not applied: vLLM counts it in for gemma3" in how


def test_other_models_apply_a_linear_rope_factor(tmp_path):
    config = {**MODELS["Qwen2.5-7B-Instruct"], "rope_scaling": {"factor": 2.0, "type": "linear"}}
    assert context_length(facts(tmp_path, "q", config))[0] == 65536


def test_tokenizer_model_max_length_caps_the_context(tmp_path):
    model = facts(tmp_path, "Llama-2-7b-chat-hf", tokenizer_config={"model_max_length": 2048})
    assert context_length(model) == (2048, "tokenizer_config.json model_max_length=2048")
    huge = facts(tmp_path / "b", "Llama-2-7b-chat-hf",
                 tokenizer_config={"model_max_length": 10**30})
    assert context_length(huge)[0] == 4096


# --- 3. layers that differ ---------------------------------------------------------------------

def test_decilm_kv_counts_attention_layers_only(tmp_path):
    dims = shape(facts(tmp_path, "Llama-3_3-Nemotron-Super-49B-v1"))
    assert len(dims.layer_kv_heads) == 49 and dims.kv_heads == 8
    assert dims.kv_bytes_per_token(2) == 49 * 2 * 8 * 128 * 2  # 196 KiB, not 2560 KiB
    assert dims.kv_bytes_per_token(2, tp=2) == 49 * 2 * 4 * 128 * 2


def test_decilm_parameters_per_block(tmp_path):
    params = estimated_params(facts(tmp_path, "Llama-3_3-Nemotron-Super-49B-v1"))
    assert params / 1e9 == pytest.approx(49.9, rel=0.01)


# --- 5. config-only estimates next to published sizes ------------------------------------------

@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_config_estimate_within_10_percent_of_published(tmp_path, name):
    params = estimated_params(facts(tmp_path, name))
    assert params / 1e9 == pytest.approx(PUBLISHED_PARAMS[name], rel=0.10)


def test_qwen1_intermediate_size_covers_both_halves(tmp_path):
    params = estimated_params(facts(tmp_path, "Qwen-7B-Chat"))
    assert params / 1e9 == pytest.approx(7.72, rel=0.01)  # not 12.0


def test_estimates_table_in_docs_is_fresh():
    text = estimates_table.SIZING_DOC.read_text()
    assert estimates_table.render(text) == text, "docs/sizing.md is stale: run `make docs`"

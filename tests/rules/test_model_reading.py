"""Issue 22 through the whole plan: published checkpoints whose plan disagreed with vLLM."""

from __future__ import annotations

import json
import re

import pytest

from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from entrypoint.rules.memory import GIB
from tests.conftest import write_model_dir
from tests.model_configs import FILES, MODELS, PUBLISHED_CHECKPOINT_GIB


def model_dir(tmp_path, name, checkpoint_gib=None):
    path = write_model_dir(tmp_path / name, MODELS[name], **FILES.get(name, {}))
    if checkpoint_gib:
        index = {"metadata": {"total_size": int(checkpoint_gib * GIB)}, "weight_map": {}}
        (path / "model.safetensors.index.json").write_text(json.dumps(index))
    return path


def plan(path, gpus, argv=(), env=None):
    made, _ = make_plan([str(path), "--dry-run", *argv], {"ASSUME_GPUS": gpus, **(env or {})})
    return made


def refusal(path, gpus, argv=(), env=None) -> str:
    with pytest.raises(UserError) as error:
        plan(path, gpus, argv, env)
    return str(error.value)


# --- 1. nvidia/Llama-3.1-70B-Instruct-FP8 (ModelOpt, hf_quant_config.json) on one L40S ----------

@pytest.fixture
def fp8_70b(tmp_path):
    return model_dir(tmp_path, "Llama-3.1-70B-Instruct-FP8",
                     PUBLISHED_CHECKPOINT_GIB["Llama-3.1-70B-Instruct-FP8"])


def test_modelopt_fp8_on_one_l40s_is_refused_without_a_quantization_advice(fp8_70b):
    text = refusal(fp8_70b, "1xL40S")
    assert text.startswith("The model does not fit: the weights alone need 67.7 GiB per GPU")
    assert "QUANTIZATION" not in text  # already FP8: quantizing again is no way out
    assert "at least 2 GPUs of this kind (TP=2)" in text


@pytest.mark.parametrize("argv, env", [((), {"QUANTIZATION": "fp8"}),
                                       (("--quantization", "fp8"), {})])
def test_following_the_old_advice_is_still_refused(fp8_70b, argv, env):
    """QUANTIZATION=fp8 on a ModelOpt FP8 checkpoint: vLLM loads it as modelopt anyway, 67.7 GiB
    against 40.5 GiB; the plan no longer exits 0."""
    assert refusal(fp8_70b, "1xL40S", argv, env).startswith("The model does not fit")


def test_modelopt_fp8_on_two_l40s_plans_modelopt(fp8_70b):
    made = plan(fp8_70b, "2xL40S", env={"QUANTIZATION": "fp8"})
    assert made.facts["checkpoint quantization"] == "modelopt (hf_quant_config.json)"
    assert made.facts["gate: quantization"] == "pass: modelopt on compute capability 8.9"
    assert made.settings["quantization"].value is None
    assert "vLLM reads it from hf_quant_config.json" in made.settings["quantization"].reason
    assert "--quantization" not in made.argv
    assert "checkpoint files (modelopt, read from hf_quant_config.json" in made.facts[
        "memory estimate"]
    assert made.facts["gate: memory"].startswith("pass")


def test_modelopt_fp8_without_weight_files_is_estimated_at_one_byte(tmp_path):
    text = refusal(model_dir(tmp_path, "Llama-3.1-70B-Instruct-FP8"), "1xL40S")
    assert "(weights 67.7 GiB" in text


# --- 2. medgemma-27b-it: vLLM's gemma3 rule ------------------------------------------------------

def test_gemma3_context_is_131072_and_named(tmp_path):
    made = plan(model_dir(tmp_path, "medgemma-27b-it"), "1xH100")
    reason = made.settings["max_model_len"].reason
    assert "supports 131072" in reason and "vLLM counts it in for gemma3" in reason


def test_gemma3_context_beyond_131072_is_refused(tmp_path):
    text = refusal(model_dir(tmp_path, "medgemma-27b-it"), "8xH100",
                   env={"MAX_MODEL_LEN": "262144"})
    assert text.startswith("MAX_MODEL_LEN=262144 is longer than the model's context 131072")
    assert "gemma3" in text


# --- 3. Nemotron-Super-49B: attention in 49 of 80 layers -----------------------------------------

def test_nemotron_super_at_64k_fits_two_h100(tmp_path):
    made = plan(model_dir(tmp_path, "Llama-3_3-Nemotron-Super-49B-v1"), "2xH100",
                env={"MAX_MODEL_LEN": "65536"})
    gate = made.facts["gate: memory"]
    per_gpu = float(re.match(r"pass: ([\d.]+) GiB per GPU", gate).group(1))
    assert 52 < per_gpu < 56  # ~54 GiB, not 127.5
    assert "KV cache 196 KiB per token" in made.facts["memory estimate"]


def test_nemotron_super_without_weight_files_gets_a_memory_check(tmp_path):
    text = refusal(model_dir(tmp_path, "Llama-3_3-Nemotron-Super-49B-v1"), "1xA100-80GB")
    assert text.startswith("The model does not fit: the weights alone need 92.9 GiB per GPU")


# --- 4. families by model_type first -------------------------------------------------------------

def flag(made, option):
    return made.argv[made.argv.index(option) + 1] if option in made.argv else None


def test_kimi_k2_gets_the_kimi_k2_parser(tmp_path):
    # planned for no GPU: its 958 GiB of FP8 weights need 16 H100s (a cluster)
    made = plan(model_dir(tmp_path, "Kimi-K2-Instruct"), "none")
    assert made.settings["conv_template"].value == "kimi-k2"
    assert "model_type kimi_k2" in made.settings["conv_template"].reason
    assert flag(made, "--tool-call-parser") == "kimi_k2"


def test_chatglm2_is_not_announced_as_glm4(tmp_path):
    made = plan(model_dir(tmp_path, "chatglm2-6b"), "1xA10")
    assert made.settings["conv_template"].value is None
    assert not any("GLM-4" in warning for warning in made.warnings)
    assert "--chat-template" not in made.argv


def test_glm4_9b_chat_is_still_glm4(tmp_path):
    made = plan(model_dir(tmp_path, "glm-4-9b-chat"), "1xA100-80GB")
    assert made.settings["conv_template"].value == "glm-4"
    assert "model_type chatglm" in made.settings["conv_template"].reason

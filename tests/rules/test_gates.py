"""Capability gates: GPU generation vs image, quantization vs GPU, quantization vs checkpoint."""

import pytest

from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from tests.conftest import run_cli, write_model_dir
from tests.model_configs import MODELS
from tests.rules.test_bad_input import assert_refused


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gates")
    return {name: write_model_dir(root / name, MODELS[name]) for name in (
        "Llama-3.2-3B-Instruct", "Qwen2.5-7B-Instruct", "Qwen2.5-7B-Instruct-GPTQ-Int4",
        "Llama-2-7B-Chat-AWQ")}


def plan(model_dir, gpus, argv=(), env=None):
    made, _ = make_plan([str(model_dir), "--dry-run", *argv], {"ASSUME_GPUS": gpus, **(env or {})})
    return made


def refusal(model_dir, gpus, argv=(), env=None) -> str:
    with pytest.raises(UserError) as error:
        plan(model_dir, gpus, argv, env)
    assert "\n" not in str(error.value)
    return str(error.value)


# --- GPU generation vs image ---

def test_v100_in_default_image_names_the_variant(dirs):
    text = refusal(dirs["Llama-3.2-3B-Instruct"], "2xV100")
    assert text == ("V100-32GB has compute capability 7.0, but this image's vLLM (CUDA 13) has "
                    "kernels for 7.5 and newer only; run the V100 image variant (built from "
                    "image/Dockerfile.v100) on this GPU.")


def test_v100_variant_gets_v100_defaults(dirs):
    made = plan(dirs["Llama-3.2-3B-Instruct"], "2xV100", env={"RUN_IMAGE_VARIANT": "v100"})
    settings = made.settings
    assert settings["dtype"].value == "float16"
    assert settings["enable_prefix_caching"].value is False
    assert "V100 generation" in settings["enable_prefix_caching"].reason
    assert "--no-enable-prefix-caching" in made.argv
    assert made.facts["gate: GPU generation"] == "pass: compute capability 7.0 >= 7.0 (v100 image)"


def test_prefix_caching_asked_on_v100_is_turned_off(dirs):
    made = plan(dirs["Llama-3.2-3B-Instruct"], "1xV100-16GB",
                env={"RUN_IMAGE_VARIANT": "v100", "ENABLE_PREFIX_CACHING": "true"})
    assert made.settings["enable_prefix_caching"].value is False
    assert any("ENABLE_PREFIX_CACHING=true turned off" in w for w in made.warnings)


def test_pascal_is_refused_everywhere(dirs):
    text = refusal(dirs["Llama-3.2-3B-Instruct"], "1xP100", env={"RUN_IMAGE_VARIANT": "v100"})
    assert "compute capability 6.0; vLLM needs 7.0 or newer" in text


def test_v100_variant_on_newer_gpu_warns(dirs):
    made = plan(dirs["Llama-3.2-3B-Instruct"], "1xA10", env={"RUN_IMAGE_VARIANT": "v100"})
    assert any("default image runs faster" in w for w in made.warnings)
    assert made.settings["enable_prefix_caching"].value is True


def test_refusal_through_the_cli(dirs):
    result = run_cli("--dry-run", str(dirs["Llama-3.2-3B-Instruct"]), "--assume-gpus", "1xV100")
    assert_refused(result, "V100 image variant", "Dockerfile.v100")


# --- QUANTIZATION vs GPU ---

def test_fp8_on_ada_and_hopper_is_w8a8(dirs):
    for gpus in ("1xL20", "1xH100"):
        made = plan(dirs["Qwen2.5-7B-Instruct"], gpus, env={"QUANTIZATION": "fp8"})
        assert not any("weight" in w for w in made.warnings)
        assert made.facts["gate: quantization"].startswith("pass: fp8")


@pytest.mark.parametrize("gpus, capability", [("1xT4", "7.5"), ("1xA10", "8.6"),
                                               ("1xA100-80GB", "8.0")])
def test_fp8_below_8_9_is_weight_only(dirs, gpus, capability):
    made = plan(dirs["Qwen2.5-7B-Instruct"], gpus, ["--quantization", "fp8"])
    assert made.settings["quantization"].value == "fp8_per_tensor"  # 0.33's name for it
    assert any(f"(compute capability {capability}) quantizes the weights only (W8A16): weight "
               "memory halves but compute does not speed up" in w for w in made.warnings)
    assert made.facts["gate: quantization"].startswith("pass, weight-only")


@pytest.mark.parametrize("method", ["fp8", "ifq"])
def test_8bit_online_refused_on_v100_variant_names_what_runs_there(dirs, method):
    """Current vLLM quantizes 8-bit weights in flight through FP8 Marlin only (7.5 and newer);
    bitsandbytes (vLLM's get_min_capability 70) is what a V100 has."""
    text = refusal(dirs["Llama-3.2-3B-Instruct"], "1xV100", env={
        "RUN_IMAGE_VARIANT": "v100", "QUANTIZATION": method})
    assert text == (f"QUANTIZATION={method} needs compute capability 7.5 or newer, but V100-32GB "
                    "has 7.0; use ifq_nf4 or bitsandbytes instead, or unset it.")


@pytest.mark.parametrize("gpus", ["1xT4", "1xV100"])
def test_nf4_runs_where_bitsandbytes_runs(dirs, gpus):
    made = plan(dirs["Qwen2.5-7B-Instruct"], gpus, ["-q", "ifq_nf4"],
                env={"RUN_IMAGE_VARIANT": "v100"} if "V100" in gpus else None)
    assert made.settings["quantization"].value == "bitsandbytes"
    assert made.facts["gate: quantization"].startswith("pass: ifq_nf4")


def test_refusal_suggests_the_names_this_gpu_runs(dirs):
    text = refusal(dirs["Qwen2.5-7B-Instruct"], "1xT4", ["-q", "mxfp4"])
    assert text.endswith("needs compute capability 8.0 or newer, but T4 has 7.5; use fp8 or ifq "
                         "or ifq_nf4 or bitsandbytes instead, or unset it.")


def test_fp8_per_channel_needs_fp8_hardware(dirs):
    text = refusal(dirs["Qwen2.5-7B-Instruct"], "1xA100-80GB",
                   env={"QUANTIZATION": "fp8_per_channel"})
    assert "needs compute capability 8.9 or newer, but A100-80GB has 8.0" in text


def test_quantization_not_checked_without_gpu(dirs):
    made = plan(dirs["Qwen2.5-7B-Instruct"], "none", env={"QUANTIZATION": "ifq_nf4"})
    assert made.facts["gate: quantization"] == "not checked: no GPU"


# --- QUANTIZATION vs an already quantized checkpoint ---

def test_online_quantization_from_env_is_dropped(dirs):
    made = plan(dirs["Qwen2.5-7B-Instruct-GPTQ-Int4"], "1xA10", env={"QUANTIZATION": "fp8"})
    assert made.settings["quantization"].value is None
    assert "--quantization" not in made.argv
    assert any("QUANTIZATION=fp8 ignored: the checkpoint is already quantized (gptq" in w
               for w in made.warnings)
    assert made.facts["checkpoint quantization"] == "gptq (config.json)"


def test_online_quantization_from_cli_exits(dirs):
    text = refusal(dirs["Llama-2-7B-Chat-AWQ"], "1xA10", ["--quantization", "fp8"])
    assert text == ("--quantization=fp8 cannot be applied: the checkpoint is already quantized "
                    "(awq, declared in config.json) and vLLM refuses a second method; "
                    "remove --quantization.")


def test_matching_method_is_left_to_vllm(dirs):
    made = plan(dirs["Qwen2.5-7B-Instruct-GPTQ-Int4"], "1xA10", env={"QUANTIZATION": "gptq"})
    assert made.settings["quantization"].value is None
    assert "vLLM reads it from config.json" in made.settings["quantization"].reason
    made = plan(dirs["Qwen2.5-7B-Instruct-GPTQ-Int4"], "1xA10", ["-q", "gptq_marlin"])
    assert made.argv[made.argv.index("--quantization") + 1] == "gptq_marlin"


def test_prequantized_checkpoint_alone_is_gated(dirs):
    text = refusal(dirs["Llama-2-7B-Chat-AWQ"], "1xV100", env={"RUN_IMAGE_VARIANT": "v100"})
    assert text == ("The checkpoint's awq quantization (declared in config.json) needs compute "
                    "capability 7.5 or newer, but V100-32GB has 7.0; deploy an unquantized "
                    "checkpoint or a newer GPU.")
    assert plan(dirs["Llama-2-7B-Chat-AWQ"], "1xT4").facts["gate: quantization"] == (
        "pass: awq on compute capability 7.5")

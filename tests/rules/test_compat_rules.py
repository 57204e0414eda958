"""Quantization names of the replaced image, Triton's model.json, and the legacy-client shapes."""

from __future__ import annotations

import json

import pytest

from entrypoint import cli
from entrypoint.errors import UserError
from entrypoint.facts.hardware import NO_GPU
from entrypoint.rules import quantization
from entrypoint.serve import legacy_clients, triton_generate
from entrypoint.settings import vllm_options
from tests.conftest import LLAMA_8B, write_model_dir
from tests.launch.test_compat_launch import A100, L20, OPTIONS_033, T4, V100, value_of


@pytest.fixture(autouse=True)
def on_033(monkeypatch):
    monkeypatch.setattr(vllm_options, "load", lambda: OPTIONS_033)


def plan(model_dir, argv=(), inventory=NO_GPU, env=None):
    made, _ = cli.make_plan([str(model_dir), *argv], env or {}, inventory=inventory)
    return made


# --- quantization ---------------------------------------------------------------------------

@pytest.mark.parametrize("inventory", [T4, A100, L20], ids=["T4", "A100", "L20"])
def test_fp8_emits_current_name(llama_dir, inventory):
    made = plan(llama_dir, ["--quantization", "fp8"], inventory)
    assert value_of(made.argv, "--quantization") == "fp8_per_tensor"
    assert any("passed to vLLM as fp8_per_tensor" in w for w in made.warnings)


def test_fp8_kept_on_a_vllm_without_the_new_name(llama_dir, monkeypatch):
    older = vllm_options.VllmOptions("0.20.0", "test", OPTIONS_033.kinds)
    monkeypatch.setattr(vllm_options, "load", lambda: older)
    made = plan(llama_dir, ["--quantization", "fp8"], L20)
    assert value_of(made.argv, "--quantization") == "fp8"


@pytest.mark.parametrize("inventory", [T4, A100, L20], ids=["T4", "A100", "L20"])
def test_ifq_maps_to_8bit_weights_with_a_note(llama_dir, inventory):
    made = plan(llama_dir, [], inventory, env={"QUANTIZATION": "ifq"})
    assert value_of(made.argv, "--quantization") == "fp8_per_tensor"
    note = next(w for w in made.warnings if w.startswith("QUANTIZATION=ifq"))
    assert "W8A16" in note and "8.9" in note


def test_ifq_refused_below_turing(llama_dir):
    with pytest.raises(UserError, match="compute capability 7.5 or newer.*has 7.0"):
        plan(llama_dir, [], V100, env={"QUANTIZATION": "ifq", "RUN_IMAGE_VARIANT": "v100"})


def test_ifq_nf4_forces_float16(llama_dir):
    made = plan(llama_dir, ["--quantization", "ifq_nf4"], A100)
    assert value_of(made.argv, "--quantization") == "bitsandbytes"
    assert value_of(made.argv, "--dtype") == "float16"
    assert "ifq_nf4" in made.settings["dtype"].reason


@pytest.mark.parametrize("dtype", ["half", "float16", "auto"])
def test_ifq_nf4_accepts_float16_words(llama_dir, dtype):
    made = plan(llama_dir, ["--quantization", "ifq_nf4", "--dtype", dtype], A100)
    assert value_of(made.argv, "--dtype") in ("float16", "half")


def test_ifq_nf4_with_bfloat16_changed_with_warning(llama_dir):
    made = plan(llama_dir, ["--dtype", "bfloat16"], A100, env={"QUANTIZATION": "ifq_nf4"})
    assert value_of(made.argv, "--dtype") == "float16"
    assert any("--dtype=bfloat16 changed to float16" in w for w in made.warnings)


def test_other_methods_pass_unchanged(tmp_path):
    awq = write_model_dir(tmp_path / "awq", {**LLAMA_8B, "quantization_config": {
        "quant_method": "awq", "bits": 4, "group_size": 128}})
    made = plan(awq, ["--quantization", "awq_marlin"], A100)
    assert value_of(made.argv, "--quantization") == "awq_marlin"


def test_version_tuple():
    assert quantization.version_tuple("0.32.0+cpu") == (0, 32, 0)
    assert quantization.version_tuple("0.26.0") < quantization.version_tuple("0.33.0")


# --- Triton model.json -------------------------------------------------------------------------

TRITON_ARGS = {"model": "facebook/opt-125m", "disable_log_requests": "true",
               "gpu_memory_utilization": 0.5, "enforce_eager": "true", "max_num_seqs": 16,
               "enable_prefix_caching": "false"}


def test_model_json_in_model_dir(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B, model=TRITON_ARGS)
    made = plan(model)
    assert made.settings["gpu_memory_utilization"].value == 0.5
    assert made.settings["gpu_memory_utilization"].source == "file"
    assert made.settings["enforce_eager"].value is True  # the string "true"
    assert "--no-enable-prefix-caching" in made.argv  # the string "false"
    assert value_of(made.argv, "--max-num-seqs") == "16"
    assert made.settings["model"].value == str(model)  # the directory is the model
    assert any("facebook/opt-125m" in w and "not used" in w for w in made.warnings)


def test_model_json_ranks_below_env_and_flags(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B, model=TRITON_ARGS)
    made = plan(model, ["--max-num-seqs", "4"], env={"GPU_MEMORY_UTILIZATION": "0.7"})
    assert made.settings["gpu_memory_utilization"].value == 0.7
    assert made.argv.count("--max-num-seqs") == 1 and value_of(made.argv, "--max-num-seqs") == "4"


def test_model_json_given_by_flag_names_the_model(tmp_path, llama_dir):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"model": str(llama_dir), "enforce_eager": True}))
    made, _ = cli.make_plan(["--triton-model-json", str(path)], {}, inventory=NO_GPU)
    assert made.settings["model"].value == str(llama_dir)
    assert made.settings["enforce_eager"].source == "file"


def test_model_json_legacy_key_is_translated(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B,
                            model={"use_v2_block_manager": "true", "swap_space": 4})
    made = plan(model)
    assert "--swap-space" not in made.argv
    assert any("--swap-space" in w and "dropped" in w for w in made.warnings)


def test_model_json_unknown_key(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B, model={"max_num_seqz": 4})
    with pytest.raises(UserError, match='"max_num_seqz" is not an engine argument'):
        plan(model)


def test_model_json_missing_file(llama_dir, tmp_path):
    with pytest.raises(UserError, match="TRITON_MODEL_JSON=.* is not a file"):
        plan(llama_dir, env={"TRITON_MODEL_JSON": str(tmp_path / "absent.json")})


# --- legacy clients: the middleware's pure parts and its switch ---------------------------------

def test_middleware_on_by_default_and_off_by_setting(llama_dir):
    assert "entrypoint.serve.legacy_clients.LegacyClients" in plan(llama_dir).argv
    off = plan(llama_dir, env={"LEGACY_CLIENTS": "false"}).argv
    assert "entrypoint.serve.legacy_clients.LegacyClients" not in off  # (the watch stays)


@pytest.mark.parametrize("old, key, value", [
    ({"guided_json": {"type": "object"}}, "json", {"type": "object"}),
    ({"guided_json": '{"type": "object"}'}, "json", {"type": "object"}),
    ({"guided_regex": "[a-z]+"}, "regex", "[a-z]+"),
    ({"guided_choice": ["a", "b"]}, "choice", ["a", "b"]),
    ({"guided_grammar": "root ::= \"x\""}, "grammar", "root ::= \"x\""),
])
def test_guided_fields_translated(old, key, value):
    fresh = legacy_clients.translate_guided({"model": "m", **old, "guided_decoding_backend": "x"})
    assert fresh == {"model": "m", "structured_outputs": {key: value}}


def test_requests_without_guided_fields_untouched():
    body = {"model": "m", "messages": []}
    assert legacy_clients.translate_guided(body) is body


def test_current_structured_outputs_win():
    fresh = legacy_clients.translate_guided({"guided_regex": "x",
                                          "structured_outputs": {"regex": "y"}})
    assert fresh == {"structured_outputs": {"regex": "y"}}


def test_triton_request_as_chat():
    chat = triton_generate.triton_to_chat(
        {"prompt": "Hi", "sampling_parameters": '{"temperature": 0, "max_tokens": 5, '
                                                '"exclude_input_in_output": true}'}, False)
    assert chat == {"temperature": 0, "max_tokens": 5, "stream": False,
                    "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": "Hi", "sampling_parameters": "{bad"}, "not valid JSON"),
    ({"prompt": "Hi", "sampling_parameters": "3"}, "must be a JSON object"),
    ({"prompt": 3}, "must be a string"),
    ([1], "JSON object"),
])
def test_triton_bad_requests(body, fragment):
    with pytest.raises(triton_generate.BadRequest, match=fragment):
        triton_generate.triton_to_chat(body, False)

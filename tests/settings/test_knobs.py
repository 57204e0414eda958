"""Settings: every knob parses, validates, takes the right precedence and reaches the plan."""

import json

import pytest

from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from entrypoint.facts.hardware import NO_GPU
from entrypoint.settings.given import misspelled_env, read_given
from entrypoint.settings.knobs import KNOBS
from tests.conftest import run_cli


def plan_for(model_dir, argv=(), env=None):
    plan, _ = make_plan([str(model_dir), *argv], env or {}, inventory=NO_GPU)
    return plan


@pytest.mark.parametrize("env, name, expected", [
    ({"QUANTIZATION": "fp8"}, "quantization", "fp8"),
    ({"MAX_MODEL_LEN": "4096"}, "max_model_len", 4096),
    ({"MAX_MODEL_LEN": "32k"}, "max_model_len", 32000),
    ({"MAX_MODEL_LEN": "32K"}, "max_model_len", 32768),
    ({"DTYPE": "float16"}, "dtype", "float16"),
    ({"ENABLE_PREFIX_CACHING": "off"}, "enable_prefix_caching", False),
    ({"TP": "4"}, "tensor_parallel_size", 4),
    ({"TRUST_REMOTE_CODE": "No"}, "trust_remote_code", False),
    ({"GPU_MEMORY_UTILIZATION": "0.8"}, "gpu_memory_utilization", 0.8),
    ({"ENFORCE_EAGER": "TRUE"}, "enforce_eager", True),
    ({"USE_LOOKAHEAD": "1"}, "use_lookahead", True),
    ({"NUM_SPECULATIVE_TOKENS": "4"}, "num_speculative_tokens", 4),
    ({"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"}, "model_id", "Qwen/Qwen2.5-7B-Instruct"),
    ({"CONV_TEMPLATE": "qwen"}, "conv_template", "qwen"),
    ({"DISABLE_MEM_CACHE": "yes"}, "disable_mem_cache", True),
    ({"MODEL": "/x"}, "model", "/x"),
])
def test_each_env_variable_parses(env, name, expected):
    given = read_given(env, {}, {})
    assert given[name].value == expected
    assert given[name].source == "env"


@pytest.mark.parametrize("word, expected", [
    ("true", True), ("FALSE", False), ("1", True), ("0", False), ("Yes", True), ("no", False),
    ("ON", True), ("off", False),
])
def test_boolean_words_any_case(word, expected):
    assert read_given({"ENFORCE_EAGER": word}, {}, {})["enforce_eager"].value is expected


@pytest.mark.parametrize("env, fragment", [
    ({"ENFORCE_EAGER": "maybe"}, "ENFORCE_EAGER='maybe' is not valid: use true/false"),
    ({"MAX_MODEL_LEN": "lots"}, "MAX_MODEL_LEN='lots' is not valid: expected a whole number"),
    ({"MAX_MODEL_LEN": "-5"}, "MAX_MODEL_LEN='-5' is not valid"),
    ({"TP": "two"}, "TP='two' is not valid"),
    ({"TP": "0"}, "TP='0' is not valid"),
    ({"GPU_MEMORY_UTILIZATION": "1.5"}, "GPU_MEMORY_UTILIZATION='1.5' is not valid"),
    ({"DTYPE": "fp7"}, "DTYPE='fp7' is not valid"),
])
def test_bad_values_name_the_variable(env, fragment):
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
        read_given(env, {}, {})


def test_cli_beats_env(llama_dir):
    plan = plan_for(llama_dir, ["--max-model-len", "2048"], {"MAX_MODEL_LEN": "4096"})
    assert plan.settings["max_model_len"].value == 2048
    assert plan.settings["max_model_len"].source == "cli"


def test_env_beats_derived(llama_dir):
    plan = plan_for(llama_dir, env={"MAX_MODEL_LEN": "4096"})
    assert plan.settings["max_model_len"].value == 4096
    assert plan.settings["max_model_len"].source == "env"
    assert plan.settings["max_model_len"].reason == "set by MAX_MODEL_LEN"


def test_derived_beats_default(llama_dir):
    tp = plan_for(llama_dir).settings["tensor_parallel_size"]
    assert (tp.value, tp.source) == (1, "hardware")


def test_defaults(llama_dir):
    settings = plan_for(llama_dir).settings
    expected = {"port": 8501, "enable_prefix_caching": True, "trust_remote_code": True,
                "gpu_memory_utilization": 0.9, "enforce_eager": False, "use_lookahead": False,
                "num_speculative_tokens": 6, "disable_mem_cache": False, "quantization": None}
    for name, value in expected.items():
        assert settings[name].value == value, name
        assert settings[name].source == "default", name


def test_every_vllm_knob_reaches_argv(llama_dir):
    plan = plan_for(llama_dir, ["--quantization", "fp8_per_tensor", "--dtype", "float16",
                                "-tp", "2",
                                "--max-model-len", "4096", "--gpu-memory-utilization", "0.8",
                                "--enforce-eager", "--no-enable-prefix-caching",
                                "--no-trust-remote-code", "--port", "9000"])
    argv = plan.argv
    for flag, value in [("--quantization", "fp8_per_tensor"), ("--dtype", "float16"),
                        ("--tensor-parallel-size", "2"), ("--max-model-len", "4096"),
                        ("--gpu-memory-utilization", "0.8"), ("--port", "9000")]:
        assert argv[argv.index(flag) + 1] == value
    for flag in ("--enforce-eager", "--no-enable-prefix-caching", "--no-trust-remote-code"):
        assert flag in argv
    assert argv[argv.index(str(llama_dir)) - 1] in ("serve", "entrypoint.serve.vllm_serve")


def test_run_only_knobs_stay_out_of_argv(llama_dir):
    plan = plan_for(llama_dir, env={"MODEL_ID": "x", "CONV_TEMPLATE": "qwen",
                                    "DISABLE_MEM_CACHE": "1"})
    assert not any(a.startswith(("--model-id", "--conv-template", "--disable-mem-cache"))
                   for a in plan.argv)


def test_misspelled_env_warns():
    warnings = misspelled_env({"MAX_MODLE_LEN": "1", "QUANTISATION": "fp8", "HOME": "/root",
                               "PATH": "/bin", "VLLM_LOGGING_LEVEL": "INFO"})
    assert warnings == [
        "Environment variable MAX_MODLE_LEN is not used; did you mean MAX_MODEL_LEN?",
        "Environment variable QUANTISATION is not used; did you mean QUANTIZATION?",
    ]


def test_misspelled_env_in_plan(llama_dir):
    plan = plan_for(llama_dir, env={"MAX_MODLE_LEN": "4096"})
    assert any("did you mean MAX_MODEL_LEN" in w for w in plan.warnings)


def test_every_knob_is_documented_in_readme():
    from entrypoint.devtools import docs

    readme = docs.README.read_text()
    assert docs.render_readme(readme) == readme, "README settings table is stale: make docs"
    for knob in KNOBS.values():
        assert (knob.env or knob.flag) in readme


def test_dry_run_json_shape(llama_dir):
    result = run_cli("--dry-run", "--json", str(llama_dir), "--served-model-name", "m1",
                     env={"MAX_MODEL_LEN": "4096", "HF_TOKEN": "hf_secret_value"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"argv", "env", "settings", "warnings"}
    assert data["settings"]["max_model_len"] == {"value": 4096, "source": "env",
                                                 "reason": "set by MAX_MODEL_LEN"}
    assert data["argv"][data["argv"].index("--served-model-name") + 1] == "m1"
    assert "hf_secret_value" not in result.stdout + result.stderr


def test_dry_run_text_lists_command_and_sources(llama_dir):
    result = run_cli("--dry-run", str(llama_dir))
    assert result.returncode == 0, result.stderr
    assert "Command:" in result.stdout and "--max-model-len" in result.stdout
    assert "tensor_parallel_size" in result.stdout and "hardware" in result.stdout

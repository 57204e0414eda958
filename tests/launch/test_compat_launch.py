"""Launch commands written for the replaced platform image: each plans a valid vLLM 0.33 command.

The commands come from the platform's documentation and its users' posts; each is planned on the
GPUs it was written for, against vLLM 0.33's option table, and every emitted flag is checked
against the option strings vLLM 0.33 registers.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from entrypoint import cli
from entrypoint.facts.hardware import Gpu, Inventory
from entrypoint.settings import vllm_options
from tests.conftest import run_cli

# Every option string `vllm serve` 0.33 registers (copied from the shared reference).
REFERENCE = Path(__file__).parent.parent / "data" / "vllm_serve_option_strings_0.33.json"
OPTIONS_033 = vllm_options.VllmOptions(
    "0.33.0", "vLLM 0.33.0 table (test)",
    vllm_options._read(vllm_options._table_path(vllm_options.DATA_DIR, "0.33.0")))
GIB = 2**30


def accepted_by_033() -> set[str]:
    return set(json.loads(REFERENCE.read_text()))


def gpus(name: str, capability: tuple[int, int], memory_gib: int, count: int = 1) -> Inventory:
    return Inventory(tuple(Gpu(name, capability, memory_gib * GIB) for _ in range(count)),
                     "assumed")


L20 = gpus("NVIDIA L20", (8, 9), 48)
A100 = gpus("NVIDIA A100-SXM4-80GB", (8, 0), 80)
RTX4090_X2 = gpus("NVIDIA GeForce RTX 4090", (8, 9), 24, count=2)
T4 = gpus("Tesla T4", (7, 5), 16)
V100 = gpus("Tesla V100-SXM2-32GB", (7, 0), 32)


@pytest.fixture
def on_033(monkeypatch):
    """Plan as the GPU image would: vLLM 0.33's option table."""
    monkeypatch.setattr(vllm_options, "load", lambda: OPTIONS_033)


def plan(model_dir, argv, inventory, env=None):
    made, _ = cli.make_plan([str(model_dir), *argv], env or {}, inventory=inventory)
    return made


def assert_valid_033(argv: list[str], model_dir) -> None:
    accepted = accepted_by_033()
    tail = argv[argv.index(str(model_dir)) + 1:]
    flags = [token for token in tail if token.startswith("-") and not token[1:2].isdigit()]
    assert flags, argv
    assert [f for f in flags if f not in accepted] == [], argv
    assert len(set(flags) - {"--middleware"}) == len([f for f in flags if f != "--middleware"]), \
        f"duplicate flags in {argv}"


def value_of(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def spec_config(argv: list[str]) -> dict:
    return json.loads(value_of(argv, "--speculative-config"))


def test_ifq_nf4_eager_a100(on_033, llama_dir):
    made = plan(llama_dir, shlex.split("--quantization ifq_nf4 --enforce-eager "
                                       "--gpu-memory-utilization 0.95 --max-model-len 2048"),
                A100)
    assert_valid_033(made.argv, llama_dir)
    assert value_of(made.argv, "--quantization") == "bitsandbytes"
    assert value_of(made.argv, "--dtype") == "float16"
    assert value_of(made.argv, "--max-model-len") == "2048"
    assert any("ifq_nf4" in w and "bitsandbytes" in w for w in made.warnings)


def test_fp8_lookahead_api_keys_l20(on_033, llama_dir):
    made = plan(llama_dir, shlex.split("--dtype auto --quantization fp8 --use-lookahead "
                                       "--num-speculative-tokens 4 --max-model-len 32768 "
                                       "--enable-prefix-caching --disable-log-requests "
                                       "--api-keys mock_api_key --served-model-name model_123"),
                L20)
    assert_valid_033(made.argv, llama_dir)
    assert value_of(made.argv, "--quantization") == "fp8_per_tensor"
    assert spec_config(made.argv) == {"method": "ngram", "num_speculative_tokens": 4,
                                      "prompt_lookup_max": 4, "prompt_lookup_min": 2}
    assert "mock_api_key" not in json.dumps(made.to_json())
    assert made.settings["api_keys"].value == "mock_api_key"
    assert value_of(made.argv, "--served-model-name") == "model_123"


def test_tp2_fp8_multi_step_rtx4090(on_033, llama_dir):
    made = plan(llama_dir, shlex.split("--port 8501 -tp 2 --quantization fp8 --max-model-len 32768 "
                                       "--enable-prefix-caching --disable-log-requests "
                                       "--served-model-name model_123 --num-scheduler-steps 8"),
                RTX4090_X2)
    assert_valid_033(made.argv, llama_dir)
    assert "--num-scheduler-steps" not in made.argv
    assert value_of(made.argv, "--tensor-parallel-size") == "2"
    assert any("--num-scheduler-steps 8 dropped" in w for w in made.warnings)


def test_tp2_eager_multi_step_rtx4090(on_033, llama_dir):
    made = plan(llama_dir, shlex.split("--tensor-parallel-size 2 --gpu-memory-utilization 0.95 "
                                       "--enable-prefix-caching --num-scheduler-steps 8 "
                                       "--enforce-eager"),
                RTX4090_X2)
    assert_valid_033(made.argv, llama_dir)
    assert "--enforce-eager" in made.argv and "8" not in made.argv


def test_fp8_kv_cache_tokenizer_pool(on_033, llama_dir):
    made = plan(llama_dir, shlex.split("--kv-cache-dtype fp8 --tokenizer-pool-size 2 "
                                       "--max-num-batched-tokens 12288 --max-model-len 12288 "
                                       "--block-size 32"), L20)
    assert_valid_033(made.argv, llama_dir)
    assert value_of(made.argv, "--kv-cache-dtype") == "fp8"
    assert value_of(made.argv, "--block-size") == "32"
    assert "--tokenizer-pool-size" not in made.argv


def small_dir(tmp_path):
    """A 3B-class model: what these commands were written for on a 16 GB T4."""
    from tests.conftest import write_model_dir
    from tests.model_configs import MODELS

    return write_model_dir(tmp_path / "small", MODELS["Llama-3.2-3B-Instruct"])


def test_chunked_prefill_false_with_lookahead_t4(on_033, tmp_path):
    model = small_dir(tmp_path)
    made = plan(model, shlex.split("--enable-chunked-prefill false --use-lookahead"), T4)
    assert_valid_033(made.argv, model)
    assert "--no-enable-chunked-prefill" in made.argv
    assert spec_config(made.argv)["num_speculative_tokens"] == 6
    assert any("chunked prefill" in w for w in made.warnings)


def test_long_context_small_batches(on_033, llama_dir):
    made = plan(llama_dir, shlex.split("--max-model-len 102400 --enable-chunked-prefill "
                                       "--max-num-batched-tokens 512"), L20)
    assert_valid_033(made.argv, llama_dir)
    assert value_of(made.argv, "--max-model-len") == "102400"
    assert "--enable-chunked-prefill" in made.argv


def test_env_only_ifq_nf4(on_033, llama_dir):
    made = plan(llama_dir, [], A100, env={"QUANTIZATION": "ifq_nf4"})
    assert_valid_033(made.argv, llama_dir)
    assert value_of(made.argv, "--quantization") == "bitsandbytes"
    assert made.settings["quantization"].source == "env"


def test_env_only_lookahead(on_033, tmp_path):
    model = small_dir(tmp_path)
    made = plan(model, [], T4, env={"USE_LOOKAHEAD": "1", "NUM_SPECULATIVE_TOKENS": "4"})
    assert_valid_033(made.argv, model)
    assert spec_config(made.argv)["num_speculative_tokens"] == 4
    assert made.settings["speculative_config"].source == "env"


def test_legacy_command_through_run_dry_run(llama_dir):
    """The same path as a user: a fresh `run --dry-run --json` process, exit 0."""
    result = run_cli("--dry-run", "--json", str(llama_dir), "--quantization", "fp8",
                     "--use-lookahead", "--num-speculative-tokens", "4", "--api-keys",
                     "mock_api_key", "--num-scheduler-steps", "8", "--use-v2-block-manager")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "mock_api_key" not in result.stdout + result.stderr
    assert "--speculative-config" in data["argv"]
    assert not {"--num-scheduler-steps", "--use-v2-block-manager", "--api-keys"} & set(
        data["argv"])

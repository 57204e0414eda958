"""Quantization rules over plain data: a replaced image's name behaves as what it runs as."""

import pytest

from entrypoint.errors import UserError
from tests.rules.builder import LLAMA_8B, derived

FP8_CHECKPOINT = {**LLAMA_8B, "quantization_config": {"quant_method": "fp8",
                                                      "activation_scheme": "dynamic"}}


def test_ifq_on_an_a100_says_the_scheme_is_weight_only():
    """ifq runs as fp8_per_tensor, which is W8A16 below compute capability 8.9 (issue 27)."""
    ctx = derived(gpus="1xA100-80GB", env={"QUANTIZATION": "ifq"})
    assert ctx.facts["gate: quantization"] == "pass, weight-only: ifq on compute capability 8.0"
    assert any(w.startswith("QUANTIZATION=ifq on A100") and "(W8A16)" in w for w in ctx.warnings)
    h100 = derived(gpus="1xH100-80GB", env={"QUANTIZATION": "ifq"})
    assert h100.facts["gate: quantization"].startswith("pass: ifq")


@pytest.mark.parametrize("argv, env", [(["-q", "ifq"], {}), ([], {"QUANTIZATION": "ifq"})])
def test_ifq_on_an_fp8_checkpoint_loads_it_like_fp8_does(argv, env):
    """ifq belongs to fp8's family: vLLM loads the checkpoint's own fp8, as for QUANTIZATION=fp8
    (before: refused from the CLI, dropped with a warning from the environment)."""
    for method in ("fp8", "ifq"):
        given = [a.replace("ifq", method) for a in argv]
        ctx = derived(config=FP8_CHECKPOINT, gpus="1xH100-80GB", argv=given,
                      env={k: method for k in env})
        assert ctx.facts["gate: quantization vs checkpoint"] == f"pass: {method} loads fp8"
        assert ctx.value("quantization") is None
        assert not any("ignored" in w for w in ctx.warnings)


def test_awq_on_an_fp8_checkpoint_is_still_refused():
    with pytest.raises(UserError, match="already quantized"):
        derived(config=FP8_CHECKPOINT, gpus="1xH100-80GB", argv=["-q", "awq"])

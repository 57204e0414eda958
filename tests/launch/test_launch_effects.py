"""Effects at launch end in one sentence and a documented exit status, never a traceback."""

from __future__ import annotations

import os

import pytest

from entrypoint import cli
from entrypoint.errors import EXIT_BAD_INPUT, EXIT_LAUNCH_FAILED, LaunchError
from entrypoint.facts import hardware
from entrypoint.launch import process
from tests.conftest import LLAMA_8B, free_port, run_cli, write_model_dir

QWEN = {**LLAMA_8B, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}
STOPS = {"MODEL_ID": "Qwen/Qwen-7B-Chat"}  # this family gets a generation config written


def test_run_dir_on_a_file_or_read_only_is_refused_before_launch(tmp_path):
    model = write_model_dir(tmp_path / "qwen", QWEN)
    file = tmp_path / "file"
    file.write_text("x")
    read_only = ["/sys/run"] if not os.access("/sys", os.W_OK) else []  # mounted read-only
    for run_dir in (file, file / "sub", *read_only):
        result = run_cli(str(model), "--port", str(free_port()),
                         env={**STOPS, "RUN_DIR": str(run_dir)})
        assert result.returncode == EXIT_BAD_INPUT, result.stderr
        assert "Traceback" not in result.stderr and f"RUN_DIR={run_dir}" in result.stderr
        assert "RUN_DIR" in result.stderr.splitlines()[-1]


def test_a_write_that_fails_at_launch_is_one_sentence_exit_4(tmp_path, capsys):
    model = write_model_dir(tmp_path / "qwen", QWEN)
    plan, _ = cli.make_plan([str(model)], {**STOPS, "RUN_DIR": str(tmp_path / "run")},
                            hardware.NO_GPU)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")  # the folder vanished and a file took its place after the plan
    plan.files = {f"{blocker}/gen/generation_config.json": "{}"}
    with pytest.raises(LaunchError, match=r"could not write the files .*Not a directory"):
        process.execute(plan)


def test_planted_link_in_place_of_the_private_folder_is_never_followed(tmp_path):
    elsewhere = tmp_path / "theirs"
    elsewhere.mkdir()
    planted = tmp_path / "llm-serve-run"
    os.symlink(elsewhere, planted)
    with pytest.raises(LaunchError, match="not a folder of this user"):
        process.write_files({f"{planted}/gen/generation_config.json": "{}"}, str(planted))
    assert list(elsewhere.iterdir()) == []
    fresh = tmp_path / "fresh-run"
    process.write_files({f"{fresh}/gen/generation_config.json": "{}"}, str(fresh))
    assert oct(fresh.stat().st_mode & 0o777) == "0o700"


def test_spawn_failure_is_one_sentence(tmp_path, llama_dir, monkeypatch):
    plan, _ = cli.make_plan([str(llama_dir)], {"DISABLE_MEM_CACHE": "true"}, hardware.NO_GPU)
    plan.argv = [str(tmp_path / "no-such-python"), *plan.argv[1:]]
    with pytest.raises(LaunchError, match="could not start vLLM .*No such file"):
        process.execute(plan)
    assert EXIT_LAUNCH_FAILED == 4

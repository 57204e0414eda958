"""Bad input: exit 2, one sentence naming the input and the fix, no traceback, before vLLM."""

import pytest

from tests.conftest import run_cli, write_model_dir


def assert_refused(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("run: ") and message.count("\n") == 0, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("env, fragments", [
    ({"MAX_MODEL_LEN": "4k8"}, ["MAX_MODEL_LEN='4k8'", "whole number"]),
    ({"TP": "1.5"}, ["TP='1.5'"]),
    ({"GPU_MEMORY_UTILIZATION": "high"}, ["GPU_MEMORY_UTILIZATION='high'"]),
    ({"ENABLE_PREFIX_CACHING": "enabled"}, ["ENABLE_PREFIX_CACHING='enabled'", "true/false"]),
    ({"QUANTIZATION": "int3"}, ["QUANTIZATION='int3'", "not a known quantization", "fp8"]),
])
def test_bad_env_values(llama_dir, env, fragments):
    assert_refused(run_cli("--dry-run", str(llama_dir), env=env), *fragments)


@pytest.mark.parametrize("args, fragments", [
    (["--max-model-len", "abc"], ["--max-model-len='abc'"]),
    (["--port", "99999"], ["--port='99999'"]),
    (["--enforce-eager=perhaps"], ["--enforce-eager=perhaps", "true/false"]),
    (["--quantization", "int3"], ["--quantization='int3'", "not a known"]),
    (["--max-num-seqz", "4"], ["--max-num-seqz", "Did you mean --max-num-seqs?"]),
])
def test_bad_flags(llama_dir, args, fragments):
    assert_refused(run_cli("--dry-run", str(llama_dir), *args), *fragments)


def test_missing_model_dir(tmp_path):
    assert_refused(run_cli("--dry-run", env={"MODEL": str(tmp_path / "absent")}),
                   "does not exist", "set MODEL")


def test_model_dir_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_refused(run_cli("--dry-run", str(tmp_path / "empty")), "config.json is missing")


def test_config_not_json(tmp_path):
    model = tmp_path / "broken"
    model.mkdir()
    (model / "config.json").write_text("{not json")
    assert_refused(run_cli("--dry-run", str(model)), "config.json is not valid JSON")


def test_config_not_an_object(tmp_path):
    model = write_model_dir(tmp_path / "list", {})
    (model / "config.json").write_text("[1, 2]")
    assert_refused(run_cli("--dry-run", str(model)), "must hold a JSON object")


def test_refused_launch_starts_nothing(tmp_path):
    """Without --dry-run the same refusal happens before vLLM is started."""
    result = run_cli(str(tmp_path / "absent"))
    assert_refused(result, "does not exist")
    assert "vllm" not in result.stdout.lower()


def test_json_mode_reports_error(llama_dir):
    result = run_cli("--dry-run", "--json", str(llama_dir), env={"TP": "x"})
    assert result.returncode == 2
    assert '"error"' in result.stdout

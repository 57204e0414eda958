"""The chat rule over the whole plan: sources, reasons, user flags win, stop tokens."""

from __future__ import annotations

import json

import pytest

from entrypoint.cli import make_plan
from entrypoint.facts.hardware import NO_GPU
from tests.conftest import run_cli, write_model_dir
from tests.rules.test_family_match import (
    BAICHUAN2_CONFIG,
    BAICHUAN2_GENERATION,
    LLAMA2_CONFIG,
    LLAMA2_TEMPLATE,
    LLAMA3_CONFIG,
    MLLAMA_CONFIG,
    QWEN3_CONFIG,
    QWEN25_CONFIG,
    QWEN25_TEMPLATE,
)

# Families are matched for every catalog row, including rows whose architecture the engine cannot
# load (Llama-3.2 Vision, Baichuan2, Qwen 1.x): in-process plans here skip the architecture gate
# (tests/rules/test_architecture.py covers it).
pytestmark = pytest.mark.usefixtures("without_architecture_gate")


def plan_for(model_dir, argv=(), env=None):
    plan, _ = make_plan([str(model_dir), *argv], env or {}, inventory=NO_GPU)
    return plan


def flag_value(plan, flag):
    if flag not in plan.argv:
        return None
    index = plan.argv.index(flag)
    following = plan.argv[index + 1] if index + 1 < len(plan.argv) else ""
    return True if following.startswith("--") or not following else following


@pytest.fixture
def qwen25_dir(tmp_path):
    return write_model_dir(tmp_path / "model", QWEN25_CONFIG,
                           tokenizer_config={"chat_template": QWEN25_TEMPLATE},
                           generation_config={"eos_token_id": [151645, 151643]})


def test_model_id_plan_says_why(qwen25_dir):
    plan = plan_for(qwen25_dir, env={"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"})
    assert flag_value(plan, "--tool-call-parser") == "hermes"
    assert flag_value(plan, "--enable-auto-tool-choice") is True
    assert "--chat-template" not in plan.argv  # the model's own template is kept
    entry = plan.settings["conv_template"]
    assert (entry.value, entry.source) == ("qwen2.5", "env")
    assert entry.reason == ("Qwen2.5 Instruct: MODEL_ID Qwen/Qwen2.5-7B-Instruct contains qwen2.5 "
                            "and instruct")
    parser = plan.settings["tool_call_parser"]
    assert (parser.value, parser.source) == ("hermes", "env")
    assert "contains qwen2.5 and instruct" in parser.reason
    assert plan.settings["enable_auto_tool_choice"].value is True


def test_dry_run_json_carries_the_entries(qwen25_dir):
    result = run_cli("--dry-run", "--json", str(qwen25_dir),
                     env={"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"})
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["settings"]
    assert settings["tool_call_parser"]["value"] == "hermes"
    assert settings["enable_auto_tool_choice"]["source"] == "env"


@pytest.mark.parametrize("argv, flag, value", [
    (["--tool-call-parser", "qwen3_json"], "--tool-call-parser", "qwen3_json"),
    (["--no-enable-auto-tool-choice"], "--no-enable-auto-tool-choice", True),
    (["--chat-template", "/my/own.jinja"], "--chat-template", "/my/own.jinja"),
    (["--reasoning-parser", "qwen3"], "--reasoning-parser", "qwen3"),
])
def test_what_the_user_passes_wins(qwen25_dir, argv, flag, value):
    plan = plan_for(qwen25_dir, argv, env={"MODEL_ID": "Qwen/Qwen3-8B"})
    assert plan.argv.count(flag) == 1
    assert flag_value(plan, flag) == value
    assert plan.settings[flag.removeprefix("--").replace("-", "_")].source == "cli"
    if flag == "--no-enable-auto-tool-choice":
        assert "--enable-auto-tool-choice" not in plan.argv


def generation_configs(plan) -> list[str]:
    """The generated generation configs (the page's plan file is another file in plan.files)."""
    return [path for path in plan.files if path.endswith("/generation_config.json")]


def test_user_generation_config_wins_over_stop_tokens(qwen25_dir, tmp_path):
    plan = plan_for(qwen25_dir, ["--generation-config", "vllm"],
                    env={"MODEL_ID": "Qwen/Qwen-7B-Chat", "RUN_DIR": str(tmp_path / "run")})
    assert flag_value(plan, "--generation-config") == "vllm"
    assert not generation_configs(plan)


def test_conv_template_beats_model_id_and_forces_the_catalog_template(qwen25_dir):
    plan = plan_for(qwen25_dir, env={"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct",
                                     "CONV_TEMPLATE": "llama-2"})
    assert flag_value(plan, "--chat-template").endswith("templates/llama-2.jinja")
    assert "--tool-call-parser" not in plan.argv
    assert plan.settings["conv_template"].reason == "Llama-2 Chat: CONV_TEMPLATE=llama-2"
    assert "replaces the model's own template" in plan.settings["chat_template"].reason


def test_unknown_conv_template_exits_2_listing_known(qwen25_dir):
    result = run_cli("--dry-run", str(qwen25_dir), env={"CONV_TEMPLATE": "vicuna"})
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert "CONV_TEMPLATE='vicuna' is not a known conversation template" in message
    assert "qwen2.5" in message and "llama-3.2-vision" in message and "generate" in message


def test_stop_tokens_become_a_generation_config_folder(tmp_path):
    model = write_model_dir(tmp_path / "model", {**QWEN25_CONFIG, "eos_token_id": 151643},
                            generation_config={"eos_token_id": 151643, "top_p": 0.8})
    plan = plan_for(model, env={"MODEL_ID": "Qwen/Qwen-7B-Chat", "RUN_DIR": str(tmp_path / "run")})
    folder = flag_value(plan, "--generation-config")
    assert folder.startswith(str(tmp_path / "run") + "/generation-config-")
    written = json.loads(plan.files[f"{folder}/generation_config.json"])
    assert written == {"eos_token_id": [151643, 151644, 151645], "top_p": 0.8}
    reason = plan.settings["generation_config"].reason
    assert "stops at token ids 151643, 151644, 151645" in reason
    assert flag_value(plan, "--chat-template").endswith("templates/chatml.jinja")


def test_dry_run_lists_the_generated_file(tmp_path):
    model = write_model_dir(tmp_path / "model", {**QWEN25_CONFIG, "eos_token_id": 151643})
    result = run_cli("--dry-run", str(model), env={"MODEL_ID": "Qwen/Qwen-7B-Chat",
                                                   "RUN_DIR": str(tmp_path / "run")})
    assert result.returncode == 0, result.stderr
    assert "Files written before the start:" in result.stdout
    assert "/generation_config.json" in result.stdout
    assert not (tmp_path / "run").exists()  # a dry run writes nothing


def test_no_generation_config_when_the_model_already_stops(tmp_path):
    model = write_model_dir(tmp_path / "model", {**LLAMA3_CONFIG},
                            generation_config={"eos_token_id": [128001, 128009]})
    plan = plan_for(model, env={"MODEL_ID": "meta-llama/Meta-Llama-3-8B-Instruct"})
    assert "--generation-config" not in plan.argv and not generation_configs(plan)


def test_vision_family_adds_its_args_unless_the_user_set_them(tmp_path):
    model = write_model_dir(tmp_path / "model", MLLAMA_CONFIG)
    plan = plan_for(model, env={"MODEL_ID": "meta-llama/Llama-3.2-11B-Vision-Instruct"})
    assert "--enforce-eager" in plan.argv and flag_value(plan, "--max-num-seqs") == "8"
    assert plan.settings["enforce_eager"].source == "model"  # the family decided it
    assert flag_value(plan, "--tool-call-parser") == "llama3_json"
    plan = plan_for(model, ["--max-num-seqs", "2", "--no-enforce-eager"],
                    env={"MODEL_ID": "meta-llama/Llama-3.2-11B-Vision-Instruct"})
    assert flag_value(plan, "--max-num-seqs") == "2" and plan.argv.count("--max-num-seqs") == 1
    assert "--no-enforce-eager" in plan.argv and "--enforce-eager" not in plan.argv


def test_ti_model_config_is_the_third_source(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG,
                            ti_model_config={"model_id": "Qwen/Qwen2.5-7B-Instruct"})
    plan = plan_for(model)
    assert flag_value(plan, "--tool-call-parser") == "hermes"
    entry = plan.settings["conv_template"]
    assert entry.source == "model"
    assert entry.reason.endswith("ti_model_config.json model_id Qwen/Qwen2.5-7B-Instruct "
                                 "contains qwen2.5 and instruct")
    assert plan.settings["model_id"].value == "Qwen/Qwen2.5-7B-Instruct"
    # the environment comes first
    plan = plan_for(model, env={"MODEL_ID": "meta-llama/Meta-Llama-3-8B-Instruct"})
    assert plan.settings["conv_template"].value == "llama-3"


def test_ti_model_config_template_name(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG, ti_model_config={
        "model_id": "Qwen/Qwen2.5-7B-Instruct", "conv_template_name": "baichuan2-chat"})
    plan = plan_for(model)
    assert plan.settings["conv_template"].value == "baichuan2-chat"
    assert "ti_model_config.json conv_template_name=baichuan2-chat" in (
        plan.settings["conv_template"].reason)
    assert flag_value(plan, "--chat-template").endswith("templates/baichuan2.jinja")


def test_unknown_ti_template_name_warns_and_falls_through(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG, ti_model_config={
        "model_id": "Qwen/Qwen2.5-7B-Instruct", "conv_template_name": "vicuna_v1.1"})
    plan = plan_for(model)
    assert plan.settings["conv_template"].value == "qwen2.5"
    assert any("conv_template_name='vicuna_v1.1'" in w for w in plan.warnings)


def test_no_match_is_said_and_warned_when_chat_cannot_work(tmp_path):
    model = write_model_dir(tmp_path / "model", {"architectures": ["GPT2LMHeadModel"],
                                                 "model_type": "gpt2", "n_positions": 1024})
    plan = plan_for(model, env={"MODEL_ID": "openai-community/gpt2"})
    entry = plan.settings["conv_template"]
    assert entry.value is None
    assert entry.reason == ("no catalog family matched (MODEL_ID openai-community/gpt2; "
                            "ti_model_config.json; model dir: GPT2LMHeadModel): vLLM's defaults "
                            "apply")
    assert any("ships no chat template" in w and "CONV_TEMPLATE" in w for w in plan.warnings)
    assert "--chat-template" not in plan.argv and "--tool-call-parser" not in plan.argv


def test_generate_passes_text_through(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG)
    plan = plan_for(model, env={"CONV_TEMPLATE": "generate"})
    assert flag_value(plan, "--chat-template").endswith("templates/generate.jinja")


def test_identified_family_keeps_the_models_own_template(tmp_path):
    model = write_model_dir(tmp_path / "model", LLAMA2_CONFIG,
                            tokenizer_config={"chat_template": LLAMA2_TEMPLATE})
    plan = plan_for(model)
    assert "--chat-template" not in plan.argv
    entry = plan.settings["conv_template"]
    assert entry.value == "llama-2" and entry.source == "model"
    assert entry.reason.endswith("the model's own chat template is kept over llama-2.jinja")


def test_identified_family_without_a_template_gets_the_catalogs(tmp_path):
    model = write_model_dir(tmp_path / "model", BAICHUAN2_CONFIG,
                            generation_config=BAICHUAN2_GENERATION)
    plan = plan_for(model)
    assert flag_value(plan, "--chat-template").endswith("templates/baichuan2.jinja")
    assert plan.settings["chat_template"].source == "model"


def test_unmatched_model_id_falls_through_to_the_model_dir(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN3_CONFIG)
    plan = plan_for(model, env={"MODEL_ID": "acme/support-bot-v2"})
    entry = plan.settings["conv_template"]
    assert (entry.value, entry.source) == ("qwen3", "model")
    assert flag_value(plan, "--reasoning-parser") == "qwen3"
    assert plan.settings["reasoning_parser"].source == "model"

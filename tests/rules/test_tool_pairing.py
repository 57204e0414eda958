"""Tool parsers get the template and tokenizer mode vLLM's tool-calling docs pair them with
(issue 28 item 3): InternLM2's `internlm` parser needs a template that writes the tools (the
model's own drops them); Mistral's `mistral` parser on a Hugging Face-format folder needs
`--tokenizer-mode hf` and a template that takes vLLM's call ids."""

from __future__ import annotations

import pytest

from entrypoint import cli
from entrypoint.catalogs.families import TEMPLATES_DIR
from entrypoint.facts import hardware
from tests.conftest import LLAMA_8B, write_model_dir

MISTRAL = {**LLAMA_8B, "architectures": ["MistralForCausalLM"], "model_type": "mistral",
           "vocab_size": 32768}
INTERNLM2 = {**LLAMA_8B, "architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2",
             "vocab_size": 92544}


def planned(folder, *argv, **env):
    plan = cli.make_plan([str(folder), *argv], env, hardware.NO_GPU)[0]
    return plan, " ".join(plan.argv)


def test_internlm2_gets_the_tool_template_with_its_parser(tmp_path):
    folder = write_model_dir(tmp_path / "internlm2", INTERNLM2)
    plan, argv = planned(folder, MODEL_ID="internlm/internlm2_5-7b-chat")
    assert "--tool-call-parser internlm" in argv
    assert f"--chat-template {TEMPLATES_DIR / 'internlm2-tools.jinja'}" in argv


def test_mistral_in_hf_format_gets_the_hf_tokenizer_and_the_tool_template(tmp_path):
    folder = write_model_dir(tmp_path / "mistral", MISTRAL)
    plan, argv = planned(folder, MODEL_ID="mistralai/Mistral-7B-Instruct-v0.3")
    assert "--tool-call-parser mistral" in argv and "--tokenizer-mode hf" in argv
    assert f"--chat-template {TEMPLATES_DIR / 'mistral-tools.jinja'}" in argv
    assert not any("own chat template" in w for w in plan.warnings)
    assert plan.facts["mistral format"].startswith("Hugging Face format only")


@pytest.mark.parametrize("tokenizer_file", ["tokenizer.model.v3", "tekken.json"])
def test_mistral_in_its_own_format_is_left_to_mistral_common(tmp_path, tokenizer_file):
    folder = write_model_dir(tmp_path / "mistral", MISTRAL)
    (folder / "consolidated.safetensors").touch()
    (folder / tokenizer_file).touch()
    plan, argv = planned(folder, MODEL_ID="mistralai/Mistral-7B-Instruct-v0.3")
    assert "--tool-call-parser mistral" in argv
    assert "--tokenizer-mode" not in argv and "mistral-tools.jinja" not in argv
    assert "mistral-common" in plan.facts["mistral format"]


def test_the_users_tokenizer_mode_and_template_win(tmp_path):
    folder = write_model_dir(tmp_path / "mistral", MISTRAL)
    own = tmp_path / "own.jinja"
    own.write_text("{{ messages[0]['content'] }}")
    _, argv = planned(folder, "--tokenizer-mode", "mistral", "--chat-template", str(own),
                      MODEL_ID="mistralai/Mistral-7B-Instruct-v0.3")
    assert argv.count("--tokenizer-mode") == 1 and "--tokenizer-mode mistral" in argv
    assert "mistral-tools.jinja" not in argv


def test_other_parsers_are_left_alone(tmp_path):
    folder = write_model_dir(tmp_path / "llama", LLAMA_8B)
    plan, argv = planned(folder, MODEL_ID="meta-llama/Llama-3.1-8B-Instruct")
    assert "--tokenizer-mode" not in argv and "mistral format" not in plan.facts

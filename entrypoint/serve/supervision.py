"""Supervision inside vLLM's API server, loaded there with `--middleware` (standard library only).

vLLM already marks a dead engine (/health 503) and stops its API server a few seconds later, but
the process then exits 0, so a platform's restart-on-failure never fires. `EngineWatch` records
whether the engine was dead before anyone asked it to stop; `entrypoint.serve.vllm_serve` turns that
into exit status EXIT_ENGINE_FAILED. It also drops readiness while a SIGTERM drain runs: new
requests (and /health) get 503 while in-flight ones finish.

The drain is bounded here, not by the clients: vLLM kills the engine at SHUTDOWN_TIMEOUT but
leaves the open requests waiting for output that never comes, and its HTTP server then waits for
those clients to give up. So the drain runs in our wrapper of the engine's shutdown: it waits
until every open request is done, the timeout passes, or a second SIGTERM comes. Then it aborts
the open streams in the engine, so that vLLM ends them as it ends any aborted request (last chunk
with finish_reason "abort", the usage chunk when the client asked, `data: [DONE]`; see
`entrypoint.serve.stream_abort`), ends each request still open itself (a stream: a last chunk with
finish_reason "abort" and `data: [DONE]`; a request not answered yet: a 503 JSON error), and lets
vLLM stop the engine at once, its output handler cancelled first (else it logs the engine's end as
an `EngineDeadError` traceback).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from entrypoint.serve import stream_abort

EXIT_ENGINE_FAILED = 3
STILL_OPEN_WHILE_STOPPING = frozenset({"/metrics"})
# After the requests are ended, how long their handlers get to unwind before vLLM goes on.
UNWIND_SECONDS = 3.0
ABORTED = "The server shut down before this request finished (SHUTDOWN_TIMEOUT passed); retry it."


@dataclass
class EngineState:
    stopping: bool = False  # vLLM began to stop the engine (SIGTERM drain, or after its death)
    failed: bool = False  # the engine was already dead when stopping began
    loop: asyncio.AbstractEventLoop | None = None
    open: set = field(default_factory=set)  # OpenRequest, touched on the loop only
    hurry: threading.Event = field(default_factory=threading.Event)  # 2nd SIGTERM: end it now
    stop_requested: bool = False  # a SIGTERM came before the server was up (vllm_serve notes it)


STATE = EngineState()


def stopping_began(engine_client) -> bool:
    """True for the first call: the one that starts the drain."""
    if STATE.stopping:
        return False
    STATE.stopping = True
    STATE.failed = bool(getattr(engine_client, "errored", False))
    return True


def drain(timeout: float, engine_client=None, clock=time.monotonic) -> None:
    """In vLLM's shutdown thread: wait for the open requests, then end those left (bounded)."""
    loop = STATE.loop
    if loop is None:
        return
    loop.call_soon_threadsafe(listen_for_second_signal, loop)
    deadline = clock() + timeout
    while STATE.open and clock() < deadline and not STATE.hurry.is_set():
        STATE.hurry.wait(min(0.1, max(0.0, deadline - clock())))
    if not STATE.open:
        return
    ids = {r: r.stream_id() for r in list(STATE.open)}  # parses each stream's last event once
    streams = {r for r, stream in ids.items() if stream}
    if stream_abort.abort(engine_client, {stream for stream in ids.values() if stream}, loop):
        wait_until(lambda: not streams & STATE.open, clock() + UNWIND_SECONDS, clock)
    loop.call_soon_threadsafe(end_open_requests)
    wait_until(lambda: not STATE.open, clock() + UNWIND_SECONDS, clock)


def wait_until(done, deadline: float, clock) -> None:
    while not done() and clock() < deadline:
        time.sleep(0.05)


def quiet_output_handler(engine_client, wait: float = 1.0) -> None:
    """Cancel vLLM's output handler before the engine stops under it: it would log the end of a
    requested stop as an EngineDeadError traceback (4 of 7 ordinary stops, issue 28)."""
    task, loop = getattr(engine_client, "output_handler", None), STATE.loop
    if loop is None or not isinstance(task, asyncio.Future) or task.done():
        return
    loop.call_soon_threadsafe(task.cancel)
    deadline = time.monotonic() + wait
    wait_until(task.done, deadline, time.monotonic)


def listen_for_second_signal(loop) -> None:
    """vLLM ignores every SIGTERM after the first; ours ends the drain at once."""
    def hurry() -> None:
        print("run: second SIGTERM: ending the open requests now.", file=sys.stderr)
        STATE.hurry.set()

    try:
        loop.add_signal_handler(signal.SIGTERM, hurry)
        loop.add_signal_handler(signal.SIGINT, hurry)
    except (RuntimeError, ValueError, NotImplementedError):  # not the main thread's loop
        pass


def end_open_requests() -> None:
    for request in list(STATE.open):
        request.end()


def watch(engine_client) -> None:
    """Wrap the engine client's shutdown: it tells a drain from a death, and bounds the drain."""
    original = engine_client.shutdown

    def shutdown(*args, **kwargs):
        if stopping_began(engine_client) and not STATE.failed:
            timeout = kwargs.pop("timeout", args[0] if args else None) or 0
            drain(float(timeout), engine_client)
        if STATE.failed:
            return original(*args, **kwargs)
        quiet_output_handler(engine_client)
        return original(timeout=0)  # drained: what is left is aborted, not waited for

    engine_client.shutdown = shutdown


def engine_client_of(scope):
    return getattr(getattr(scope.get("app"), "state", None), "engine_client", None)


class OpenRequest:
    """One HTTP request in flight: what was sent, so that it can be ended properly."""

    def __init__(self, path: str, send) -> None:
        self.path, self.client_send = path, send
        self.started = self.streaming = self.done = False
        self.last_body = b""
        self.ended: asyncio.Future = asyncio.get_running_loop().create_future()

    async def send(self, message) -> None:
        if self.ended.done():
            return  # we answered for the handler already
        if message["type"] == "http.response.start":
            self.started = True
            headers = dict(message.get("headers") or ())
            self.streaming = headers.get(b"content-type", b"").startswith(b"text/event-stream")
        elif message["type"] == "http.response.body":
            self.done = not message.get("more_body", False)
            if message.get("body"):
                self.last_body = message["body"]
        await self.client_send(message)

    def stream_id(self) -> str | None:
        """The id of an OpenAI stream's chunks (what vLLM names its engine requests after)."""
        if not (self.streaming and self.started and not self.done
                and self.path.startswith("/v1/")):
            return None
        found = last_event(self.last_body).get("id")
        return found if isinstance(found, str) and found else None

    def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)

    async def finish(self) -> None:
        """The response as the client can read it: a last SSE event, or a JSON error."""
        if self.done:
            return
        if not self.started:
            await refuse(self.client_send, ABORTED)
        elif self.streaming:
            await self.client_send({"type": "http.response.body", "more_body": False,
                                    "body": final_events(self.path, self.last_body)})
        else:
            await self.client_send({"type": "http.response.body", "body": b"",
                                    "more_body": False})
        self.done = True


def last_event(body: bytes) -> dict:
    for event in reversed(body.split(b"\n\n")):
        data = b"".join(line[5:].strip() for line in event.split(b"\n")
                        if line.startswith(b"data:"))
        if data.startswith(b"{"):
            try:
                parsed = json.loads(data)
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
    return {}


def final_events(path: str, last_body: bytes) -> bytes:
    """The last chunk of an OpenAI stream ended by us: finish_reason "abort", then [DONE]."""
    last = last_event(last_body)
    if not path.startswith("/v1/"):  # Triton generate_stream and others: an error event
        return b"data: " + json.dumps({"error": ABORTED}).encode() + b"\n\n"
    chat = "chat" in path or last.get("object") == "chat.completion.chunk"
    indexes = sorted({c.get("index", 0) for c in last.get("choices") or ()
                      if isinstance(c, dict)} | {0})
    if chat:
        choices = [{"index": i, "delta": {}, "logprobs": None, "finish_reason": "abort"}
                   for i in indexes]
    else:
        choices = [{"index": i, "text": "", "logprobs": None, "finish_reason": "abort"}
                   for i in indexes]
    chunk = {"id": last.get("id", "aborted"),
             "object": "chat.completion.chunk" if chat else "text_completion",
             "created": last.get("created", int(time.time())), "model": last.get("model", ""),
             "choices": choices}
    return b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n"


class EngineWatch:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self.lifespan_receive(scope, receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if STATE.stopping and path not in STILL_OPEN_WHILE_STOPPING:
            await refuse(send)
            return
        await self.tracked(scope, receive, send, path)

    async def tracked(self, scope, receive, send, path) -> None:
        """Run the request so that the drain can end it (see `drain`)."""
        request = OpenRequest(path, send)
        STATE.open.add(request)
        handler = asyncio.ensure_future(self.app(scope, receive, request.send))
        try:
            await asyncio.wait({handler, request.ended}, return_when=asyncio.FIRST_COMPLETED)
            if handler.done():
                handler.result()
                return
            request.end()
            handler.cancel()
            await asyncio.wait({handler}, timeout=UNWIND_SECONDS)
            await request.finish()
        except asyncio.CancelledError:
            handler.cancel()
            raise
        finally:
            STATE.open.discard(request)

    def lifespan_receive(self, scope, receive):
        async def receive_and_watch():
            message = await receive()
            client = engine_client_of(scope)
            if client is None:
                return message
            if message["type"] == "lifespan.startup":
                STATE.loop = asyncio.get_running_loop()
                watch(client)
                if STATE.stop_requested:  # asked to stop while starting: stop now
                    STATE.loop.call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)
            elif message["type"] == "lifespan.shutdown":  # the HTTP server stops: why?
                stopping_began(client)
            return message

        return receive_and_watch


async def refuse(send, message: str | None = None) -> None:
    reason = "engine failed" if STATE.failed else "server is shutting down"
    body = json.dumps({"error": {"message": message or f"Service unavailable: {reason}.",
                                 "type": "ServiceUnavailable", "code": 503}}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                            (b"retry-after", b"1"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def exit_status() -> int:
    if STATE.failed:
        print("run: the vLLM engine died while serving; exiting with status "
              f"{EXIT_ENGINE_FAILED} so the platform restarts the container.", file=sys.stderr)
        return EXIT_ENGINE_FAILED
    return 0

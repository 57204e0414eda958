"""Supervision inside vLLM's API server, loaded there with `--middleware` (standard library only).

vLLM already marks a dead engine (/health 503) and stops its API server a few seconds later, but
the process then exits 0, so a platform's restart-on-failure never fires. `EngineWatch` records
whether the engine was dead before anyone asked it to stop; `entrypoint.serve.vllm_serve` turns that
into exit status EXIT_ENGINE_FAILED. It also drops readiness while a SIGTERM drain runs: new
requests (and /health) get 503 while in-flight ones finish.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

EXIT_ENGINE_FAILED = 3
MIDDLEWARE = "entrypoint.serve.supervision.EngineWatch"
STILL_OPEN_WHILE_STOPPING = frozenset({"/metrics"})


@dataclass
class EngineState:
    stopping: bool = False  # vLLM began to stop the engine (SIGTERM drain, or after its death)
    failed: bool = False  # the engine was already dead when stopping began


STATE = EngineState()


def stopping_began(engine_client) -> None:
    if not STATE.stopping:
        STATE.stopping = True
        STATE.failed = bool(getattr(engine_client, "errored", False))


def watch(engine_client) -> None:
    """Note the first call to the engine client's shutdown: it tells a drain from a death."""
    original = engine_client.shutdown

    def shutdown(*args, **kwargs):
        stopping_began(engine_client)
        return original(*args, **kwargs)

    engine_client.shutdown = shutdown


def engine_client_of(scope):
    return getattr(getattr(scope.get("app"), "state", None), "engine_client", None)


class EngineWatch:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self.lifespan_receive(scope, receive), send)
            return
        path = scope.get("path", "")
        if STATE.stopping and scope["type"] == "http" and path not in STILL_OPEN_WHILE_STOPPING:
            await refuse(send)
            return
        await self.app(scope, receive, send)

    def lifespan_receive(self, scope, receive):
        async def receive_and_watch():
            message = await receive()
            client = engine_client_of(scope)
            if client is None:
                return message
            if message["type"] == "lifespan.startup":
                watch(client)
            elif message["type"] == "lifespan.shutdown":  # the HTTP server stops: why?
                stopping_began(client)
            return message

        return receive_and_watch


async def refuse(send) -> None:
    reason = "engine failed" if STATE.failed else "server is shutting down"
    body = json.dumps({"error": {"message": f"Service unavailable: {reason}.",
                                 "type": "ServiceUnavailable", "code": 503}}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                            (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})


def exit_status() -> int:
    if STATE.failed:
        print("run: the vLLM engine died while serving; exiting with status "
              f"{EXIT_ENGINE_FAILED} so the platform restarts the container.", file=sys.stderr)
        return EXIT_ENGINE_FAILED
    return 0


"""Small ASGI helpers the middlewares share: read a request body, hand it on (rewritten), answer
with JSON. Standard library only: imported by the vLLM process.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the (rewritten) body once, then the client's own messages."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def with_body(scope: Scope, body: bytes, path: str | None = None) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in
               (b"content-length", b"content-type")]
    headers += [(b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json")]
    fresh = {**scope, "headers": headers}
    if path is not None:
        fresh.update(path=path, raw_path=path.encode())
    return fresh


async def send_json(send: Send, status: int, data: Any) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def call(app: App, scope: Scope, receive: Receive, method: str, path: str,
               body: bytes = b"") -> tuple[int, bytes]:
    """Ask the same server (`app`) in process, with the client's headers; its status and body."""
    inner = {**with_body(scope, body, path), "method": method, "query_string": b""}
    status, chunks = 500, []

    async def capture(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(inner, replay(body, receive), capture)
    return status, b"".join(chunks)

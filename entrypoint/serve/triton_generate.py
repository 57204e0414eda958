"""Triton-style `POST /v2/models/{name}/generate` and `/generate_stream`, answered by calling the
same server's `/v1/chat/completions` in process (the prompt becomes a user turn, so the chat
template applies) and reshaping the answer as the Triton vLLM backend did. Standard library only:
imported by the vLLM process.
"""

from __future__ import annotations

import json
import re
from typing import Any

from entrypoint.serve.asgi import (
    App,
    Message,
    Receive,
    Scope,
    Send,
    read_body,
    replay,
    send_json,
    with_body,
)

TRITON_PATH = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/[^/]+)?/(?P<kind>generate"
                         r"|generate_stream)")
# Triton vLLM backend parameters that are not sampling parameters of the chat API.
TRITON_ONLY_PARAMETERS = ("exclude_input_in_output", "return_finish_reason",
                          "return_cumulative_logprob", "return_num_input_tokens",
                          "return_num_output_tokens")


class BadRequest(Exception):
    """The client's fault: answered with 400 and this message."""


def triton_to_chat(body: Any, stream: bool) -> dict:
    """A Triton generate request as a chat completion request (pure); BadRequest if malformed."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object with a \"prompt\" string")
    prompt = body.get("prompt", body.get("text_input"))
    if not isinstance(prompt, str):
        raise BadRequest("\"prompt\" must be a string")
    raw = body.get("sampling_parameters", body.get("parameters", {}))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError as error:
            raise BadRequest(f"sampling_parameters is not valid JSON ({error}); send a JSON "
                             "object as a string, e.g. \"{\\\"temperature\\\": 0}\"") from None
    if not isinstance(raw, dict):
        raise BadRequest("sampling_parameters must be a JSON object such as "
                         "{\"temperature\": 0, \"max_tokens\": 64}")
    sampling = {k: v for k, v in raw.items() if k not in TRITON_ONLY_PARAMETERS}
    return {**sampling, "messages": [{"role": "user", "content": prompt}], "stream": stream}


def triton_answer(name: str, text: str) -> dict:
    return {"model_name": name, "model_version": "1", "response": text}


def error_message(body: bytes) -> str:
    """vLLM's error text from its JSON error body (either shape), else the raw body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


async def generate(app: App, scope: Scope, receive: Receive, send: Send, name: str,
                   stream: bool) -> None:
    """Answer a Triton generate (or generate_stream) request through `app`'s chat API."""
    raw = await read_body(receive)
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as error:
        await send_json(send, 400, {"error": f"the request body is not valid JSON ({error})"})
        return
    stream = stream or (isinstance(body, dict) and body.get("stream") is True)
    try:
        chat = triton_to_chat(body, stream)
    except BadRequest as error:
        await send_json(send, 400, {"error": str(error)})
        return
    chat_body = json.dumps(chat).encode()
    inner = with_body(scope, chat_body, "/v1/chat/completions")
    if stream:
        await _StreamReshaper(name, send).run(app, inner, replay(chat_body, receive))
    else:
        await _complete(app, inner, replay(chat_body, receive), send, name)

async def _complete(app: App, scope: Scope, receive: Receive, send: Send, name: str) -> None:
    status, chunks = 500, []

    async def capture(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks)
    if status != 200:
        await send_json(send, status, {"error": error_message(body)})
        return
    reply = json.loads(body)
    text = reply["choices"][0]["message"].get("content") or ""
    await send_json(send, 200, triton_answer(name, text))


class _StreamReshaper:
    """OpenAI chat chunks (SSE) in, Triton generate_stream events out, as they arrive."""

    def __init__(self, name: str, send: Send):
        self.name, self.send = name, send
        self.status, self.started, self.pending, self.error = 500, False, b"", b""

    async def run(self, app, scope: Scope, receive: Receive) -> None:
        await app(scope, receive, self.on_message)
        if self.status != 200:
            await send_json(self.send, self.status, {"error": error_message(self.error)})
        elif self.started:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def on_message(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status == 200:
                self.started = True
                await self.send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
            return
        if message["type"] != "http.response.body":
            return
        if self.status != 200:
            self.error += message.get("body", b"")
            return
        self.pending += message.get("body", b"")
        *events, self.pending = self.pending.split(b"\n\n")
        for event in events:
            await self._forward(event)

    async def _forward(self, event: bytes) -> None:
        data = b"".join(line[5:].strip() for line in event.split(b"\n")
                        if line.startswith(b"data:"))
        if not data or data == b"[DONE]":
            return
        chunk = json.loads(data)
        if "error" in chunk:
            out = {"error": error_message(data)}
        else:
            choices = chunk.get("choices") or [{}]
            text = (choices[0].get("delta") or {}).get("content")
            if not text:
                return
            out = triton_answer(self.name, text)
        await self.send({"type": "http.response.body", "more_body": True,
                         "body": b"data: " + json.dumps(out).encode() + b"\n\n"})

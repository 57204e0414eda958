"""Triton-style `POST /v2/models/{name}/generate` and `/generate_stream`, in two request shapes:

- the replaced deployment's model (`prompt`, `sampling_parameters` as a JSON string, answer
  `response`): the prompt becomes a user turn of the same server's `/v1/chat/completions`;
- the stock Triton vLLM backend (`text_input`, `parameters` object, answer `text_output`): the raw
  prompt goes to `/v1/completions`, as that backend hands it to the engine unchanged, and the
  answer starts with the prompt unless `exclude_input_in_output` (its default when streaming).

The model name must be one the server serves (read from its own `/v1/models`), as Triton refuses
an unknown model. Standard library only: imported by the vLLM process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from entrypoint.serve.asgi import (
    App,
    Message,
    Receive,
    Scope,
    Send,
    call,
    read_body,
    replay,
    send_json,
    with_body,
)
from entrypoint.serve.triton_probes import unknown_model

TRITON_PATH = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/[^/]+)?/(?P<kind>generate"
                         r"|generate_stream)")
# Triton vLLM backend parameters that are not sampling parameters of the chat API.
TRITON_ONLY_PARAMETERS = ("exclude_input_in_output", "return_finish_reason",
                          "return_cumulative_logprob", "return_num_input_tokens",
                          "return_num_output_tokens")


class BadRequest(Exception):
    """The client's fault: answered with 400 and this message."""


@dataclass(frozen=True)
class Route:
    """Where a Triton request goes in process, and how its answer is shaped."""

    path: str  # the OpenAI endpoint that answers it
    body: dict  # that endpoint's request
    key: str  # the answer's text field: "response" or "text_output"
    echo: str = ""  # put before the generated text (the stock backend echoes the prompt)


def triton_request(body: Any, name: str, stream: bool) -> Route:
    """A Triton generate request, either shape, as a request to vLLM (pure); BadRequest if
    malformed. The shape of the answer follows the shape of the request."""
    if isinstance(body, dict) and "text_input" in body:
        return stock_request(body, name, stream)
    chat = triton_to_chat(body, stream)
    return Route("/v1/chat/completions", {**chat, "model": name}, "response")


def stock_request(body: dict, name: str, stream: bool) -> Route:
    """The stock Triton vLLM backend's shape: raw prompt, `parameters` object, prompt echoed
    unless `exclude_input_in_output` (absent: echoed, except when streaming)."""
    prompt = body["text_input"]
    if not isinstance(prompt, str):
        raise BadRequest("\"text_input\" must be a string")
    params = body.get("parameters", {})
    if isinstance(body.get("sampling_parameters"), str):  # the backend's alternative input
        params = _json_object(body["sampling_parameters"], "sampling_parameters")
    if not isinstance(params, dict):
        raise BadRequest("\"parameters\" must be a JSON object such as "
                         "{\"temperature\": 0, \"max_tokens\": 64}")
    exclude = body.get("exclude_input_in_output", params.get("exclude_input_in_output"))
    if exclude is not None and not isinstance(exclude, bool):
        raise BadRequest("\"exclude_input_in_output\" must be true or false")
    if stream and exclude is False:
        raise BadRequest("when streaming, \"exclude_input_in_output\": false is not allowed "
                         "(as in the Triton vLLM backend); leave it out or send true")
    echo = prompt if exclude is None and not stream or exclude is False else ""
    sampling = {k: v for k, v in params.items() if k not in (*TRITON_ONLY_PARAMETERS, "stream")}
    return Route("/v1/completions",
                 {**sampling, "model": name, "prompt": prompt, "stream": stream},
                 "text_output", echo)


def _json_object(raw: str, field: str) -> Any:
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise BadRequest(f"{field} is not valid JSON ({error}); send a JSON "
                         "object as a string, e.g. \"{\\\"temperature\\\": 0}\"") from None


def triton_to_chat(body: Any, stream: bool) -> dict:
    """A Triton generate request as a chat completion request (pure); BadRequest if malformed."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object with a \"prompt\" string")
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequest("\"prompt\" must be a string (or send the stock backend's "
                         "\"text_input\")")
    raw = body.get("sampling_parameters", body.get("parameters", {}))
    if isinstance(raw, str):
        raw = _json_object(raw, "sampling_parameters")
    if not isinstance(raw, dict):
        raise BadRequest("sampling_parameters must be a JSON object such as "
                         "{\"temperature\": 0, \"max_tokens\": 64}")
    sampling = {k: v for k, v in raw.items() if k not in TRITON_ONLY_PARAMETERS}
    return {**sampling, "messages": [{"role": "user", "content": prompt}], "stream": stream}


def triton_answer(name: str, text: str, key: str = "response") -> dict:
    return {"model_name": name, "model_version": "1", key: text}


def choice_text(choice: dict) -> str:
    """The text of one OpenAI choice: completions (`text`), chat (`message`) or a chat chunk."""
    if "text" in choice:
        return choice["text"] or ""
    return (choice.get("message") or choice.get("delta") or {}).get("content") or ""


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
    """Answer a Triton generate (or generate_stream) request through `app`'s OpenAI API."""
    raw = await read_body(receive)
    refusal = await unknown_model(app, scope, receive, name)
    if refusal:
        await send_json(send, *refusal)
        return
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as error:
        await send_json(send, 400, {"error": f"the request body is not valid JSON ({error})"})
        return
    stream = stream or (isinstance(body, dict) and body.get("stream") is True)
    try:
        route = triton_request(body, name, stream)
    except BadRequest as error:
        await send_json(send, 400, {"error": str(error)})
        return
    inner_body = json.dumps(route.body).encode()
    if stream:
        inner = with_body(scope, inner_body, route.path)
        await _StreamReshaper(name, route, send).run(app, inner, replay(inner_body, receive))
        return
    status, reply = await call(app, scope, receive, "POST", route.path, inner_body)
    if status != 200:
        await send_json(send, status, {"error": error_message(reply)})
        return
    text = choice_text(json.loads(reply)["choices"][0])
    await send_json(send, 200, triton_answer(name, route.echo + text, route.key))


class _StreamReshaper:
    """OpenAI chat chunks (SSE) in, Triton generate_stream events out, as they arrive."""

    def __init__(self, name: str, route: Route, send: Send):
        self.name, self.key, self.send = name, route.key, send
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
            text = choice_text((chunk.get("choices") or [{}])[0])
            if not text:
                return
            out = triton_answer(self.name, text, self.key)
        await self.send({"type": "http.response.body", "more_body": True,
                         "body": b"data: " + json.dumps(out).encode() + b"\n\n"})

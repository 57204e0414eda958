"""ASGI middleware for old clients, loaded inside vLLM's server with `--middleware`.

- Request bodies with `guided_json`, `guided_regex`, `guided_choice`, `guided_grammar` (removed
  from vLLM: it only warns and returns unconstrained output) get those fields translated to
  `structured_outputs`.
- Triton-style `POST /v2/models/{name}/generate` and `/generate_stream` are answered by calling
  the same server's `/v1/chat/completions` in process (the prompt becomes a user turn, so the
  chat template applies) and reshaping the answer as the Triton vLLM backend did
  (`entrypoint.serve.triton_generate`); the stock Triton vLLM backend's request shape
  (`text_input`, `parameters`) is answered in its own shape (`text_output`).
- Triton's probes `GET /v2/health/live`, `/v2/health/ready` and `/v2/models/{name}/ready` are
  answered as Triton does (`entrypoint.serve.triton_probes`).

Standard library only: it is imported by the vLLM process, not on `run`'s decision path.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from entrypoint.serve import triton_generate, triton_probes
from entrypoint.serve.asgi import App, Receive, Scope, Send, read_body, replay, with_body

logger = logging.getLogger(__name__)

GUIDED_PATHS = ("/v1/chat/completions", "/v1/completions")
# Old request field -> key of the current `structured_outputs` object.
GUIDED_FIELDS = {"guided_json": "json", "guided_regex": "regex", "guided_choice": "choice",
                 "guided_grammar": "grammar"}
# Old options of those fields, kept as options of `structured_outputs`.
GUIDED_OPTIONS = {"guided_whitespace_pattern": "whitespace_pattern"}
# Old fields with no per-request meaning now (the backend is a server setting).
DROPPED_FIELDS = ("guided_decoding_backend",)


def translate_guided(body: dict) -> dict:
    """The same request with guided_* fields moved to `structured_outputs` (pure)."""
    old_keys = {*GUIDED_FIELDS, *GUIDED_OPTIONS, *DROPPED_FIELDS}
    if not old_keys & body.keys():
        return body
    found = {GUIDED_FIELDS[key]: body[key] for key in GUIDED_FIELDS if body.get(key) is not None}
    fresh = {k: v for k, v in body.items() if k not in old_keys}
    if found and fresh.get("structured_outputs") is None:
        if isinstance(found.get("json"), str):
            found["json"] = _json_or_text(found["json"])
        found |= {GUIDED_OPTIONS[k]: body[k] for k in GUIDED_OPTIONS if body.get(k) is not None}
        fresh["structured_outputs"] = found
    return fresh


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class LegacyClients:
    """Pure ASGI middleware (vLLM adds it with app.add_middleware)."""

    def __init__(self, app: App):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # behind --root-path
            path = path[len(root):]
        if scope["method"] == "GET":
            if not await triton_probes.probe(self.app, scope, receive, send, path):
                await self.app(scope, receive, send)
            return
        triton = triton_generate.TRITON_PATH.fullmatch(path)
        if triton:
            await triton_generate.generate(self.app, scope, receive, send, triton["name"],
                                           triton["kind"] == "generate_stream")
        elif path in GUIDED_PATHS:
            await self.guided(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def guided(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        try:
            request = json.loads(body)
        except ValueError:
            request = None  # vLLM answers malformed JSON itself
        if isinstance(request, dict):
            fresh = translate_guided(request)
            if fresh is not request:
                logger.info("Translated legacy guided-decoding fields to structured_outputs.")
                body = json.dumps(fresh).encode()
                scope = with_body(scope, body)
        await self.app(scope, replay(body, receive), send)

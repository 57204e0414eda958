"""Triton's readiness probes, answered as a Triton server does, from the same server's own state:
`GET /v2/health/live` and `/v2/health/ready` (200, empty body, while vLLM's /health says the
engine is up; 400 otherwise, Triton's "false"), `GET /v2/models/NAME[/versions/V]/ready` (200 for a
served model name, 400 for any other). The served names are the server's own `/v1/models`.
Standard library only: imported by the vLLM process.
"""

from __future__ import annotations

import json
import re

from entrypoint.serve.asgi import App, Receive, Scope, Send, call, send_json

HEALTH_PATHS = frozenset({"/v2/health/live", "/v2/health/ready"})
MODEL_READY = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/[^/]+)?/ready")


def model_ids(models_body: bytes) -> frozenset[str]:
    """The ids in a `/v1/models` answer (pure): served names and loaded LoRA adapters."""
    try:
        data = json.loads(models_body).get("data") or []
    except (ValueError, AttributeError):
        return frozenset()
    return frozenset(m["id"] for m in data if isinstance(m, dict) and "id" in m)


def unknown_model_error(name: str) -> dict:
    """Triton's answer body for a model it does not serve (sent with 404, its NOT_FOUND)."""
    return {"error": f"Request for unknown model: '{name}' is not found"}


async def unknown_model(app: App, scope: Scope, receive: Receive,
                        name: str) -> tuple[int, dict] | None:
    """None when `name` is served; else the (status, body) to refuse the request with."""
    status, body = await call(app, scope, receive, "GET", "/v1/models")
    if status != 200:  # e.g. 401 without a valid key: the client gets vLLM's own refusal
        return status, {"error": body.decode(errors="replace").strip()}
    return None if name in model_ids(body) else (404, unknown_model_error(name))


async def empty(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def probe(app: App, scope: Scope, receive: Receive, send: Send, path: str) -> bool:
    """Answer `path` if it is a Triton probe; False when it is not one."""
    if path in HEALTH_PATHS:
        status, _ = await call(app, scope, receive, "GET", "/health")
        await empty(send, 200 if status == 200 else 400)
        return True
    match = MODEL_READY.fullmatch(path)
    if not match:
        return False
    status, body = await call(app, scope, receive, "GET", "/v1/models")
    if status != 200:
        await send_json(send, status, {"error": body.decode(errors="replace").strip()})
    else:
        await empty(send, 200 if match["name"] in model_ids(body) else 400)
    return True

"""The page at `/`: what `run` decided, live figures, a chat box (loaded with `--middleware`).

`run` writes the plan as the page shows it (secrets masked) to a file and names it in PLAN_ENV.
This middleware answers:

- `/`, `/ui/page.js`, `/ui/page.css`: the page itself (static files of this package), no data,
  so it loads without an API key and then asks for one;
- `/ui/api/plan`: that plan file; `/ui/api/stats`: a few of vLLM's `/metrics` figures, read in
  process. Both need the API key when keys are on, whichever order vLLM stacks the middlewares.

Everything else goes to vLLM unchanged. Imported by vLLM: standard library only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from entrypoint.serve import page_stats
from entrypoint.serve.api_keys import ApiKeyMiddleware
from entrypoint.serve.names import DIGESTS_ENV, PLAN_ENV

STATIC = Path(__file__).resolve().parent / "static"
SHELL = {"/": ("page.html", "text/html; charset=utf-8"),
         "/ui/page.js": ("page.js", "text/javascript; charset=utf-8"),
         "/ui/page.css": ("page.css", "text/css; charset=utf-8")}
PLAN_PATH, STATS_PATH = "/ui/api/plan", "/ui/api/stats"
# No inline script, nothing from elsewhere: model output can never run as code on this page.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; "
     b"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
     b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def read_plan(path: str | None) -> bytes:
    if not path:
        return json.dumps({"error": f"{PLAN_ENV} is not set: start the server with run"}).encode()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        return json.dumps({"error": f"cannot read the plan file ({error.strerror})"}).encode()


async def respond(send, status: int, body: bytes, content_type: bytes, head: bool = False,
                  extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class StatusPage:
    """Pure ASGI middleware (vLLM adds it with app.add_middleware)."""

    def __init__(self, app) -> None:
        self.app = app
        self.plan = read_plan(os.environ.get(PLAN_ENV))
        self.shell = {path: ((STATIC / name).read_bytes(), kind.encode())
                      for path, (name, kind) in SHELL.items()}
        # Data answers pass the same key check as /v1/*, even when this middleware sits outside it.
        self.data = ApiKeyMiddleware(self.serve_data) if os.environ.get(DIGESTS_ENV) \
            else self.serve_data

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        head = scope["method"] == "HEAD"
        if path in self.shell:
            body, kind = self.shell[path]
            await respond(send, 200, body, kind, head, SECURITY_HEADERS)
        elif path in (PLAN_PATH, STATS_PATH):
            await self.data({**scope, "path": path}, receive, send)
        else:
            await self.app(scope, receive, send)

    async def serve_data(self, scope, receive, send) -> None:
        head = scope["method"] == "HEAD"
        if scope["path"] == PLAN_PATH:
            body = self.plan
        else:
            text = await self.metrics_text(scope)
            body = json.dumps(page_stats.figures(text)).encode()
        await respond(send, 200, body, b"application/json", head)

    async def metrics_text(self, scope) -> str:
        """vLLM's own /metrics answer, asked of the app in process (no socket, no key needed)."""
        chunks: list[bytes] = []
        status = 0

        async def capture(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        root = scope.get("root_path", "")
        for path in ("/metrics", "/metrics/"):  # a mounted app may redirect to the slash form
            chunks.clear()
            inner = {**scope, "method": "GET", "path": root + path,
                     "raw_path": (root + path).encode(),
                     "query_string": b"",
                     "headers": [(b"host", b"localhost"), (b"accept", b"text/plain")]}
            await self.app(inner, receive, capture)
            if status == 200:
                return b"".join(chunks).decode("utf-8", "replace")
        return ""

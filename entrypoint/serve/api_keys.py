"""Checks API keys inside vLLM's API server (loaded there with `--middleware`).

The keys arrive as SHA-256 digests in an environment variable (see `entrypoint.rules.api_keys`), so
neither argv nor this process's environment holds a usable key. Imported by vLLM: standard
library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from entrypoint.serve.names import DIGESTS_ENV

# Probes and scrapers must work without a key (vLLM leaves the same ones open); Triton's server
# probes too (entrypoint.serve.triton_probes). Its per-model probe names served models, like
# /v1/models, so it stays behind the key.
OPEN_PATHS = frozenset({"/health", "/ping", "/metrics", "/version", "/load", "/v2/health/live",
                        "/v2/health/ready"})
# The page's HTML, script and style (entrypoint.serve.page): no data, so the page can load and ask
# for the key; its data endpoints stay behind the key.
PAGE_SHELL = frozenset({"/", "/ui/page.js", "/ui/page.css"})


class ApiKeyMiddleware:
    """Pure ASGI middleware: 401 unless `Authorization: Bearer <key>` matches one digest."""

    def __init__(self, app) -> None:
        self.app = app
        raw = os.environ.get(DIGESTS_ENV, "")
        self.digests = [bytes.fromhex(d) for d in raw.split(",") if d]
        if not self.digests:  # loaded without keys: fail closed rather than serve openly
            raise RuntimeError(f"{__name__} is loaded but {DIGESTS_ENV} is empty")

    def allows(self, scope) -> bool:
        if scope["type"] not in ("http", "websocket") or scope.get("method") == "OPTIONS":
            return True  # lifespan events, CORS preflight
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        if path.rstrip("/") in OPEN_PATHS:
            return True
        if path in PAGE_SHELL and scope.get("method") in ("GET", "HEAD"):
            return True
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        # The header's bytes as sent, digested like the keys' UTF-8 bytes (no text round trip).
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return False
        presented = hashlib.sha256(token.strip()).digest()
        matched = False
        for known in self.digests:  # no early exit: timing does not tell which key matched
            matched |= hmac.compare_digest(presented, known)
        return matched

    async def __call__(self, scope, receive, send) -> None:
        if self.allows(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            body = json.dumps({"error": {"message": "Missing or invalid API key.",
                                         "type": "Unauthorized", "code": 401}}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})

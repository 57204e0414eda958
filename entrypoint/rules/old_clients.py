"""Serve old clients through an ASGI middleware that vLLM loads with its own `--middleware` (pure).

The middleware itself is entrypoint.serve.old_clients (stdlib only, imported inside vLLM's server).
"""

from __future__ import annotations

from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, middleware

MIDDLEWARE = "entrypoint.serve.old_clients.LegacyClients"


def serve_old_clients(ctx: Context) -> Outcome | None:
    decision = ctx.decided["legacy_clients"]
    if not decision.value:
        return None
    reason = (f"guided_* request fields and Triton /v2/models/*/generate ({decision.reason}; "
              "LEGACY_CLIENTS=false turns it off)")
    return middleware(MIDDLEWARE, decision.source, reason)

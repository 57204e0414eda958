"""Serve old clients through an ASGI middleware that vLLM loads with its own `--middleware` (pure).

The middleware itself is entrypoint.serve.old_clients (stdlib only, imported inside vLLM's server).
"""

from __future__ import annotations

from entrypoint.rules.context import Context, Decision
from entrypoint.settings.argv import PassFlag

MIDDLEWARE = "entrypoint.serve.old_clients.LegacyClients"


def middleware(ctx: Context) -> None:
    decision = ctx.decided["legacy_clients"]
    if not decision.value:
        return
    reason = (f"guided_* request fields and Triton /v2/models/*/generate ({decision.reason}; "
              "LEGACY_CLIENTS=false turns it off)")
    ctx.extra_flags.append((PassFlag("--middleware", (MIDDLEWARE,)),
                            Decision(MIDDLEWARE, decision.source, reason)))

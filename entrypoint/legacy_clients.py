"""Serve old clients through an ASGI middleware that vLLM loads with its own `--middleware` (pure).

The middleware itself is entrypoint.legacy_asgi (stdlib only, imported inside the vLLM server).
"""

from __future__ import annotations

from .argv import PassFlag
from .derive import Context, Decision

MIDDLEWARE = "entrypoint.legacy_asgi.LegacyClients"


def middleware(ctx: Context) -> None:
    decision = ctx.decided["legacy_clients"]
    if not decision.value:
        return
    reason = (f"guided_* request fields and Triton /v2/models/*/generate ({decision.reason}; "
              "LEGACY_CLIENTS=false turns it off)")
    ctx.extra_flags.append((PassFlag("--middleware", (MIDDLEWARE,)),
                            Decision(MIDDLEWARE, decision.source, reason)))

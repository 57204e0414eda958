"""Serve legacy clients through an ASGI middleware vLLM loads with its own `--middleware` (pure).

The middleware itself is entrypoint.serve.legacy_clients (stdlib only, loaded inside vLLM's server).
"""

from __future__ import annotations

from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, middleware
from entrypoint.serve.names import LEGACY_CLIENTS


def serve_legacy_clients(ctx: Context) -> Outcome | None:
    decision = ctx.decided["legacy_clients"]
    if not decision.value:
        return None
    reason = (f"guided_* request fields and Triton /v2/models/*/generate ({decision.reason}; "
              "LEGACY_CLIENTS=false turns it off)")
    return middleware(LEGACY_CLIENTS, decision.source, reason)

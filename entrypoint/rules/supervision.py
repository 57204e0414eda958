"""Rule: always load the engine watch into vLLM's server (it changes nothing while the engine is
healthy; see `entrypoint.serve.supervision`)."""

from __future__ import annotations

from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, middleware
from entrypoint.serve.names import ENGINE_WATCH
from entrypoint.settings.provenance import Source


def watch_engine(ctx: Context) -> Outcome:
    return middleware(ENGINE_WATCH, Source.DEFAULT,
                      "exit non-zero when the engine dies; 503 while draining")

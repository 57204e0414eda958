"""Rule: always load the engine watch into vLLM's server (it changes nothing while the engine is
healthy; see `entrypoint.serve.supervision`)."""

from __future__ import annotations

from entrypoint.rules.context import Context, Decision
from entrypoint.serve.supervision import MIDDLEWARE
from entrypoint.settings.argv import PassFlag


def watch_engine(ctx: Context) -> None:
    ctx.extra_flags.append((PassFlag("--middleware", (MIDDLEWARE,)), Decision(
        MIDDLEWARE, "default", "exit non-zero when the engine dies; 503 while draining")))

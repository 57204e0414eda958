"""End open streams at the drain's deadline the way vLLM ends an aborted request (stdlib only).

Aborting a request in vLLM's engine client makes vLLM itself write the stream's last chunk
(finish_reason "abort"), the usage chunk when the client asked for one
(`stream_options={"include_usage": true}`, with vLLM's own token counts), and `data: [DONE]`.
The drain (`entrypoint.serve.supervision.drain`) does this first, while the engine still runs, and
ends itself only the streams still open after that (a Triton stream, say).

A stream is matched to its engine requests by the `id` of its chunks: vLLM names the engine
request after it (`cmpl-X-0`, `chatcmpl-X`, `chatcmpl-X_1` for several prompts).
"""

from __future__ import annotations

import asyncio

ABORT_WAIT_S = 2.0


def belongs_to(engine_id: str, stream_id: str) -> bool:
    return engine_id == stream_id or (engine_id.startswith(stream_id)
                                      and engine_id[len(stream_id)] in "-_")


def engine_requests(stream_ids: set[str], engine_ids: set[str]) -> list[str]:
    """The engine's (external) request ids that belong to the given streams."""
    return sorted(e for e in engine_ids if any(belongs_to(e, s) for s in stream_ids))


def open_engine_ids(engine_client) -> set[str]:
    processor = getattr(engine_client, "output_processor", None)
    states = getattr(processor, "request_states", None) or {}
    return {getattr(state, "external_req_id", None) or key for key, state in states.items()}


def abort(engine_client, stream_ids: set[str], loop: asyncio.AbstractEventLoop) -> list[str]:
    """From the drain's thread: abort the streams' engine requests; returns their ids."""
    if not stream_ids or not hasattr(engine_client, "abort"):
        return []

    async def on_loop() -> list[str]:
        ids = engine_requests(stream_ids, open_engine_ids(engine_client))
        if ids:
            await engine_client.abort(ids)
        return ids

    future = asyncio.run_coroutine_threadsafe(on_loop(), loop)
    try:
        return future.result(ABORT_WAIT_S)
    except Exception:  # noqa: BLE001 - a timeout or vLLM's refusal: the drain ends them itself
        future.cancel()
        return []

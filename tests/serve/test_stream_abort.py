"""Streams open at the drain's deadline are aborted in vLLM's engine, so vLLM ends them with its
usage chunk (issue 28); matched to engine requests by their chunks' id."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from entrypoint.serve import stream_abort


def test_engine_requests_are_matched_by_the_streams_chunk_id():
    engine = {"cmpl-ab12-0", "cmpl-ab12-1", "chatcmpl-cd34", "chatcmpl-ef56_0", "cmpl-ab123-0",
              "chatcmpl-other"}
    assert stream_abort.engine_requests({"cmpl-ab12", "chatcmpl-cd34", "chatcmpl-ef56"},
                                        engine) == ["chatcmpl-cd34", "chatcmpl-ef56_0",
                                                    "cmpl-ab12-0", "cmpl-ab12-1"]


class Engine:
    """Stands in for vLLM's AsyncLLM: the two attributes the abort reads."""

    def __init__(self, external_ids):
        states = {f"{e}-internal": SimpleNamespace(external_req_id=e) for e in external_ids}
        self.output_processor = SimpleNamespace(request_states=states)
        self.aborted = []

    async def abort(self, ids):
        self.aborted.append(ids)


def test_abort_runs_on_the_servers_loop_from_the_drain_thread():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        engine = Engine(["cmpl-x-0", "chatcmpl-y"])
        assert stream_abort.abort(engine, {"cmpl-x"}, loop) == ["cmpl-x-0"]
        assert engine.aborted == [["cmpl-x-0"]]
        assert stream_abort.abort(engine, set(), loop) == []
        assert stream_abort.abort(object(), {"cmpl-x"}, loop) == []  # no engine to ask
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_a_requested_stop_cancels_vllms_output_handler_before_the_engine_stops(monkeypatch):
    """Else the handler reads the engine's end as EngineDeadError and logs a traceback (issue 28:
    4 of 7 ordinary stops); the e2e proof is test_ordinary_stops_log_no_traceback."""
    from entrypoint.serve import supervision

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(supervision.STATE, "loop", loop)

    async def handler_task():
        return asyncio.ensure_future(asyncio.sleep(3600))

    try:
        task = asyncio.run_coroutine_threadsafe(handler_task(), loop).result(5)
        supervision.quiet_output_handler(SimpleNamespace(output_handler=task))
        assert task.cancelled()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

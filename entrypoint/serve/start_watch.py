"""A start of vLLM that ends when asked or when it failed, not when vLLM gets round to it.

Standard library only (runs in vLLM's process before vLLM is imported). Two ways a start hangs or
lingers in vLLM 0.32:

- SIGTERM during the engine handshake: vLLM turns it into KeyboardInterrupt, but the context
  manager around the handshake socket swallows that, and the API server goes on waiting for the
  engine's ready message for up to 600 s (VLLM_ENGINE_READY_TIMEOUT_S) - for ever in effect when
  the engine failed meanwhile. So after a SIGTERM the watch sends SIGTERM again while the server is
  not up (the handshake is over by then, nothing swallows it), and at the deadline (inside
  SHUTDOWN_TIMEOUT) it ends the start itself.
- A failure in the engine core or its worker: vLLM then spends 10-20 s in grace periods before
  its API server notices. The watch sees the failure line in the output and ends the start a
  moment later (the root cause is printed by then).

Ending is `Ending.finish`, shared with the shim's main thread: whichever comes first does it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

from entrypoint.serve.start_failures import FATAL

AFTER_FAILURE_S = 1.0  # for the traceback with the root cause to reach the output
NUDGE_EVERY_S = 2.0
TEARDOWN_S = 5.0  # what ending takes: descendants' grace (3 s), output flushed
SHUTDOWN_TIMEOUT_FLAG = "--shutdown-timeout"


def shutdown_timeout(argv: list[str]) -> float:
    """The --shutdown-timeout that vLLM will get (run always passes it); 0 (vLLM's) if absent."""
    for index, token in enumerate(argv):
        value = None
        if token == SHUTDOWN_TIMEOUT_FLAG and index + 1 < len(argv):
            value = argv[index + 1]
        elif token.startswith(SHUTDOWN_TIMEOUT_FLAG + "="):
            value = token.split("=", 1)[1]
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                return 0.0
    return 0.0


def stop_budget(timeout: float) -> float:
    """Seconds from the SIGTERM until the watch ends the start itself."""
    return max(1.0, timeout - TEARDOWN_S)


class Ending:
    """The shim's way out, taken once: by the main thread or by the watch, whichever is first."""

    def __init__(self, finish: Callable[[int, str | None], None]) -> None:
        self.finish_once, self.lock = finish, threading.Lock()

    def finish(self, status: int, sentence: str | None) -> bool:
        """False when the other side is finishing already."""
        if not self.lock.acquire(blocking=False):
            return False
        self.finish_once(status, sentence)
        return True

    @property
    def begun(self) -> bool:
        return self.lock.locked()


class StartWatch:
    def __init__(self, ending: Ending, serving: Callable[[], bool], budget: float,
                 stopped: tuple[int, str], failed: tuple[int, str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ending, self.serving, self.budget, self.clock = ending, serving, budget, clock
        self.stopped, self.failed = stopped, failed  # (exit status, sentence) for each way out
        self.stop_at: float | None = None
        self.failed_at: float | None = None
        self.wake = threading.Event()

    def start(self) -> StartWatch:
        threading.Thread(target=self.run, daemon=True, name="run-start-watch").start()
        return self

    def stop_requested(self) -> None:
        """From a signal handler: only notes the time. Once the server is up, a SIGTERM is the
        drain's business (bounded by the supervision middleware), not the start's."""
        if self.stop_at is None and not self.serving():
            self.stop_at = self.clock()
            self.wake.set()

    def observe(self, line: str) -> None:
        """Each line of vLLM's output (any process) while it starts."""
        if self.failed_at is None and not self.serving() and FATAL.search(line):
            self.failed_at = self.clock()
            self.wake.set()

    def due(self) -> tuple[tuple[int, str] | None, float]:
        """(the way to end now, or None; seconds until the next look). A requested stop wins
        over a failure: the platform asked the container to stop, and it stopped as asked."""
        now = self.clock()
        ends = []
        if self.failed_at is not None:
            ends.append(self.failed_at + AFTER_FAILURE_S)
        if self.stop_at is not None:
            ends.append(self.stop_at + self.budget)
        if ends and now >= min(ends):
            return (self.stopped if self.stop_at is not None else self.failed), 0.0
        return None, max(0.05, min([NUDGE_EVERY_S, *(end - now for end in ends)]))

    def run(self) -> None:
        self.wake.wait()
        while not self.ending.begun:
            way, wait = self.due()
            if way is not None:
                if self.ending.finish(*way):
                    os._exit(way[0])
                return
            time.sleep(wait)
            if self.stop_at is not None and not self.serving() and not self.ending.begun:
                os.kill(os.getpid(), signal.SIGTERM)  # see the module docstring

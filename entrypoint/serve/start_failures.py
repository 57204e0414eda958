"""Why vLLM failed to start, in one sentence read from its own output (standard library only).

vLLM's root cause is often printed by a child process (the engine core) while the API server only
raises "Engine core initialization failed". So the serve shim copies its own stdout and stderr
(inherited by every child) through pipes, keeping the last lines, and matches them against the
table in catalogs/data/start_failures.json once vLLM has failed.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "catalogs" / "data" / "start_failures.json"
KEEP_LINES = 600
SYNC = b"\x00run-output-sync\x00"
GENERIC = "Engine core initialization failed"  # the API server's echo of any engine failure
ERROR_LINE = re.compile(r"\b\w*(?:Error|Exception)\b: .+")
# The engine core or its worker failed: the traceback that follows ends with the root cause.
FATAL = re.compile(r"EngineCore failed to start\.|WorkerProc failed to start\.")


@dataclass(frozen=True)
class Cause:
    name: str
    pattern: re.Pattern
    says: str
    fix: str


@cache
def causes() -> tuple[Cause, ...]:
    rows = json.loads(TABLE.read_text(encoding="utf-8"))["causes"]
    return tuple(Cause(r["name"], re.compile(r["pattern"]), r["says"], r["fix"]) for r in rows)


def fill(template: str, match: re.Match) -> str:
    text = template
    for index, group in enumerate(match.groups(), start=1):
        text = text.replace(f"{{{index}}}", group if group is not None else "?")
    return text


def explain(output: str) -> str:
    """One sentence for `output` (vLLM's last lines): the recognised cause and its fix, if any."""
    for cause in causes():
        match = cause.pattern.search(output)
        if match:
            return (f"vLLM failed to start: {fill(cause.says, match)} ({cause.name}); "
                    f"{fill(cause.fix, match)}.")
    last = root_error(output) or "no error line recognised"
    if len(last) > 300:
        last = last[:300] + "..."
    return (f"vLLM failed to start ({last}); the cause is in vLLM's log above, and "
            f"docs/reliability.md lists the causes run recognises.")


def root_error(output: str) -> str | None:
    """The first error line after the engine's failure report, else the last one (what follows
    is teardown noise, such as multiprocessing's resource tracker complaining)."""
    fatal = FATAL.search(output)
    if fatal:
        first = next((e for e in ERROR_LINE.findall(output, fatal.end()) if GENERIC not in e), None)
        if first:
            return first.strip()
    errors = [line for line in ERROR_LINE.findall(output) if GENERIC not in line]
    return errors[-1].strip() if errors else None


class OutputTail:
    """Copies fds 1 and 2 (ours and our children's) through, remembering the last lines."""

    def __init__(self) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=KEEP_LINES)
        self.lock = threading.Lock()
        self.synced = {1: threading.Event(), 2: threading.Event()}
        self.originals: dict[int, int] = {}
        self.on_line = None  # called with each whole line (from the copying threads)

    def start(self) -> OutputTail:
        for fd in (1, 2):
            read_end, write_end = os.pipe()
            self.originals[fd] = os.dup(fd)
            os.dup2(write_end, fd)
            os.close(write_end)
            threading.Thread(target=self.copy, args=(read_end, fd), daemon=True,
                             name=f"run-output-{fd}").start()
        return self

    def copy(self, read_end: int, fd: int) -> None:
        pending = b""
        while True:
            try:
                data = os.read(read_end, 65536)
            except OSError:
                return
            if not data:
                return
            if SYNC in data:
                data = data.replace(SYNC, b"")
                self.synced[fd].set()
            with self.lock:  # after stop(), fd itself is the original stream again
                with contextlib.suppress(OSError):
                    os.write(self.originals.get(fd, fd), data)
                *complete, pending = (pending + data).split(b"\n")
                if len(pending) > 65536:
                    complete, pending = [*complete, pending], b""
                lines = [line.decode("utf-8", "replace") for line in complete]
                self.lines.extend(lines)
            if self.on_line is not None:
                for line in lines:
                    self.on_line(line)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def stop(self, wait: float = 2.0) -> str:
        """Everything written so far has passed through; fds 1 and 2 are the originals again."""
        if not self.originals:  # stopped already
            return self.text()
        for fd in (1, 2):
            try:
                os.write(fd, SYNC)
            except OSError:
                continue
        for event in self.synced.values():
            event.wait(wait)
        with self.lock:
            for fd, original in self.originals.items():
                os.dup2(original, fd)
                os.close(original)  # a reader behind it (the log watcher) sees end of file
            self.originals.clear()
        return self.text()

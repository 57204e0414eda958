"""Read vLLM's output on its way out and print one start summary when the server is ready.

Effect half of `entrypoint.serve.start_report` (standard library only: runs inside vLLM's process
before vLLM is imported). `begin()` routes file descriptors 1 and 2 through pipes to a small forked
watcher; every vLLM process inherits them, so the watcher sees the engine core's lines too. The
watcher copies each chunk unchanged to the original stream, feeds whole lines to the report until
the ready line, prints the summary once, then only copies. It ignores SIGINT and SIGTERM so the
shutdown lines still come through; it ends when every writer has closed (end of file).
"""

from __future__ import annotations

import os
import selectors
import signal
import sys
import time

from entrypoint.serve.start_report import StartReport

STARTED_AT = "RUN_STARTED_AT"  # set by `run` (epoch seconds) just before it hands over to vLLM
FDS = (1, 2)


def begin(environ=os.environ) -> int | None:
    """Start the watcher when `run` launched us; returns its pid (None when not started)."""
    started = environ.get(STARTED_AT)
    if not started:
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pipes = {fd: os.pipe() for fd in FDS}
    pid = os.fork()
    if pid == 0:
        for _, write_end in pipes.values():
            os.close(write_end)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            watch({read_end: fd for fd, (read_end, _) in pipes.items()}, float(started))
        finally:
            os._exit(0)
    for fd, (read_end, write_end) in pipes.items():
        os.dup2(write_end, fd)
        os.close(write_end)
        os.close(read_end)
    return pid


def watch(sources: dict[int, int], started: float) -> None:
    report, partial = StartReport(), {source: b"" for source in sources}
    selector = selectors.DefaultSelector()
    for source in sources:
        selector.register(source, selectors.EVENT_READ)
    while selector.get_map():
        for key, _ in selector.select():
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fd)
                continue
            write_all(sources[key.fd], chunk)
            if report.ready:
                continue
            *lines, partial[key.fd] = (partial[key.fd] + chunk).split(b"\n")
            for line in lines:
                report.observe(line.decode("utf-8", "replace"), time.time() - started)
            if report.ready:
                write_all(1, (report.summary() + "\n").encode())


def write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:  # the reader went away: keep draining the pipe, drop the copy
            return


def end(pid: int | None, grace_s: float = 3.0) -> None:
    """Before the shim exits: close our ends and let the watcher copy the last lines."""
    if pid is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    for fd in FDS:
        os.close(fd)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.05)

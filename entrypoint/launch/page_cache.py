"""Page-cache warm-up: read the weight files while vLLM starts, so its loader finds them in RAM.

vLLM spends its first seconds (often tens of seconds) importing, starting workers and building
the model before it reads a weight byte; reading the files into the page cache meanwhile turns
that wait into disk time saved. The reader must outlive `exec` (a thread would not), so launch
starts it as a detached process (`python -m entrypoint.launch.page_cache FILE...`) that
re-spawns itself in a new session and returns at once; it exits when it has read everything.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the reader processes import nothing of the plan (their start is on the path)
    from entrypoint.plan.steps import WarmPageCache

BLOCK = 16 * 2**20  # bytes per read; the size vLLM's own prefetch uses


def start(step: WarmPageCache) -> None:
    """The launch step: start the detached reader, return at once."""
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "entrypoint.launch.page_cache", "--detach",
         "--readers", str(step.readers), *step.files],
        stdin=subprocess.DEVNULL, check=False, timeout=30,
    )


def read_chunks(files: list[str], readers: int) -> int:
    """Read every file once, in BLOCK-sized pieces spread over `readers` threads; bytes read."""
    import threading

    chunks = [(name, offset) for name in files
              for offset in range(0, os.path.getsize(name), BLOCK)]
    lock = threading.Lock()
    done = [0]

    def worker() -> None:
        buffer = bytearray(BLOCK)
        fds: dict[str, int] = {}
        try:
            while True:
                with lock:
                    if not chunks:
                        return
                    name, offset = chunks.pop()
                if name not in fds:
                    fds[name] = os.open(name, os.O_RDONLY)
                got = os.preadv(fds[name], [buffer], offset)
                with lock:
                    done[0] += got
        finally:
            for fd in fds.values():
                os.close(fd)

    chunks.reverse()  # pop() from the end: files in order, front to back
    threads = [threading.Thread(target=worker) for _ in range(max(1, readers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0]


def evict(files: list[str]) -> None:
    """Drop the files' pages from the page cache (benchmarks: a cold start without root)."""
    for name in files:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd) if os.access(name, os.W_OK) else None
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main(argv: list[str]) -> int:
    detach = "--detach" in argv
    argv = [a for a in argv if a != "--detach"]
    if argv[:1] == ["--readers"]:  # as start() passes it
        readers, argv = int(argv[1]), argv[2:]
    else:  # started by hand
        from entrypoint.plan.steps import READERS as readers
    if detach:  # the grandchild outlives us and vLLM's exec; nobody waits for it
        import subprocess

        subprocess.Popen(
            [sys.executable, "-m", "entrypoint.launch.page_cache", "--readers", str(readers),
             *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
        return 0
    os.nice(10)  # yield the CPU to vLLM's start; the reads themselves wait on the disk
    read_chunks(argv, readers)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

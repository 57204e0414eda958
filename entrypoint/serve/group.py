"""No process of vLLM's group outlives the server (standard library only, Linux /proc).

The serve shim makes itself the subreaper of its descendants, so a process orphaned by a dead
engine core is re-parented to it rather than to init, and at exit it ends every descendant left:
SIGTERM, a short grace, then SIGKILL (at once for a process that blocks or ignores SIGTERM, such
as multiprocessing's resource tracker: waiting for it would only delay the end).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    # not Linux: descendants are still ended through their parent links
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def parents() -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # after "(comm)": state, ppid, ...
        if len(fields) > 1 and fields[0] != b"Z":
            found[int(entry)] = int(fields[1])
    return found


def descendants(root: int | None = None) -> list[int]:
    root = os.getpid() if root is None else root
    links = parents()
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in links.items() if ppid == parent]
        found += children
        frontier += children
    return found


def hears_sigterm(pid: int) -> bool:
    """False when the process blocks or ignores SIGTERM (its /proc status masks say so)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            masks = dict(line.split(":", 1) for line in handle if line.startswith("Sig"))
        deaf = int(masks["SigBlk"], 16) | int(masks["SigIgn"], 16)
    except (OSError, KeyError, ValueError):
        return True
    return not deaf & (1 << (signal.SIGTERM - 1))


def reap_zombies(pids: list[int]) -> None:
    """Collect those of `pids` that are our children and have exited (and only those: the log
    watcher is waited for by its own code)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def end_descendants(grace: float = 3.0, spare: set | None = None) -> list[int]:
    """SIGTERM every descendant but `spare`, SIGKILL those left after `grace`; returns the pids
    it met."""
    if not os.path.isdir("/proc"):
        return []
    spare = spare or set()

    def descendants_left() -> list[int]:
        return [pid for pid in descendants() if pid not in spare]

    met = descendants_left()
    for pid in met:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM if hears_sigterm(pid) else signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap_zombies(met)
        if not descendants_left():
            return met
        time.sleep(0.1)
    for pid in descendants_left():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    reap_zombies(met)
    return met

"""Page-cache warm-up: read the weight files while vLLM starts, so its loader finds them in RAM.

vLLM spends its first seconds (often tens of seconds) importing, starting workers and building
the model before it reads a weight byte; reading the files into the page cache meanwhile turns
that wait into disk time saved. The reader must outlive `exec` (a thread would not), so launch
starts it as a detached process (`python -m entrypoint.facts.page_cache FILE...`) that
re-spawns itself in a new session and returns at once; it exits when it has read everything.

`read_facts` is the read step (file sizes, free memory, mount type); `decide` in
`source_rules.warm_page_cache` is pure over them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from entrypoint.facts.weights import WEIGHT_SUFFIXES

BLOCK = 16 * 2**20  # bytes per read; the size vLLM's own prefetch uses
READERS = 8
# Mount types where a local read-ahead does not help or vLLM's own prefetch is the better tool.
NETWORK_FS = ("nfs", "nfs4", "lustre", "cifs", "smb3", "ceph", "glusterfs", "beegfs", "gpfs",
              "9p", "virtiofs", "fuse")  # fuse.* covers juicefs, s3fs, gcsfuse, CFS clients...


@dataclass(frozen=True)
class WeightFacts:
    files: tuple[str, ...]
    total_bytes: int
    available_bytes: int  # memory the kernel can give without swapping
    fs_type: str  # of the mount holding the first file ("" when unknown)

    @property
    def on_network_fs(self) -> bool:
        return self.fs_type.split(".")[0] in NETWORK_FS


def weight_files(model_dir: Path) -> list[Path]:
    """The files vLLM will read: one format only (safetensors preferred), like its loader."""
    for suffix in WEIGHT_SUFFIXES:
        found = sorted(p for p in model_dir.glob(f"*{suffix}") if p.is_file())
        if len(found) > 1:
            found = [p for p in found if not p.name.startswith("consolidated")]
        if found:
            return found
    return []


def containing_mount(path: Path, mounts: str | None = None) -> tuple[str, str] | None:
    """(mount point, file-system type) of the /proc/mounts entry that holds `path`: the longest
    point, the later of equal ones (a later mount hides an earlier one at the same place)."""
    try:
        mounts = mounts if mounts is not None else Path("/proc/mounts").read_text()
    except OSError:
        return None
    resolved = os.path.realpath(path)
    found = None
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point, kind = parts[1].replace("\\040", " "), parts[2]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and (found is None or len(point) >= len(found[0])):
            found = (point, kind)
    return found


def mount_type(path: Path, mounts: str | None = None) -> str:
    found = containing_mount(path, mounts)
    return found[1] if found else ""


def mount_point(path: Path, mounts: str | None = None) -> str:
    found = containing_mount(path, mounts)
    return found[0] if found else "/"


def available_memory() -> int:
    """MemAvailable, as psutil reports it on Linux, without importing psutil on every start."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import psutil

    return psutil.virtual_memory().available


def read_facts(model_dir: Path) -> WeightFacts:
    files = weight_files(model_dir)
    total = sum(p.stat().st_size for p in files)
    return WeightFacts(files=tuple(str(p) for p in files), total_bytes=total,
                       available_bytes=available_memory(),
                       fs_type=mount_type(files[0]) if files else "")


@dataclass(frozen=True)
class WarmPageCache:
    """Launch step: start the detached reader, return at once."""

    files: tuple[str, ...]
    total_bytes: int
    readers: int = READERS

    def describe(self) -> str:
        return (f"read {len(self.files)} weight file(s) ({self.total_bytes / 2**30:.2f} GiB) into"
                f" the page cache with {self.readers} parallel readers, in the background")

    def run(self) -> None:
        import subprocess  # here and below: launch and reader code, off the planning path

        subprocess.run(
            [sys.executable, "-m", "entrypoint.facts.page_cache", "--detach",
             "--readers", str(self.readers), *self.files],
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
    readers = READERS
    if argv[:1] == ["--readers"]:
        readers, argv = int(argv[1]), argv[2:]
    if detach:  # the grandchild outlives us and vLLM's exec; nobody waits for it
        import subprocess

        subprocess.Popen(
            [sys.executable, "-m", "entrypoint.facts.page_cache", "--readers", str(readers), *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
        return 0
    os.nice(10)  # yield the CPU to vLLM's start; the reads themselves wait on the disk
    read_chunks(argv, readers)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

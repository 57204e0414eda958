"""What the page-cache warm-up decision needs: weight files, their size, free memory, mount type.

`read_facts` is the read step; `rules.model_location.warm_page_cache` is pure over them and plans
the warm-up, which `entrypoint.launch.page_cache` performs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from entrypoint.facts.weights import WEIGHT_SUFFIXES

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

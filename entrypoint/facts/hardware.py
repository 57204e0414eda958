"""What accelerators this start has: a small interface in front of NVML (read step only).

The one seam is `NvmlLike`: the few pynvml calls we make. Tests hand `probe` a fake NVML; the real
start hands it the `pynvml` module. When NVML cannot load, `nvidia-smi` output is parsed instead.
Visibility follows CUDA's rules (CUDA_VISIBLE_DEVICES) and the container runtime's
(NVIDIA_VISIBLE_DEVICES), because NVML itself ignores both and would report every GPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Gpu:
    name: str
    capability: tuple[int, int]
    memory_bytes: int
    uuid: str = ""
    index: int | None = None  # NVML index on this machine; None when assumed

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / 2**30

    @property
    def capability_text(self) -> str:
        return f"{self.capability[0]}.{self.capability[1]}"

    def describe(self) -> str:
        where = f"{self.index}: " if self.index is not None else ""
        uuid = f", {self.uuid}" if self.uuid else ""
        return (f"{where}{self.name} (compute capability {self.capability_text}, "
                f"{self.memory_gib:.1f} GiB{uuid})")


@dataclass(frozen=True)
class Inventory:
    gpus: tuple[Gpu, ...]
    source: str  # "nvml", "nvidia-smi", "assumed", "none"
    note: str = ""  # how visibility was decided, or why no GPU was found
    # Set when NVIDIA_VISIBLE_DEVICES was applied here (a privileged container sees every GPU):
    # CUDA in vLLM would see them all too, so the launch pins it to these UUIDs.
    pin_uuids: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.gpus)

    @property
    def smallest(self) -> Gpu | None:
        """The GPU every plan is sized for: the least memory, then the oldest capability."""
        return min(self.gpus, key=lambda g: (g.memory_bytes, g.capability), default=None)

    @property
    def lowest_capability(self) -> tuple[int, int] | None:
        return min((g.capability for g in self.gpus), default=None)

    def describe(self) -> str:
        if not self.gpus:
            return "no GPU (CPU build of vLLM)" + (f"; {self.note}" if self.note else "")
        first = self.gpus[0]
        mixed = "" if len({g.name for g in self.gpus}) == 1 else " (mixed models; smallest used)"
        text = (f"{self.count}x {first.name} (compute capability {first.capability_text}, "
                f"{first.memory_gib:.0f} GiB){mixed} [{self.source}]")
        return text + (f"; {self.note}" if self.note else "")

    def device_list(self) -> str:
        return "; ".join(g.describe() for g in self.gpus) or "none"


NO_GPU = Inventory(gpus=(), source="none")


class NvmlLike(Protocol):
    """The part of `pynvml` we use (a fake with these names stands in for it in tests)."""

    NVMLError: type[Exception]

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetUUID(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]: ...
    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any: ...


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def read_nvml(nvml: NvmlLike) -> list[Gpu] | None:
    """Every GPU NVML sees, in NVML order; None when NVML cannot start (no driver)."""
    try:
        nvml.nvmlInit()
    except nvml.NVMLError:
        return None
    try:
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(Gpu(
                name=_text(nvml.nvmlDeviceGetName(handle)),
                capability=(int(major), int(minor)),
                memory_bytes=int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
                uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                index=index,
            ))
        return gpus
    except nvml.NVMLError:
        return None
    finally:
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()


NVML_LIBRARY = "libnvidia-ml.so.1"  # the name pynvml loads on Linux
SMI_QUERY = ["--query-gpu=index,uuid,name,compute_cap,memory.total",
             "--format=csv,noheader,nounits"]


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """`nvidia-smi --query-gpu=index,uuid,name,compute_cap,memory.total` CSV (memory in MiB)."""
    gpus = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 5:
            continue
        index, uuid, name, capability, memory_mib = fields
        try:
            major, minor = (int(part) for part in capability.split("."))
            gpus.append(Gpu(name=name, capability=(major, minor),
                            memory_bytes=int(float(memory_mib)) * 2**20, uuid=uuid,
                            index=int(index)))
        except ValueError:
            continue
    return gpus


def on_path(name: str) -> str | None:
    """shutil.which, without importing shutil (and the compression modules it loads)."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(folder, name)
        if folder and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def run_nvidia_smi() -> str | None:
    binary = on_path("nvidia-smi")
    if binary is None:
        return None
    import subprocess  # the fallback when NVML is missing: kept off the usual start

    try:
        done = subprocess.run([binary, *SMI_QUERY], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


HIDDEN_WORDS = {"none", "void", "", "-1"}


def _pick(gpus: list[Gpu], entries: list[str]) -> list[Gpu]:
    """CUDA's reading of a device list: indices or (prefixes of) UUIDs; stops at a bad entry."""
    picked: list[Gpu] = []
    for entry in entries:
        if entry.isdigit():
            match = [gpus[int(entry)]] if int(entry) < len(gpus) else []
        else:
            match = [g for g in gpus if g.uuid and g.uuid.startswith(entry)]
        if len(match) != 1 or match[0] in picked:
            break  # CUDA ignores the rest of the list after an invalid entry
        picked.append(match[0])
    return picked


def visible(gpus: list[Gpu], environ: Mapping[str, str]) -> tuple[list[Gpu], str]:
    """The GPUs CUDA in this process will see, and a note saying which variable decided it."""
    notes = []
    runtime = environ.get("NVIDIA_VISIBLE_DEVICES")
    if runtime is not None:
        word = runtime.strip().lower()
        entries = [e.strip() for e in runtime.split(",") if e.strip()]
        if word in HIDDEN_WORDS:
            return [], f"NVIDIA_VISIBLE_DEVICES={runtime}"
        # Inside a container the runtime already mounted only the listed GPUs (renumbered from
        # 0); a privileged container still sees every GPU, and then the list is applied here.
        if word != "all" and len(gpus) > len(entries):
            gpus = _pick(gpus, entries)
            notes.append(f"NVIDIA_VISIBLE_DEVICES={runtime}")
    cuda = environ.get("CUDA_VISIBLE_DEVICES")
    if cuda is not None:
        word = cuda.strip().lower()
        if word in HIDDEN_WORDS:
            return [], f"CUDA_VISIBLE_DEVICES={cuda!r}"
        if word.startswith("mig-"):
            # a MIG slice: its memory is not probed, so sizing is left to vLLM (TP 1, no preflight)
            return [], f"CUDA_VISIBLE_DEVICES={cuda} names a MIG instance, which is not sized here"
        if word != "all":
            gpus = _pick(gpus, [e.strip() for e in cuda.split(",")])
            notes.append(f"CUDA_VISIBLE_DEVICES={cuda}")
    return gpus, ", ".join(notes)


def _load_pynvml() -> NvmlLike | None:
    if sys.platform == "linux":
        import ctypes

        try:  # pynvml's own first step: without a driver, pynvml's slow import is skipped
            ctypes.CDLL(NVML_LIBRARY)
        except OSError:
            return None
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


def probe(environ: Mapping[str, str] | None = None, nvml: NvmlLike | None = None,
          smi: Callable[[], str | None] = run_nvidia_smi) -> Inventory:
    """Visible GPUs through NVML (the `pynvml` module unless given), else nvidia-smi."""
    environ = os.environ if environ is None else environ
    library = nvml if nvml is not None else _load_pynvml()
    found = read_nvml(library) if library is not None else None
    source = "nvml"
    if found is None:
        output = smi()
        found = parse_nvidia_smi(output) if output else None
        source = "nvidia-smi"
    if not found:
        return Inventory(gpus=(), source="none", note="neither NVML nor nvidia-smi found a GPU")
    shown, note = visible(found, environ)
    if not shown:
        hidden = note if "MIG" in note else f"{len(found)} GPU(s) hidden by {note}"
        return Inventory(gpus=(), source="none", note=hidden)
    narrowed = "NVIDIA_VISIBLE_DEVICES" in note and "CUDA_VISIBLE_DEVICES" not in environ
    pin = tuple(g.uuid for g in shown) if narrowed and all(g.uuid for g in shown) else ()
    return Inventory(gpus=tuple(shown), source=source, note=note, pin_uuids=pin)

"""What accelerators this start has: a small interface in front of NVML (read step only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    name: str
    capability: tuple[int, int]
    memory_bytes: int

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / 2**30


@dataclass(frozen=True)
class Inventory:
    gpus: tuple[Gpu, ...]
    source: str  # "nvml", "assumed", "none"

    @property
    def count(self) -> int:
        return len(self.gpus)

    def describe(self) -> str:
        if not self.gpus:
            return "no GPU (CPU build of vLLM)"
        first = self.gpus[0]
        return (f"{self.count}x {first.name} (compute capability "
                f"{first.capability[0]}.{first.capability[1]}, {first.memory_gib:.0f} GiB) "
                f"[{self.source}]")


NO_GPU = Inventory(gpus=(), source="none")


def probe() -> Inventory:
    """Visible GPUs through NVML; none when NVML or a driver is absent."""
    try:
        import pynvml
    except ImportError:
        return NO_GPU
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return NO_GPU
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(Gpu(
                name=name.decode() if isinstance(name, bytes) else name,
                capability=tuple(pynvml.nvmlDeviceGetCudaComputeCapability(handle)),
                memory_bytes=pynvml.nvmlDeviceGetMemoryInfo(handle).total,
            ))
        return Inventory(gpus=tuple(gpus), source="nvml")
    finally:
        pynvml.nvmlShutdown()

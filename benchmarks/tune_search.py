"""`run tune`'s search, pure: from the measurements so far to the next probe (no server, no clock).

A probe is one `vllm bench serve` run of one candidate setting at one concurrency; it passes when
every target holds (`p90_ttft_ms <= 500`, ...) and every request completed. Per candidate the
highest passing concurrency is found by doubling until a probe fails, then bisecting until the
gap is within the resolution. Candidates after the first start where the best so far stopped:
a candidate that fails at the incumbent's limit holds fewer users and is dropped after that one
probe; one that passes is tried at the incumbent's first failure, and only climbs on from there.
A candidate's limit counts once a second probe there passed too (a failure lowers it): a single
pass at the edge can be noise, and the limit decides both the winner and where the next
candidate starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# A tie in users held is broken by throughput only beyond this margin: two runs of the same
# setting differ by about 2 % on an H200 (issue 21), far more on a shared CPU.
THROUGHPUT_MARGIN = 0.05
# Passing probes a limit needs. On an H200 (2026-12-06) the defaults passed at 52 users with 15 ms
# of p90 TTFT to spare and missed at 56 by 115 ms; three candidates then missed at 52 by 125-168 ms.
# One probe at the edge could not tell noise from a worse setting.
CONFIRMATIONS = 2


@dataclass(frozen=True)
class Candidate:
    name: str
    settings: Mapping[str, object]  # engine arguments: {"max_num_batched_tokens": 2048}
    why: str = ""


@dataclass(frozen=True)
class Measurement:
    candidate: str
    concurrency: int
    figures: Mapping[str, float]  # vLLM's result: p90_ttft_ms, output_throughput, completed...


@dataclass(frozen=True)
class Limits:
    start: int = 1  # the first concurrency probed when nothing is known yet
    cap: int = 256  # never probe above this
    resolution: float = 0.125  # stop bisecting when the gap is within this share of the limit


@dataclass(frozen=True)
class Probe:
    candidate: str
    concurrency: int


@dataclass(frozen=True)
class Outcome:
    """What one candidate holds: its limit (0: not even the first probe) and the figures there."""

    candidate: str
    holds: int
    first_failure: int | None  # the lowest failing concurrency above `holds`; None: the cap held
    figures: Mapping[str, float] = field(default_factory=dict)
    pruned: bool = False  # failed at the incumbent's limit: holds fewer, not searched further

    @property
    def throughput(self) -> float:
        return float(self.figures.get("output_throughput", 0.0))


def misses(figures: Mapping[str, float], targets: Mapping[str, float]) -> list[str]:
    """The targets a probe missed (`p90_ttft_ms 612 > 500`); an unfinished request is a miss."""
    missed = [f"{metric} {figures.get(metric, math.inf):.1f} > {limit:g}"
              for metric, limit in targets.items() if not figures.get(metric, math.inf) <= limit]
    done, asked = figures.get("completed", 0), figures.get("num_prompts", 0)
    if done < asked:
        missed.append(f"{asked - done:g} of {asked:g} requests failed")
    return missed


def meets(figures: Mapping[str, float], targets: Mapping[str, float]) -> bool:
    return not misses(figures, targets)


def outcome(name: str, measured: Sequence[Measurement], targets: Mapping[str, float],
            seed: int | None = None) -> Outcome:
    """The candidate's limit so far. A pass above a failure is noise and does not count."""
    mine = [m for m in measured if m.candidate == name]
    failures = [m.concurrency for m in mine if not meets(m.figures, targets)]
    first_failure = min(failures, default=None)
    passes = [m for m in mine if meets(m.figures, targets)
              and (first_failure is None or m.concurrency < first_failure)]
    best = max(passes, key=lambda m: m.concurrency, default=None)
    return Outcome(name, best.concurrency if best else 0, first_failure,
                   best.figures if best else {},
                   pruned=seed is not None and first_failure == seed and best is None)


def confirmed(result: Outcome, measured: Sequence[Measurement], targets: Mapping[str, float]
              ) -> bool:
    """Nothing held, or the limit passed as often as CONFIRMATIONS asks."""
    passes = [m for m in measured if m.candidate == result.candidate
              and m.concurrency == result.holds and meets(m.figures, targets)]
    return result.holds == 0 or len(passes) >= CONFIRMATIONS


def better(challenger: Outcome, incumbent: Outcome | None) -> bool:
    """More users held wins; at the same number, clearly more output tokens/s."""
    if incumbent is None:
        return True
    if challenger.holds != incumbent.holds:
        return challenger.holds > incumbent.holds
    return challenger.throughput > incumbent.throughput * (1 + THROUGHPUT_MARGIN)


def settled(result: Outcome, limits: Limits) -> bool:
    if result.first_failure is None:
        return result.holds >= limits.cap
    if result.holds == 0:
        return True  # failed at its first probe: the start or the incumbent's limit
    return result.first_failure - result.holds <= max(1, math.floor(result.holds
                                                                     * limits.resolution))


def load(figures: Mapping[str, float], targets: Mapping[str, float]) -> float:
    """The tightest target's share used: 0.8 when the closest metric is at 80 % of its limit."""
    return max((figures.get(metric, math.inf) / limit for metric, limit in targets.items()),
               default=0.0)


def predicted(points: Sequence[tuple[int, float]]) -> float | None:
    """Where the load reaches 1, extrapolated from the last two passing probes (latency grows
    about linearly with users until the knee; past it the probe fails and bisection takes over)."""
    if len(points) < 2:
        return None
    (low, low_load), (high, high_load) = points[-2], points[-1]
    if high_load <= low_load:
        return None
    return high + (1 - high_load) * (high - low) / (high_load - low_load)


def next_concurrency(result: Outcome, passes: Sequence[tuple[int, float]], tried: set[int],
                     limits: Limits, seed: int, seed_failure: int | None) -> int | None:
    """Where this candidate is probed next; None when its limit is known well enough. PASSES:
    (concurrency, load) of its passing probes below its first failure, in increasing order."""
    if seed not in tried:
        return seed
    if settled(result, limits):
        return None
    if result.first_failure is None:  # still climbing
        if seed_failure is not None and seed_failure not in tried and seed_failure > result.holds:
            return min(seed_failure, limits.cap)
        least = result.holds + max(1, math.floor(result.holds * limits.resolution))
        guess = predicted(passes)
        step = result.holds * 2 if guess is None else max(least, min(int(guess),
                                                                     result.holds * 2))
        return min(step, limits.cap)
    return (result.holds + result.first_failure) // 2


def search_state(candidates: Sequence[Candidate], measured: Sequence[Measurement],
                 targets: Mapping[str, float], limits: Limits
                 ) -> tuple[list[Outcome], Probe | None]:
    """Every candidate's outcome so far (in order) and the next probe, None when all are done.
    Candidates are searched one after another (each is one server start)."""
    outcomes: list[Outcome] = []
    for candidate in candidates:
        best = winner(outcomes)
        seeded = best is not None and best.holds > 0
        seed, seed_failure = (best.holds, best.first_failure) if seeded else (limits.start, None)
        result = outcome(candidate.name, measured, targets, seed if seeded else None)
        mine = [m for m in measured if m.candidate == candidate.name]
        passes = sorted((m.concurrency, load(m.figures, targets)) for m in mine
                        if m.concurrency <= result.holds and meets(m.figures, targets))
        step = next_concurrency(result, passes, {m.concurrency for m in mine}, limits,
                                min(seed, limits.cap), seed_failure)
        if step is None and not confirmed(result, mine, targets):
            step = result.holds  # the limit's probe once more
        if step is not None:
            return [*outcomes, result], Probe(candidate.name, step)
        outcomes.append(result)
    return outcomes, None


def winner(outcomes: Sequence[Outcome]) -> Outcome | None:
    best: Outcome | None = None
    for result in outcomes:
        if better(result, best):
            best = result
    return best

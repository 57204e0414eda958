"""`run tune`'s search on plain data: a model of a server (latency rising with concurrency) stands
in for the measurements, and the search is asked for one probe after another."""

from __future__ import annotations

import pytest

from benchmarks.tune_candidates import Facts, bound, dimensions, next_step
from benchmarks.tune_search import (
    Candidate,
    Limits,
    Measurement,
    misses,
    outcome,
    predicted,
    search_state,
    winner,
)

TARGETS = {"p90_ttft_ms": 500.0, "p90_tpot_ms": 50.0}
DEFAULTS = Candidate("run-defaults", {})


def server(ttft_per_user: float, tpot_per_user: float, tokens_per_user: float = 60.0):
    """Latency linear in concurrency: a server that holds about min(500/a, 50/b) users."""
    def figures(concurrency: int) -> dict[str, float]:
        return {"p90_ttft_ms": 50 + ttft_per_user * concurrency,
                "p90_tpot_ms": 5 + tpot_per_user * concurrency,
                "output_throughput": tokens_per_user * concurrency,
                "completed": 4 * concurrency, "num_prompts": 4 * concurrency}
    return figures


WIDE = Limits(start=1, cap=256)


def drive(candidates, servers, limits=WIDE):
    """Ask for probes until the search is done; every probe is answered by the model server."""
    measured = []
    while True:
        outcomes, probe = search_state(candidates, measured, TARGETS, limits)
        if probe is None:
            return outcomes, measured
        done = outcome(probe.candidate, measured, TARGETS)
        assert probe.concurrency == done.holds or probe.concurrency not in {
            m.concurrency for m in measured if m.candidate == probe.candidate}, "probed twice"
        measured.append(Measurement(probe.candidate, probe.concurrency,
                                    servers[probe.candidate](probe.concurrency)))


def test_doubling_then_bisecting_finds_the_limit_in_few_probes():
    # TTFT 50 + 9c <= 500 holds up to c = 50
    outcomes, measured = drive([DEFAULTS], {"run-defaults": server(9.0, 0.1)})
    # doubling while far below the targets, then straight to where the latency line crosses
    assert [m.concurrency for m in measured] == [1, 2, 4, 8, 16, 32, 50, 56, 50]  # 50 confirmed
    result = outcomes[0]
    assert result.first_failure - result.holds <= max(1, result.holds // 8)
    assert result.holds == 50
    assert result.figures["output_throughput"] == 60.0 * result.holds


def test_a_candidate_worse_than_the_incumbent_is_dropped_after_one_probe():
    worse = Candidate("worse", {"max_num_batched_tokens": 512})
    outcomes, measured = drive([DEFAULTS, worse], {"run-defaults": server(9.0, 0.1),
                                                   "worse": server(20.0, 0.1)})
    mine = [m for m in measured if m.candidate == "worse"]
    assert len(mine) == 1 and mine[0].concurrency == outcomes[0].holds
    assert outcomes[1].pruned and outcomes[1].holds == 0
    assert winner(outcomes).candidate == "run-defaults"


def test_a_candidate_as_good_costs_three_probes_and_does_not_win_on_noise():
    same = Candidate("same", {"enable_prefix_caching": False})
    outcomes, measured = drive([DEFAULTS, same], {"run-defaults": server(9.0, 0.1),
                                                  "same": server(9.0, 0.1, 61.0)})
    assert len([m for m in measured if m.candidate == "same"]) == 3  # its limit twice
    assert outcomes[1].holds == outcomes[0].holds
    assert winner(outcomes).candidate == "run-defaults"  # 1.7 % more tokens/s is noise


def test_a_better_candidate_starts_at_the_incumbents_failure_and_climbs():
    better = Candidate("better", {"max_num_batched_tokens": 16384})
    outcomes, measured = drive([DEFAULTS, better], {"run-defaults": server(9.0, 0.1),
                                                    "better": server(4.0, 0.1)})
    mine = [m.concurrency for m in measured if m.candidate == "better"]
    assert mine[:2] == [outcomes[0].holds, outcomes[0].first_failure]
    assert 100 <= outcomes[1].holds <= 112  # 50 + 4c <= 500: c <= 112
    assert winner(outcomes).candidate == "better"


def test_the_cap_ends_the_climb():
    outcomes, measured = drive([DEFAULTS], {"run-defaults": server(0.1, 0.01)},
                               Limits(start=4, cap=24))
    assert [m.concurrency for m in measured] == [4, 8, 16, 24, 24]
    assert outcomes[0].holds == 24 and outcomes[0].first_failure is None


def test_failing_at_the_start_holds_nobody():
    outcomes, measured = drive([DEFAULTS], {"run-defaults": server(600.0, 0.1)})
    assert len(measured) == 1 and outcomes[0].holds == 0


def test_a_pass_above_a_failure_is_noise():
    measured = [Measurement("run-defaults", c, server(9.0, 0.1)(c)) for c in (8, 16)]
    measured.append(Measurement("run-defaults", 64, server(9.0, 0.1)(4)))  # a lucky run
    measured.append(Measurement("run-defaults", 32, server(9.0, 0.1)(70)))
    assert outcome("run-defaults", measured, TARGETS).holds == 16


def test_misses_name_the_target_and_failed_requests():
    figures = {"p90_ttft_ms": 612.0, "p90_tpot_ms": 20.0, "completed": 30, "num_prompts": 32}
    assert misses(figures, TARGETS) == ["p90_ttft_ms 612.0 > 500", "2 of 32 requests failed"]
    assert bound(["p90_ttft_ms 612.0 > 500"]) == {"ttft"}
    assert bound([]) == {"ttft", "tpot"}


# --- which settings are tried -------------------------------------------------------------

H100 = Facts(cpu_build=False, gpu_name="NVIDIA H100 80GB HBM3", gpu_memory_gib=79.6,
             gpu_capability=(9, 0))


def names(steps):
    return [c.name for step in steps for c in step]


def test_ttft_bound_tries_a_larger_prefill_budget_not_a_smaller_one():
    tried = names(dimensions(H100, {"ttft"}, 32))
    assert tried[0] == "mnbt-16384" and "mnbt-2048" not in tried
    assert "no-chunked-prefill" in tried and not any(n.startswith("seqs-") for n in tried)


def test_tpot_bound_tries_smaller_chunks_and_caps_the_batch_where_it_held():
    tried = names(dimensions(H100, {"tpot"}, 32))
    assert tried[:2] == ["mnbt-2048", "seqs-32"] and "no-chunked-prefill" not in tried


@pytest.mark.parametrize(("facts", "fp8"), [
    (H100, True),
    (Facts(cpu_build=False, gpu_name="NVIDIA A100-SXM4-80GB", gpu_memory_gib=80,
           gpu_capability=(8, 0)), False),
    (Facts(cpu_build=False, gpu_name="NVIDIA L40S", gpu_memory_gib=45,
           gpu_capability=(8, 9)), True),
    (Facts(cpu_build=True), False),
])
def test_fp8_kv_cache_only_where_vllm_has_fp8_attention(facts, fp8):
    assert ("fp8-kv" in names(dimensions(facts, {"ttft", "tpot"}, 8))) == fp8


def test_lookahead_and_prefix_caching_follow_the_workload():
    rag = Facts(cpu_build=True, repeats_prompt=True, shared_prefixes=True)
    tried = names(dimensions(rag, {"tpot"}, 8))
    assert "lookahead" in tried and "no-prefix-caching" not in tried
    assert "lookahead" not in names(dimensions(Facts(cpu_build=True), {"tpot"}, 8))


def test_cpu_sizes_are_around_vllm_cpu_defaults_and_the_small_grid_is_one_start():
    small = dimensions(Facts(cpu_build=True, grid="small"), {"ttft", "tpot"}, 8)
    assert names(small) == ["mnbt-4096"]


def test_the_whole_search_builds_on_the_winner_and_stays_far_below_the_grid():
    """TTFT binds; the larger prefill budget holds more, chunked prefill off on top of it more
    still; everything else is no better. Fewer probes than a grid walk's servers x levels."""
    models = {"run-defaults": server(9.0, 0.1), "mnbt-16384": server(6.0, 0.1)}
    candidates, measured = [DEFAULTS], []
    limits = Limits(start=4, cap=256)
    while True:
        candidates, outcomes, probe = next_step(H100, TARGETS, limits, candidates, measured)
        if probe is None:
            break
        name = probe.candidate
        model = models.get(name) or (server(5.0, 0.1) if name.endswith("no-chunked-prefill")
                                     else server(9.5, 0.1))
        measured.append(Measurement(name, probe.concurrency, model(probe.concurrency)))
    best = winner(outcomes)
    assert best.candidate == "mnbt-16384+no-chunked-prefill"
    chosen = next(c for c in candidates if c.name == best.candidate)
    assert chosen.settings == {"enable_chunked_prefill": False}  # vLLM sizes the budget then
    assert [c.name for c in candidates] == [
        "run-defaults", "mnbt-16384", "mnbt-16384+no-chunked-prefill",
        "mnbt-16384+no-chunked-prefill+no-prefix-caching", "mnbt-16384+no-chunked-prefill+fp8-kv"]
    assert len(measured) <= 19  # a grid of 5 settings x 8 concurrency levels is 40


def test_the_prediction_is_the_latency_line_crossing_its_limit():
    assert predicted([(8, 0.25), (16, 0.5)]) == 32
    assert predicted([(16, 0.5)]) is None and predicted([(8, 0.5), (16, 0.4)]) is None


def test_bisection_when_the_prediction_overshoots():
    # convex latency: the straight line from below promises more than the knee allows
    def knee(c):
        return {"p90_ttft_ms": 50 + 2 * c + (0 if c <= 40 else 40 * (c - 40)),
                "p90_tpot_ms": 10, "output_throughput": c, "completed": 1, "num_prompts": 1}
    outcomes, measured = drive([DEFAULTS], {"run-defaults": knee}, Limits(start=8, cap=256))
    assert 40 <= outcomes[0].holds <= 48 and len(measured) <= 8


def test_a_lucky_pass_at_the_limit_does_not_stand():
    """The H200 tune's shape: 52 users passed once on the edge. The repeat misses, so the limit
    drops to where two probes passed, and the next candidate starts there."""
    steady = server(9.0, 0.1)  # holds 50 users
    seen: dict[int, int] = {}

    def lucky(concurrency: int) -> dict[str, float]:
        seen[concurrency] = seen.get(concurrency, 0) + 1
        first_at_the_edge = concurrency == 52 and seen[concurrency] == 1
        return steady(48 if first_at_the_edge else concurrency)

    other = Candidate("other", {"enable_prefix_caching": False})
    outcomes, measured = drive([DEFAULTS, other], {"run-defaults": lucky, "other": steady},
                               Limits(start=32, cap=256))
    defaults = [m.concurrency for m in measured if m.candidate == "run-defaults"]
    assert defaults.count(52) == 2 and outcomes[0].first_failure == 52
    assert outcomes[0].holds == 48 and defaults.count(48) == 2  # within the 1/8 resolution
    assert [m.concurrency for m in measured if m.candidate == "other"][0] == 48

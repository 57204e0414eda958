"""Startup figures: `run --dry-run` wall time, time to /health for `run` against the same vLLM
command started directly, and a cold against a warm restart (vLLM's compile cache).

Usage: bench MODEL_DIR --only startup [--out DIR] [--suite cpu|gpu]
       bench MODEL_DIR --only dry-run      the dry-run figure alone (no server started)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import server


def dry_run_seconds(model: str, repeats: int) -> list[float]:
    """Wall seconds of `run MODEL --dry-run` in fresh processes, after one run not counted (it
    may write bytecode caches)."""
    times = []
    for attempt in range(repeats + 1):
        started = time.monotonic()
        subprocess.run([*server.RUN, model, "--dry-run"], capture_output=True, check=True)
        if attempt:
            times.append(time.monotonic() - started)
    return times


def dry_run_line(times: list[float]) -> str:
    return (f"bench: run --dry-run median {statistics.median(times):.3f}s "
            f"(min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)")


def time_to_ready(start) -> float:
    """Seconds from START() (which starts a server) to its first /health = 200; then stop it."""
    with start() as running:
        return running.wait_healthy()


def run_vs_direct(model: str, args: list[str], repeats: int, logs: Path) -> dict:
    """Starts of `run MODEL ARGS` and of the vLLM command `run` would exec, in alternating order
    (run first, then direct first, ...) so a load that drifts does not favour one side."""
    planned = server.plan(model, args)

    def through_run(attempt: int) -> float:
        log = logs / f"startup-run-{attempt}.log"
        return time_to_ready(lambda: server.through_run(model, args, log))

    def direct(attempt: int) -> float:
        # The same argv (its port swapped for a free one) and environment, without `run`.
        port = server.free_port()
        argv = list(planned["argv"])
        argv[argv.index("--port") + 1] = str(port)
        log = logs / f"startup-direct-{attempt}.log"
        return time_to_ready(lambda: server.Server(argv, planned["env"], log, port))

    run_times, direct_times = [], []
    for attempt in range(repeats):
        if attempt % 2 == 0:
            run_times.append(through_run(attempt))
            direct_times.append(direct(attempt))
        else:
            direct_times.append(direct(attempt))
            run_times.append(through_run(attempt))
    run_median, direct_median = statistics.median(run_times), statistics.median(direct_times)
    return {"args": args, "run_s": run_times, "direct_s": direct_times,
            "run_median_s": run_median, "direct_median_s": direct_median,
            "added_s": run_median - direct_median, "ratio": run_median / direct_median}


def cold_vs_warm(model: str, args: list[str], logs: Path) -> dict:
    """Two starts through `run` sharing a fresh compile cache: the first compiles, the second
    reuses it (what a container restart on the same volume sees)."""
    with tempfile.TemporaryDirectory(prefix="bench-vllm-cache-") as cache:
        env = {"VLLM_CACHE_ROOT": cache}
        cold = time_to_ready(lambda: server.through_run(
            model, args, logs / "restart-cold.log", env=env))
        warm = time_to_ready(lambda: server.through_run(
            model, args, logs / "restart-warm.log", env=env))
    return {"args": args, "cold_s": cold, "warm_s": warm, "ratio": cold / warm}


def measure(model: str, spec: dict, out: Path) -> dict:
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    dry = dry_run_seconds(model, spec["dry_run_repeats"])
    figures = {"dry_run_s": dry, "dry_run_median_s": statistics.median(dry)}
    print(dry_run_line(dry), file=sys.stderr)
    figures["ready"] = run_vs_direct(model, spec["ready_args"], spec["ready_repeats"], logs)
    print(f"bench: /health through run {figures['ready']['run_median_s']:.1f}s, "
          f"direct {figures['ready']['direct_median_s']:.1f}s", file=sys.stderr)
    figures["restart"] = cold_vs_warm(model, spec["restart_args"], logs)
    print(f"bench: cold start {figures['restart']['cold_s']:.1f}s, "
          f"warm {figures['restart']['warm_s']:.1f}s", file=sys.stderr)
    figures["cpu_count"] = os.cpu_count()
    return figures

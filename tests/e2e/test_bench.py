"""`bench` for real: starts the tiny model through `run`, drives it with `vllm bench serve`
(one concurrency, a few prompts, two datasets) and writes the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENV_KNOBS, REPO


@pytest.mark.e2e
def test_bench_ci_suite_writes_a_report_from_a_real_server(demo_model: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", str(demo_model), "--suite", "ci",
         "--only", "serving", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert {run["dataset"] for run in results["runs"]} == {"random", "shared-prefix"}
    for run in results["runs"]:
        result = run["result"]
        assert result["completed"] == result["num_prompts"] >= 4 and result["failed"] == 0
        assert result["output_throughput"] > 0 and result["p99_ttft_ms"] > 0
        name = f"run-defaults__{run['dataset']}__c2__r{run['repeat']}.json"
        raw = json.loads((tmp_path / "raw" / name).read_text())
        assert raw["output_throughput"] == result["output_throughput"]
    shared = next(run for run in results["runs"] if run["dataset"] == "shared-prefix")
    # The turns resend the shared system prompt: run's default prefix caching must hit.
    assert shared["counters"]["vllm:prefix_cache_hits_total"] > 0
    page = (tmp_path / "report.md").read_text()
    assert "## Dataset `shared-prefix`" in page
    assert results["servers"]["run-defaults"]["started_with"] == "run"
    assert f"{results['servers']['run-defaults']['ready_s']:.1f} s" in page
    assert (tmp_path / "img" / "throughput-random.png").stat().st_size > 0

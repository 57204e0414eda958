"""The report: markdown tables, matplotlib plots and the raw JSON, from the suite's results.json.

Usage: python -m benchmarks.report RESULTS_JSON [--out DIR]  (re-render a recorded run)
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

PERCENTILES = (50, 90, 99)
# Ratio columns: for throughput higher is better, for latencies lower is better. Means, not
# medians: a server short of CPU streams several tokens per chunk, which makes median TPOT/ITL
# exactly 0 and a median ratio meaningless.
RATIO_METRICS = (("output tok/s", "output_throughput"), ("TTFT mean", "mean_ttft_ms"),
                 ("TPOT mean", "mean_tpot_ms"), ("E2E latency mean", "mean_e2el_ms"))
SMALLEST_BASELINE = 1e-3  # a 0 ms baseline (everything in one chunk) has no ratio


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def share(numerator: float, denominator: float) -> float | None:
    return None if not denominator else 100.0 * numerator / denominator


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def by_dataset(runs: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        grouped[run["dataset"]].append(run)
    return grouped


def run_row(run: dict) -> list[str]:
    result, counters = run["result"], run.get("counters", {})
    hit = share(counters.get("vllm:prefix_cache_hits_total", 0),
                counters.get("vllm:prefix_cache_queries_total", 0))
    accepted = share(counters.get("vllm:spec_decode_num_accepted_tokens_total", 0),
                     counters.get("vllm:spec_decode_num_draft_tokens_total", 0))
    done = f"{result['completed']}/{result['num_prompts']}"
    label = run["config"] + (f" #{run['repeat'] + 1}" if run.get("repeat") else "")
    return [label, str(run["concurrency"]), done,
            fmt(result["request_throughput"], 2), fmt(result["output_throughput"]),
            *(fmt(result.get(f"p{p}_ttft_ms")) for p in PERCENTILES),
            *(fmt(result.get(f"p{p}_tpot_ms")) for p in PERCENTILES),
            fmt(result.get("mean_itl_ms")), fmt(hit, 0), fmt(accepted, 0)]


RUN_HEADER = ["config", "concurrency", "done", "req/s", "output tok/s",
              *(f"TTFT p{p} ms" for p in PERCENTILES), *(f"TPOT p{p} ms" for p in PERCENTILES),
              "ITL mean ms", "prefix hit %", "draft accept %"]


def find_all(runs: list[dict], config: str, dataset: str, concurrency: int) -> list[dict]:
    key = (config, dataset, concurrency)
    return [run for run in runs if (run["config"], run["dataset"], run["concurrency"]) == key]


def find(runs: list[dict], config: str, dataset: str, concurrency: int) -> dict | None:
    found = find_all(runs, config, dataset, concurrency)
    return found[0] if found else None


MIN_REPEATS = 2  # a ratio from one run per side cannot tell a difference from run-to-run noise


def ratio_with_spread(base: list[float], cand: list[float]) -> str:
    """mean(cand) / mean(base) with its range over every pairing; refused below MIN_REPEATS."""
    if min(len(base), len(cand)) < MIN_REPEATS:
        return f"– ({min(len(base), len(cand))} run: no ratio)"
    if min(base) <= SMALLEST_BASELINE:
        return "–"
    mean = (sum(cand) / len(cand)) / (sum(base) / len(base))
    return f"{mean:.2f}× ({min(cand) / max(base):.2f}–{max(cand) / min(base):.2f})"


def comparison_rows(results: dict) -> list[list[str]]:
    """candidate / baseline for each comparison and concurrency both configurations ran."""
    rows, runs = [], results["runs"]
    for comparison in results.get("comparisons", []):
        for concurrency in results["concurrencies"]:
            base = find_all(runs, comparison["baseline"], comparison["dataset"], concurrency)
            cand = find_all(runs, comparison["candidate"], comparison["dataset"], concurrency)
            if not (base and cand):
                continue
            cells = [ratio_with_spread([r["result"].get(key) or 0 for r in base],
                                       [r["result"].get(key) or 0 for r in cand])
                     for _, key in RATIO_METRICS]
            rows.append([comparison["title"], comparison["dataset"], str(concurrency),
                         f"{comparison['candidate']} / {comparison['baseline']}", *cells])
    return rows


def startup_section(startup: dict) -> list[str]:
    ready, restart = startup["ready"], startup["restart"]
    rows = [
        ["`run --dry-run` wall time (median of "
         f"{len(startup['dry_run_s'])})", f"{startup['dry_run_median_s']:.3f} s", ""],
        [f"time to /health=200 through `run` ({' '.join(ready['args'])})",
         f"{ready['run_median_s']:.1f} s", ""],
        ["time to /health=200, same vLLM command started directly",
         f"{ready['direct_median_s']:.1f} s", ""],
        ["`run` / direct", f"{ready['ratio']:.3f}×", f"adds {ready['added_s']:+.2f} s"],
        ["cold start (empty compile cache, no --enforce-eager)", f"{restart['cold_s']:.1f} s", ""],
        ["warm restart (same compile cache)", f"{restart['warm_s']:.1f} s", ""],
        ["cold / warm", "–", "one start each: no ratio (issue 21)"],
    ]
    return ["## Startup", "", table(["figure", "value", "note"], rows), ""]


def pyplot():
    """matplotlib without a display (servers, CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_throughput(dataset: str, runs: list[dict], img: Path) -> Path:
    figure, axis = pyplot().subplots(figsize=(6, 3.6))
    configs = sorted({run["config"] for run in runs})
    for config in configs:
        points = sorted((run["concurrency"], run["result"]["output_throughput"])
                        for run in runs if run["config"] == config)
        axis.plot(*zip(*points, strict=True), marker="o", label=config)
    axis.set(title=f"Output throughput vs concurrency ({dataset})", xlabel="concurrency",
             ylabel="output tokens/s")
    axis.set_xscale("log", base=2)
    concurrencies = sorted({run["concurrency"] for run in runs})
    axis.set_xticks(concurrencies, [str(c) for c in concurrencies])
    axis.minorticks_off()
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return save(figure, img / f"throughput-{dataset}.png")


def plot_percentiles(dataset: str, metric: str, runs: list[dict], img: Path) -> Path:
    """Grouped bars: one group per configuration and concurrency, one bar per percentile."""
    ordered = sorted(runs, key=lambda run: (run["config"], run["concurrency"]))
    labels = [f"{run['config']}\nc={run['concurrency']}" for run in ordered]
    figure, axis = pyplot().subplots(figsize=(max(6, 1.1 * len(ordered)), 3.8))
    width = 0.8 / len(PERCENTILES)
    for index, p in enumerate(PERCENTILES):
        values = [run["result"].get(f"p{p}_{metric}_ms") or 0 for run in ordered]
        positions = [x + (index - 1) * width for x in range(len(ordered))]
        axis.bar(positions, values, width, label=f"p{p}")
    axis.set_xticks(range(len(ordered)), labels, fontsize=7)
    axis.set(title=f"{metric.upper()} percentiles ({dataset})", ylabel="ms")
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    return save(figure, img / f"{metric}-{dataset}.png")


def save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    return path


def render(results: dict, out: Path, img_prefix: str = "img") -> str:
    """Write the plots under OUT/IMG_PREFIX and return the markdown page that shows them."""
    img = out / img_prefix
    meta = results.get("meta", {})
    lines = [f"# Benchmark report: suite `{results['suite']}`", "",
             results.get("about", ""), "",
             "| | |", "|---|---|",
             *(f"| {key} | {value} |" for key, value in meta.items()), ""]
    if results.get("servers"):
        lines += ["## Configurations", "",
                  table(["config", "started with", "flags", "ready after"],
                        [[name, server["started_with"], f"`{' '.join(server['args'])}`",
                          f"{server['ready_s']:.1f} s"]
                         for name, server in results["servers"].items()]), ""]
    comparisons = comparison_rows(results)
    if comparisons:
        lines += ["## Comparisons (candidate / baseline)", "",
                  "Throughput ratio > 1 and latency ratio < 1 favour the candidate.", "",
                  table(["comparison", "dataset", "concurrency", "ratio of",
                         *(name for name, _ in RATIO_METRICS)], comparisons), ""]
    for dataset, runs in by_dataset(results["runs"]).items():
        lines += [f"## Dataset `{dataset}`", "",
                  table(RUN_HEADER, [run_row(run) for run in
                                     sorted(runs, key=lambda r: (r["config"], r["concurrency"]))]),
                  ""]
        for path in (plot_throughput(dataset, runs, img),
                     plot_percentiles(dataset, "ttft", runs, img),
                     plot_percentiles(dataset, "tpot", runs, img)):
            lines.append(f"![{path.stem}]({img_prefix}/{path.name})")
        lines.append("")
    if results.get("startup"):
        lines += startup_section(results["startup"])
    return "\n".join(lines)


def write(results: dict, out: Path) -> Path:
    """OUT/results.json (raw), OUT/report.md and OUT/img/*.png."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    page = out / "report.md"
    page.write_text(render(results, out))
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    print(write(results, args.out or args.results.parent))


if __name__ == "__main__":
    main()

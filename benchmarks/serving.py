"""The serving suite: start each configuration, drive it with `vllm bench serve`, keep results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from . import datasets, server
from .vllm_bench_serve import command as bench_serve_command

# Counters worth a column in the report: prefix-cache hit rate and draft-token acceptance.
COUNTERS = ("vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total",
            "vllm:spec_decode_num_accepted_tokens_total", "vllm:spec_decode_num_draft_tokens_total")


def dataset_args(name: str, spec: dict, data_dir: Path) -> list[str]:
    """`vllm bench serve` flags for one dataset; generated sets are written as custom JSONL."""
    if "generate" not in spec:
        return list(spec["bench_args"])
    path = datasets.generate(name, data_dir, **spec["generate"])
    return ["--dataset-name", "custom", "--dataset-path", str(path), "--disable-shuffle",
            "--skip-chat-template", "--custom-output-len", str(spec["output_len"]),
            *spec.get("bench_args", [])]  # e.g. --temperature 0 where outputs are compared


def drive(base: str, model: str, tokenizer: str, concurrency: int, prompts: int,
          data_args: list[str], result: Path, log: Path) -> dict:
    """One `vllm bench serve` run at a fixed concurrency; returns vLLM's own result JSON."""
    argv = [*bench_serve_command(), "--backend", "vllm", "--base-url", base,
            "--model", model, "--tokenizer", tokenizer, *data_args,
            "--num-prompts", str(prompts), "--max-concurrency", str(concurrency),
            "--request-rate", "inf", "--ignore-eos", "--seed", "0", "--num-warmups", "1",
            "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99",
            "--save-result", "--result-dir", str(result.parent),
            "--result-filename", result.name, "--disable-tqdm"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=Path.cwd())
    if done.returncode != 0:
        raise RuntimeError(f"vllm bench serve failed ({done.returncode}); see {log}")
    return json.loads(result.read_text())


def prompts_for(suite: dict, concurrency: int) -> int:
    return max(suite["min_prompts"], suite["prompts_per_concurrency"] * concurrency)


def run_target(suite: dict, config: str, base: str, model_dir: str, dataset_names: list[str],
               out: Path, repeat: int = 0) -> list[dict]:
    """Every dataset and concurrency against one running server (REPEAT: which round)."""
    model = server.served_model(base)
    runs = []
    for name in dataset_names:
        data_args = dataset_args(name, suite["datasets"][name], out / "data")
        for concurrency in suite["concurrencies"]:
            before = server.counters(base)
            result = out / "raw" / f"{config}__{name}__c{concurrency}__r{repeat}.json"
            raw = drive(base, model, model_dir, concurrency, prompts_for(suite, concurrency),
                        data_args, result, out / "logs" / "bench-serve.log")
            after = server.counters(base)
            deltas = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in COUNTERS}
            runs.append({"config": config, "dataset": name, "concurrency": concurrency,
                         "repeat": repeat, "result": slim(raw), "counters": deltas})
            print(f"bench: {config} {name} c={concurrency}: "
                  f"{raw['output_throughput']:.1f} output tok/s", file=sys.stderr)
    return runs


def slim(raw: dict) -> dict:
    """vLLM's result without per-request arrays (they are in raw/ when --save-detailed is on)."""
    return {key: value for key, value in raw.items() if not isinstance(value, list)}


def run_suite(suite: dict, model_dir: str, out: Path, only: list[str] | None = None,
              servers: dict | None = None) -> list[dict]:
    """Start each configuration in turn (through `run`, or plain vLLM) and benchmark it, for
    suite["repeats"] rounds: A, B, A, B..., so every ratio has runs from separate, alternated
    starts. SERVERS collects how each was started and how long each start took to answer /health."""
    runs, servers = [], servers if servers is not None else {}
    for repeat in range(suite.get("repeats", 1)):
        for config, spec in suite["configs"].items():
            if only and config not in only:
                continue
            start = server.through_run if spec["server"] == "run" else server.plain_vllm
            args = [*suite["server_args"], *spec["args"]]
            env = server.vllm_env(model_dir, args) if spec["server"] == "vllm" else {}
            print(f"bench: starting {config} (round {repeat + 1}): {spec['server']}"
                  f" {' '.join(args)}", file=sys.stderr)
            with start(model_dir, args, out / "logs" / f"{config}.log", env=env) as running:
                ready = running.wait_healthy()
                print(f"bench: {config} ready in {ready:.1f}s", file=sys.stderr)
                entry = servers.setdefault(config, {
                    "started_with": "run" if spec["server"] == "run" else "vllm serve",
                    "args": args, "ready_s": ready, "ready_all_s": []})
                entry["ready_all_s"].append(ready)
                runs += run_target(suite, config, running.base, model_dir, spec["datasets"],
                                   out, repeat)
    return runs


def run_running(suite: dict, urls: dict[str, str], model_dir: str, out: Path,
                stop_after: float | None = None) -> list[dict]:
    """Servers already running, one per configuration (CONFIG -> base URL), driven in turn for
    suite["repeats"] rounds: A, B, A, B... as run_suite does, without a start between rounds.
    With STOP_AFTER (seconds), a round begins only if one more as long as the last fits."""
    runs, start, last = [], time.monotonic(), 0.0
    for repeat in range(suite.get("repeats", 1)):
        if stop_after is not None and time.monotonic() - start + last > stop_after:
            print(f"bench: stopped after {repeat} rounds (--stop-after {stop_after:.0f})",
                  file=sys.stderr)
            break
        began = time.monotonic()
        for config, base in urls.items():
            names = suite["configs"].get(config, {}).get("datasets", sorted(suite["datasets"]))
            runs += run_target(suite, config, base, model_dir, names, out, repeat)
        last = time.monotonic() - began
    return runs

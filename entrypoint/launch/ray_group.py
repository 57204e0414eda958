"""Multi-node effects: form the group with bounded waits, then supervise it.

- Ray head (rank 0): start `ray start --head --block`, wait until every rank joined with its GPUs,
  start vLLM, and stop everything (exit 1) when a node leaves, Ray dies or vLLM exits.
- Ray worker (rank > 0): retry reaching the head until the timeout, run `ray start --block`, and
  leave (exit 1) when the head stops answering, so the platform restarts the whole group.
- Ray driver (RAY_ADDRESS): like the head, but the cluster is someone else's to start.
- mp: wait for the route to the head, then hand over to vLLM (its own multi-node code runs).

A group that never forms exits 2 with one sentence naming who is missing. Ray is imported only
here, never on the dry-run path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from entrypoint.facts.cluster import RAY_HEAD_PORT, Route, head_of, route_to
from entrypoint.launch.group_status import GroupStatus, lost_members, read_status
from entrypoint.plan.node_role import RAY_HEAD_ENV, RAY_NODE_ENV, NodeRole, network_env
from entrypoint.plan.plan import Plan

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


def wait_for_route(node: NodeRole, deadline: float, stop: Stop) -> Route | None:
    """Until the head's name resolves (DNS records of pods appear late), bounded by the timeout."""
    host = head_of(node.spec)
    if host is None:
        return None
    delay = 0.5
    while True:
        route = route_to(host)
        if route:
            return route
        if time.monotonic() + delay > deadline or stop.signum:
            raise GroupError(f"rank {node.spec.rank} gave up after {node.timeout:g}s "
                             f"(MULTINODE_TIMEOUT): the head address {host} never resolved to a "
                             f"reachable address; check {head_variable(node)}.", EXIT_NOT_FORMED)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def head_variable(node: NodeRole) -> str:
    spec = node.spec
    return f"{spec.head_from} ({spec.title})" if spec.head_from else "the head address"


def execute(plan: Plan) -> int:
    node: NodeRole = plan.multinode
    stop = Stop()
    deadline = time.monotonic() + node.timeout
    env = {**os.environ, **plan.env}
    try:
        route = node.spec.route or wait_for_route(node, deadline, stop)
        if route and not node.spec.route:  # found only now: pin the interface as planned
            for name, (value, _) in network_env(route, node.backend, node.spec.is_head).items():
                env.setdefault(name, value)
            if node.role == "ray-head":
                env.setdefault("RAY_ADDRESS", f"{route.address}:{RAY_HEAD_PORT}")
        if node.backend == "mp":
            sys.stdout.flush()
            sys.stderr.flush()
            os.execvpe(plan.argv[0], plan.argv, env)
        if node.role == "ray-worker":
            return run_worker(node, route, env, deadline, stop)
        return run_head(plan, node, route, env, deadline, stop)
    except GroupError as error:
        say(str(error))
        return error.code


def start_ray(node: NodeRole, route: Route | None, env: dict[str, str]) -> Child:
    argv = node.ray_start_argv(route)
    argv[0] = ray_executable()
    ray_env = dict(env)
    defaults = {**RAY_NODE_ENV, **(RAY_HEAD_ENV if node.role == "ray-head" else {})}
    for name, value in defaults.items():
        ray_env.setdefault(name, value)
    return Child("ray", argv, ray_env)


# --- rank > 0 ----------------------------------------------------------------------------------

def run_worker(node: NodeRole, route: Route, env: dict[str, str], deadline: float,
               stop: Stop) -> int:
    host, port = split_address(node.head_gcs)
    rank = node.spec.rank
    delay = 0.5
    attempt = 0
    while True:
        if reachable(host, port):
            attempt += 1
            say(f"rank {rank}: the Ray head at {host}:{port} answers; joining "
                f"(attempt {attempt}) as {route.address}")
            ray = start_ray(node, route, env)
            code = watch_worker(ray, host, port, stop)
            if code is not None:
                return code
            # `ray start` failed before joining: the head may still be starting; retry
        if time.monotonic() + delay > deadline or stop.signum:
            what = ("never answered" if attempt == 0
                    else f"refused rank {rank} {attempt} time{'s' if attempt > 1 else ''}")
            raise GroupError(
                f"rank {rank} gave up after {node.timeout:g}s (MULTINODE_TIMEOUT): the Ray head "
                f"at {host}:{port} {what}; check that rank 0 is running and that "
                f"{head_variable(node)} names it.", EXIT_NOT_FORMED)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def watch_worker(ray: Child, host: str, port: int, stop: Stop) -> int | None:
    """Stay while the head lives. None: `ray start` failed to join (the caller retries)."""
    joined_at = time.monotonic()
    unreachable_since = None
    while True:
        time.sleep(POLL_S)
        code = ray.exit_code()
        if stop.signum:
            ray.stop()
            return 0
        if code is not None:
            ray.stop(grace=1)
            if time.monotonic() - joined_at < 15 and code != 0:
                return None
            say(f"Ray on this node exited with code {code}; leaving the group so the platform "
                "restarts it.")
            return EXIT_GROUP_BROKE
        if reachable(host, port, timeout=1.0):
            unreachable_since = None
            continue
        unreachable_since = unreachable_since or time.monotonic()
        if time.monotonic() - unreachable_since >= HEAD_LOST_AFTER_S:
            say(f"the Ray head at {host}:{port} stopped answering for {HEAD_LOST_AFTER_S:g}s; "
                "leaving the group so the platform restarts it.")
            ray.stop(grace=5)
            return EXIT_GROUP_BROKE


# --- rank 0 (or the driver of an existing cluster) ---------------------------------------------

def run_head(plan: Plan, node: NodeRole, route: Route | None, env: dict[str, str],
             deadline: float, stop: Stop) -> int:
    ray_daemon = start_ray(node, route, env) if node.role == "ray-head" else None
    vllm = None
    try:
        address = env.get("RAY_ADDRESS") or node.head_gcs
        connect(address, ray_daemon, deadline, node, stop)
        formed = wait_for_group(node, address, ray_daemon, deadline, stop)
        say(f"all {node.spec.nodes} nodes joined: {formed.joined_text()}; starting vLLM.")
        vllm = Child("vllm", plan.argv, env)
        return supervise(formed, node, vllm, ray_daemon, stop)
    finally:
        # A broken group serves nothing: stop fast. A requested stop lets vLLM drain.
        broken = not stop.signum
        started = time.monotonic()
        disconnect()  # while the head still answers; at exit it would wait for a gone GCS
        if vllm:
            vllm.stop(grace=BROKEN_GRACE_S if broken else STOP_GRACE_S)
        if ray_daemon:
            ray_daemon.stop(grace=BROKEN_GRACE_S)
        say(f"stopped in {time.monotonic() - started:.1f}s.")


def connect(address: str, ray_daemon: Child | None, deadline: float, node: NodeRole,
            stop: Stop) -> None:
    host, port = split_address(address)
    while not reachable(host, port, timeout=1.0):
        if ray_daemon and ray_daemon.exit_code() is not None:
            raise GroupError(f"the Ray head failed to start (exit {ray_daemon.exit_code()}); "
                             "its output is above.", EXIT_NOT_FORMED)
        if time.monotonic() > deadline or stop.signum:
            raise GroupError(f"the Ray cluster at {host}:{port} did not answer within "
                             f"{node.timeout:g}s (MULTINODE_TIMEOUT).", EXIT_NOT_FORMED)
        time.sleep(POLL_S)
    import ray

    ray.init(address=f"{host}:{port}", logging_level="ERROR", log_to_driver=False)
    stop.install()


def disconnect() -> None:
    if "ray" in sys.modules:
        import ray

        ray.shutdown()


def current_status(node: NodeRole) -> GroupStatus:
    import ray

    return read_status(ray.nodes(), node.spec.nodes, node.gpus_per_node,
                       labelled=node.role == "ray-head")


def wait_for_group(node: NodeRole, address: str, ray_daemon: Child | None, deadline: float,
                   stop: Stop) -> GroupStatus:
    said = None
    while True:
        status = current_status(node)
        if status.formed:
            return status
        if status.joined_text() != said:
            said = status.joined_text()
            left = max(0.0, deadline - time.monotonic())
            say(f"waiting for the group ({left:.0f}s left): joined {said}; "
                f"{status.problem_text()}.")
        if ray_daemon and ray_daemon.exit_code() is not None:
            raise GroupError(f"the Ray head exited (code {ray_daemon.exit_code()}) before the "
                             "group formed.", EXIT_GROUP_BROKE)
        if time.monotonic() > deadline or stop.signum:
            why = "was stopped by a signal before it formed" if stop.signum else (
                f"did not form within {node.timeout:g}s (MULTINODE_TIMEOUT)")
            raise GroupError(
                f"the {node.spec.nodes}-node group {why}: {status.problem_text()} "
                f"(Ray head {address}); joined: {status.joined_text()}. Check that every node "
                f"started with the same settings and can reach {address}.", EXIT_NOT_FORMED)
        time.sleep(POLL_S)


def supervise(formed: GroupStatus, node: NodeRole, vllm: Child, ray_daemon: Child | None,
              stop: Stop) -> int:
    """vLLM runs while the whole group lives; a lost node stops it (no half-alive server)."""
    while True:
        time.sleep(POLL_S)
        if stop.signum:
            code = vllm.stop()
            return code if code >= 0 else 128 + stop.signum
        problem = group_problem(formed, node, ray_daemon)
        code = vllm.exit_code()
        if problem:
            say(f"{problem}; stopping vLLM so the platform restarts the group.")
            return EXIT_GROUP_BROKE
        if code is not None:
            say(f"vLLM exited with code {code}; stopping the Ray group.")
            return code


def group_problem(formed: GroupStatus, node: NodeRole, ray_daemon: Child | None) -> str | None:
    if ray_daemon and ray_daemon.exit_code() is not None:
        return f"the Ray head on this node exited (code {ray_daemon.exit_code()})"
    try:
        lost = lost_members(formed, current_status(node))
    except Exception as error:  # noqa: BLE001 - the GCS itself is gone, whatever Ray raises
        return f"lost the Ray head ({error})"
    if lost:
        return "; ".join(member.describe() for member in lost) + " left the group"
    return None

"""Ray head (rank 0), or the driver of an existing cluster (RAY_ADDRESS): wait until every rank
joined with its GPUs, start vLLM, and stop everything (exit 1) when a node leaves, Ray dies or vLLM
exits. Ray is imported only here, never on the dry-run path."""

from __future__ import annotations

import sys
import time

from entrypoint.facts.cluster import Route
from entrypoint.launch.group_status import GroupStatus, lost_members, read_status
from entrypoint.launch.ray_node import (
    BROKEN_GRACE_S,
    EXIT_GROUP_BROKE,
    EXIT_NOT_FORMED,
    POLL_S,
    STOP_GRACE_S,
    Child,
    GroupError,
    Stop,
    reachable,
    say,
    split_address,
    start_ray,
)
from entrypoint.plan.node_role import NodeRole
from entrypoint.plan.plan import Plan


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

"""Ray worker (rank > 0): retry reaching the head until the timeout, run `ray start --block`,
and leave (exit 1) when the head stops answering, so the platform restarts the whole group."""

from __future__ import annotations

import time

from entrypoint.facts.cluster import Route
from entrypoint.launch.ray_node import (
    EXIT_GROUP_BROKE,
    EXIT_NOT_FORMED,
    HEAD_LOST_AFTER_S,
    POLL_S,
    Child,
    GroupError,
    Stop,
    head_variable,
    reachable,
    say,
    split_address,
    start_ray,
)
from entrypoint.plan.node_role import NodeRole


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

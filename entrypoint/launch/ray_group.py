"""Multi-node effects: form the group with bounded waits, then supervise it.

- Ray head (rank 0): start `ray start --head --block`, wait until every rank joined with its GPUs,
  start vLLM, and stop everything (exit 1) when a node leaves, Ray dies or vLLM exits.
- Ray worker (rank > 0): retry reaching the head until the timeout, run `ray start --block`, and
  leave (exit 1) when the head stops answering, so the platform restarts the whole group.
- Ray driver (RAY_ADDRESS): like the head, but the cluster is someone else's to start.
- mp: wait for the route to the head, then hand over to vLLM (its own multi-node code runs).

A group that never forms exits 2 with one sentence naming who is missing. Each Ray role has its
module (launch.ray_head, launch.ray_worker), the processes they share are in launch.ray_node;
Ray is imported only in ray_head, never on the dry-run path.
"""

from __future__ import annotations

import os
import sys
import time

from entrypoint.facts.cluster import RAY_HEAD_PORT, Route, head_of, route_to
from entrypoint.launch.ray_head import run_head
from entrypoint.launch.ray_node import EXIT_NOT_FORMED, GroupError, Stop, head_variable, say
from entrypoint.launch.ray_worker import run_worker
from entrypoint.plan.node_role import NodeRole, network_env
from entrypoint.plan.plan import Plan


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

"""Multi-node decisions (pure): the backend, each node's role, parallel sizes and networking.

With Ray (the default for multi-node GPU groups) rank 0 starts a Ray head, waits for every node
and then starts vLLM with `--distributed-executor-backend ray`; the other ranks only run a Ray
worker daemon. With `mp` every rank runs `vllm serve` with vLLM's own `--nnodes` flags, ranks > 0
headless. The effects of both live in `ray_cluster.py` and `launch.py`.
"""

from __future__ import annotations

from entrypoint.errors import UserError
from entrypoint.facts.cluster import RAY_HEAD_PORT, ClusterSpec
from entrypoint.plan.node_role import NodeRole, network_env
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import NOTHING, Outcome, decide, env, warn
from entrypoint.settings.provenance import Source

MULTI_NODE_BACKENDS = ("ray", "mp")

def distributed_backend(ctx: Context) -> Outcome | None:
    spec = ctx.cluster
    if not spec.multi_node:
        return None
    if ctx.user_set("distributed_backend"):
        backend = ctx.settings.distributed_backend
        if backend not in MULTI_NODE_BACKENDS:
            raise UserError(f"{ctx.given['distributed_backend'].label}={backend} cannot span "
                            "nodes; use ray or mp for a multi-node group.")
        if backend == "mp" and spec.ray_address:
            raise UserError("RAY_ADDRESS names an existing Ray cluster, which the mp backend "
                            "cannot use: unset RAY_ADDRESS or set DISTRIBUTED_BACKEND=ray.")
        if backend == "ray" and ctx.cpu_build:
            return warn("The installed vLLM is the CPU build, which refuses the Ray "
                        "executor: the Ray group forms but vLLM will not start on it.")
        return None
    if ctx.cpu_build and not spec.ray_address:
        return decide("distributed_backend", "mp", Source.HARDWARE,
                      "multi-node on the CPU build of vLLM, which cannot use Ray")
    return decide("distributed_backend", "ray", Source.DEFAULT, "multi-node: Ray (the default)")


def pipeline_parallel_size(ctx: Context) -> Outcome | None:
    spec = ctx.cluster
    if not spec.multi_node or ctx.user_set("pipeline_parallel_size"):
        return None
    return decide("pipeline_parallel_size", spec.nodes, Source.HARDWARE,
                  f"{spec.nodes} nodes, one pipeline stage each")


def check_group_size(ctx: Context) -> None:
    """The parallel layout must fit the group; say which numbers clash before anything starts."""
    spec = ctx.cluster
    if not spec.multi_node:
        return
    tp, pp = ctx.settings.tensor_parallel_size, ctx.settings.pipeline_parallel_size
    world = tp * pp
    if ctx.settings.distributed_backend == "mp" and world % spec.nodes:
        raise UserError(f"tensor_parallel_size {tp} x pipeline_parallel_size {pp} = {world} "
                        f"workers do not divide over {spec.nodes} nodes: set TP and PP so that "
                        f"TP x PP is a multiple of {spec.nodes}.")
    gpus = ctx.hardware.count * spec.nodes
    if ctx.hardware.count and world > gpus:
        raise UserError(f"tensor_parallel_size {tp} x pipeline_parallel_size {pp} needs {world} "
                        f"GPUs but {spec.nodes} nodes x {ctx.hardware.count} GPUs have {gpus}: "
                        "lower TP or PP.")


def node_role(ctx: Context) -> Outcome | None:
    spec = ctx.cluster
    if not spec.multi_node:
        return None
    backend = ctx.settings.distributed_backend
    place = "head" if spec.is_head else "worker"
    role = "ray-driver" if spec.ray_address else f"{backend}-{place}"
    out = Outcome(multinode=NodeRole(role=role, spec=spec, gpus_per_node=ctx.hardware.count,
                                     timeout=float(ctx.settings.multinode_timeout)))
    if spec.route:
        for name, (value, reason) in network_env(spec.route, backend, spec.is_head).items():
            out += env(name, value, reason)
    if role == "ray-head" and spec.route:
        out += env("RAY_ADDRESS", f"{spec.route.address}:{RAY_HEAD_PORT}",
                   "vLLM joins the Ray head this node starts")
    if backend == "mp":
        out += mp_flags(ctx, spec)
    return out


def mp_flags(ctx: Context, spec: ClusterSpec) -> Outcome:
    """vLLM's own multi-node flags; any the user passed explicitly win."""
    reason = f"rank {spec.rank} of {spec.nodes}, head {spec.head_address} ({spec.title})"
    flags = [("--nnodes", (str(spec.nodes),)), ("--node-rank", (str(spec.rank),)),
             ("--master-addr", (spec.head_address,))]
    if spec.head_port:
        flags.append(("--master-port", (str(spec.head_port),)))
    if not spec.is_head:
        flags.append(("--headless", ()))
    return sum((ctx.flag(option, values, source=Source.HARDWARE, reason=reason)
                for option, values in flags), NOTHING)


EARLY_RULES = (distributed_backend, pipeline_parallel_size)
LATE_RULES = (check_group_size, node_role)

"""Multi-node decisions (pure): the backend, each node's role, parallel sizes and networking.

With Ray (the default for multi-node GPU groups) rank 0 starts a Ray head, waits for every node
and then starts vLLM with `--distributed-executor-backend ray`; the other ranks only run a Ray
worker daemon. With `mp` every rank runs `vllm serve` with vLLM's own `--nnodes` flags, ranks > 0
headless. The effects of both live in `ray_cluster.py` and `launch.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .argv import PassFlag
from .cluster import RAY_HEAD_PORT, ClusterSpec, Route
from .derive import Context, Decision
from .errors import UserError

RANK_LABEL = "run.rank"  # Ray node label: lets the head name the ranks that never joined
MULTI_NODE_BACKENDS = ("ray", "mp")
# Environment of every `ray start` run starts (unless the user set these): stopping a node tears
# it down at once (vLLM drains its own requests; Ray's drain is for Ray Serve replicas).
RAY_NODE_ENV = {"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
# GCS declares a silent node dead after period x threshold (Ray's default is about 15 s);
# a group with a dead member must stop serving within seconds.
RAY_HEAD_ENV = {"RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3"}


@dataclass(frozen=True)
class NodeRole:
    """What this node does in its group; dry-run prints it, launch carries it out."""

    role: str  # ray-head, ray-worker, ray-driver, mp-head, mp-worker
    spec: ClusterSpec
    gpus_per_node: int
    timeout: float

    @property
    def backend(self) -> str:
        return self.role.split("-")[0]

    @property
    def runs_vllm(self) -> bool:
        return self.role != "ray-worker"

    @property
    def starts_ray(self) -> bool:
        return self.role in ("ray-head", "ray-worker")

    @property
    def head_gcs(self) -> str:
        """host:port of the Ray head (GCS) this node joins or starts."""
        if self.spec.ray_address:
            return self.spec.ray_address
        return f"{self.spec.head_address}:{RAY_HEAD_PORT}"

    def ray_start_argv(self, route: Route | None) -> list[str]:
        """`ray start` for this node; `--block` keeps it in the foreground under our supervisor."""
        argv = ["ray", "start", "--block", "--disable-usage-stats",
                f"--num-gpus={self.gpus_per_node}", f"--labels={RANK_LABEL}={self.spec.rank}"]
        if self.role == "ray-head":
            argv += ["--head", f"--port={RAY_HEAD_PORT}", "--include-dashboard=false"]
        else:
            argv += [f"--address={self.head_gcs}"]
        address = route.address if route else "<address toward the head, found at start>"
        return [*argv, f"--node-ip-address={address}"]

    def describe(self) -> list[str]:
        lines = [f"role: {self.role}", f"group: {self.spec.describe()}"]
        if self.role in ("ray-head", "ray-driver"):
            gpus = f" with {self.gpus_per_node} GPUs each" if self.gpus_per_node else ""
            lines.append(f"waits up to {self.timeout:g}s for {self.spec.nodes} nodes{gpus},"
                         " then starts vLLM and stops it if a node leaves")
        elif self.role == "ray-worker":
            lines.append(f"joins the Ray head at {self.head_gcs} (retrying up to "
                         f"{self.timeout:g}s), stays while the head lives; vLLM runs on rank 0")
        if self.spec.route:
            lines.append(f"network: {self.spec.route.address} on {self.spec.route.interface}")
        elif self.spec.route_problem:
            lines.append(f"network: {self.spec.route_problem}; found at start")
        return lines


def network_env(route: Route, backend: str, is_head: bool) -> dict[str, tuple[str, str]]:
    """Variables that pin vLLM, NCCL and Gloo to the interface that reaches the head."""
    why = f"interface {route.interface} routes to the head"
    env = {
        "VLLM_HOST_IP": (route.address, f"this node's address on {route.interface}"),
        "NCCL_SOCKET_IFNAME": (route.interface, why),
        "GLOO_SOCKET_IFNAME": (route.interface, why),
    }
    if backend == "ray" and is_head:
        # vLLM copies VLLM_*/NCCL_* variables to its Ray workers but not GLOO_SOCKET_IFNAME.
        env["VLLM_RAY_EXTRA_ENV_VARS_TO_COPY"] = (
            "GLOO_SOCKET_IFNAME", "vLLM does not pass GLOO_SOCKET_IFNAME to Ray workers itself")
    return env


def distributed_backend(ctx: Context) -> None:
    spec = ctx.cluster
    if not spec.multi_node:
        return
    if ctx.user_set("distributed_backend"):
        backend = ctx.value("distributed_backend")
        if backend not in MULTI_NODE_BACKENDS:
            raise UserError(f"{ctx.given['distributed_backend'].label}={backend} cannot span "
                            "nodes; use ray or mp for a multi-node group.")
        if backend == "mp" and spec.ray_address:
            raise UserError("RAY_ADDRESS names an existing Ray cluster, which the mp backend "
                            "cannot use: unset RAY_ADDRESS or set DISTRIBUTED_BACKEND=ray.")
        if backend == "ray" and ctx.cpu_build:
            ctx.warnings.append("The installed vLLM is the CPU build, which refuses the Ray "
                                "executor: the Ray group forms but vLLM will not start on it.")
    elif ctx.cpu_build and not spec.ray_address:
        ctx.decide("distributed_backend", "mp", "hardware",
                   "multi-node on the CPU build of vLLM, which cannot use Ray")
    else:
        ctx.decide("distributed_backend", "ray", "default", "multi-node: Ray (the default)")


def pipeline_parallel_size(ctx: Context) -> None:
    spec = ctx.cluster
    if not spec.multi_node or ctx.user_set("pipeline_parallel_size"):
        return
    ctx.decide("pipeline_parallel_size", spec.nodes, "hardware",
               f"{spec.nodes} nodes, one pipeline stage each")


def check_group_size(ctx: Context) -> None:
    """The parallel layout must fit the group; say which numbers clash before anything starts."""
    spec = ctx.cluster
    if not spec.multi_node:
        return
    tp, pp = ctx.value("tensor_parallel_size"), ctx.value("pipeline_parallel_size")
    world = tp * pp
    if ctx.value("distributed_backend") == "mp" and world % spec.nodes:
        raise UserError(f"tensor_parallel_size {tp} x pipeline_parallel_size {pp} = {world} "
                        f"workers do not divide over {spec.nodes} nodes: set TP and PP so that "
                        f"TP x PP is a multiple of {spec.nodes}.")
    gpus = ctx.hardware.count * spec.nodes
    if ctx.hardware.count and world > gpus:
        raise UserError(f"tensor_parallel_size {tp} x pipeline_parallel_size {pp} needs {world} "
                        f"GPUs but {spec.nodes} nodes x {ctx.hardware.count} GPUs have {gpus}: "
                        "lower TP or PP.")


def node_role(ctx: Context) -> None:
    spec = ctx.cluster
    if not spec.multi_node:
        return
    backend = ctx.value("distributed_backend")
    place = "head" if spec.is_head else "worker"
    role = "ray-driver" if spec.ray_address else f"{backend}-{place}"
    ctx.multinode = NodeRole(role=role, spec=spec, gpus_per_node=ctx.hardware.count,
                             timeout=float(ctx.value("multinode_timeout")))
    if spec.route:
        for name, (value, reason) in network_env(spec.route, backend, spec.is_head).items():
            ctx.set_env(name, value, reason)
    if role == "ray-head" and spec.route:
        ctx.set_env("RAY_ADDRESS", f"{spec.route.address}:{RAY_HEAD_PORT}",
                    "vLLM joins the Ray head this node starts")
    if backend == "mp":
        mp_flags(ctx, spec)


def mp_flags(ctx: Context, spec: ClusterSpec) -> None:
    """vLLM's own multi-node flags; any the user passed explicitly win."""
    reason = f"rank {spec.rank} of {spec.nodes}, head {spec.head_address} ({spec.title})"
    flags = [PassFlag("--nnodes", (str(spec.nodes),)),
             PassFlag("--node-rank", (str(spec.rank),)),
             PassFlag("--master-addr", (spec.head_address,))]
    if spec.head_port:
        flags.append(PassFlag("--master-port", (str(spec.head_port),)))
    if not spec.is_head:
        flags.append(PassFlag("--headless"))
    for flag in flags:
        if not ctx.argv.passes(flag.option):
            ctx.extra_flags.append((flag, Decision(" ".join(flag.values) or True, "hardware",
                                                   reason)))


def early_rules() -> list:
    """Before sizing: tensor parallel and the memory preflight need the group's stage count."""
    return [distributed_backend, pipeline_parallel_size]


def rules() -> list:
    """After sizing has decided tensor_parallel_size."""
    return [check_group_size, node_role]

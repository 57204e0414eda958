"""What this node does in a multi-node group (a value the plan carries; launch carries it out).

Also the Ray and network settings every node of a group shares (pure).
"""

from __future__ import annotations

from dataclasses import dataclass

from entrypoint.facts.cluster import RAY_HEAD_PORT, ClusterSpec, Route

RANK_LABEL = "run.rank"  # Ray node label: lets the head name the ranks that never joined
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

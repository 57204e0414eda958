"""Real Ray groups on test hosts (network namespaces): formation, timeouts, and losing a member.

Every rank is `run` (through `tests.multinode_rank`: GPUs assumed, vLLM-on-Ray stood in for) in
its own namespace with its own address; Ray's head and workers are real `ray start` processes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hosts import Host, can_make_hosts, hosts, short_tmpdir
from tests.rules.test_multinode_plan import clean_environ

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not can_make_hosts(), reason="needs root and iproute2 for test hosts"),
]
GPUS = 2  # per node, as `ray start --num-gpus 2`


def start_rank(host: Host, environ: dict, log: Path, ray_tmp: Path, timeout: float = 120,
               model: Path | None = None) -> subprocess.Popen:
    env = {**clean_environ(), **environ, "TEST_GPUS_PER_NODE": str(GPUS),
           "MULTINODE_TIMEOUT": str(timeout), "DISTRIBUTED_BACKEND": "ray",
           "RAY_TMPDIR": str(ray_tmp / host.name), "PYTHONUNBUFFERED": "1"}
    (ray_tmp / host.name).mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "tests.multinode_rank", str(model or REPO / "tests")]
    return host.start(argv, env, log, cwd=REPO)


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen, limit: float = 150) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = re.search(pattern, text, re.MULTILINE)
        if found:
            return found.group(0)
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"no line matching {pattern!r} in {log}:\n{log.read_text()[-3000:]}")


def wait_exit(process: subprocess.Popen, limit: float) -> tuple[int, float]:
    started = time.monotonic()
    code = process.wait(timeout=limit)
    return code, time.monotonic() - started


def run_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines()
            if line.startswith("run: ")]


@pytest.fixture
def model(llama_dir):
    return llama_dir


def test_group_forms_and_head_stops_when_a_worker_dies(tmp_path, model):
    """Generic convention; the worker's host dies (all its processes) after the group formed."""
    with hosts(2) as (head, worker), short_tmpdir() as ray_tmp:
        group = {"NNODES": "2", "MASTER_ADDR": head.address}
        head_log, worker_log = tmp_path / "head.log", tmp_path / "worker.log"
        head_run = start_rank(head, {**group, "NODE_RANK": "0"}, head_log, ray_tmp, model=model)
        worker_run = start_rank(worker, {**group, "NODE_RANK": "1"}, worker_log, ray_tmp,
                                model=model)
        joined = wait_for_line(head_log, r"^run: all 2 nodes joined.*$", head_run)
        assert f"rank 0 at {head.address} with 2 GPUs" in joined
        assert f"rank 1 at {worker.address} with 2 GPUs" in joined
        report = json.loads(wait_for_line(head_log, r"(?<=^STANDIN ).*$", head_run))
        # TP 2 (GPUs per node) x PP 2 (nodes) bundles, placed on both hosts as vLLM would place
        assert report["bundle_hosts"] == sorted([head.address] * 2 + [worker.address] * 2)
        assert report["VLLM_HOST_IP"] == head.address
        assert report["GLOO_SOCKET_IFNAME"] == report["NCCL_SOCKET_IFNAME"] == head.interface
        assert report["VLLM_RAY_EXTRA_ENV_VARS_TO_COPY"] == "GLOO_SOCKET_IFNAME"
        assert report["RAY_ADDRESS"] == f"{head.address}:6379"
        assert worker_run.poll() is None

        died = time.monotonic()
        worker.kill_all()  # the node is gone: every process on it, Ray's included
        wait_for_line(head_log, f"^run: rank 1 at {re.escape(worker.address)} with 2 GPUs left "
                      "the group; stopping vLLM", head_run, limit=60)
        noticed = time.monotonic() - died
        code, _ = wait_exit(head_run, 60)
        assert code == 1
        print(f"head noticed the lost worker after {noticed:.1f}s, "
              f"exited after {time.monotonic() - died:.1f}s")


def test_rank_that_never_starts_makes_the_head_time_out_naming_it(tmp_path, model):
    """PyTorch/PAI-DLC convention, 3 nodes; rank 1 never starts."""
    with hosts(3) as (head, _absent, third), short_tmpdir() as ray_tmp:
        group = {"WORLD_SIZE": "3", "MASTER_ADDR": head.address}
        head_log, third_log = tmp_path / "head.log", tmp_path / "rank2.log"
        head_run = start_rank(head, {**group, "RANK": "0"}, head_log, ray_tmp, timeout=45,
                              model=model)
        third_run = start_rank(third, {**group, "RANK": "2"}, third_log, ray_tmp, timeout=45,
                               model=model)
        code, _ = wait_exit(head_run, 120)
        assert code == 2
        final = run_lines(head_log)[-1]
        assert "the 3-node group did not form within 45s (MULTINODE_TIMEOUT)" in final
        assert "rank 1 never joined" in final
        assert f"rank 0 at {head.address} with 2 GPUs; rank 2 at {third.address} with 2 GPUs" \
            in final
        # rank 2 had joined; with the head gone it leaves too, non-zero, naming the head
        code, _ = wait_exit(third_run, 40)
        assert code == 1
        assert f"the Ray head at {head.address}:6379 stopped answering" in run_lines(third_log)[-1]


def test_lws_group_forms_and_workers_leave_when_the_head_stops(tmp_path, model):
    with hosts(2) as (head, worker), short_tmpdir() as ray_tmp:
        group = {"LWS_LEADER_ADDRESS": head.address, "LWS_GROUP_SIZE": "2"}
        head_log, worker_log = tmp_path / "head.log", tmp_path / "worker.log"
        # the worker starts first: it retries until the leader's Ray head answers
        worker_run = start_rank(worker, {**group, "LWS_WORKER_INDEX": "1"}, worker_log,
                                ray_tmp, model=model)
        time.sleep(3)
        head_run = start_rank(head, {**group, "LWS_WORKER_INDEX": "0"}, head_log, ray_tmp,
                              model=model)
        wait_for_line(head_log, r"^STANDIN .*$", head_run)
        os.killpg(head_run.pid, signal.SIGTERM)  # the platform stops the leader
        wait_exit(head_run, 60)  # exits with vLLM's own code (here the stand-in's)
        assert run_lines(head_log)[-1].startswith("run: stopped in ")
        code, seconds = wait_exit(worker_run, 60)
        assert code == 1
        assert f"the Ray head at {head.address}:6379 stopped answering" in \
            run_lines(worker_log)[-1]
        print(f"worker left {seconds:.1f}s after the head stopped")


def test_slurm_group_forms(tmp_path, model):
    with hosts(2) as (head, worker), short_tmpdir() as ray_tmp:
        group = {"SLURM_JOB_ID": "4242", "SLURM_NNODES": "2",
                 "SLURM_LAUNCH_NODE_IPADDR": head.address}
        head_log, worker_log = tmp_path / "head.log", tmp_path / "worker.log"
        head_run = start_rank(head, {**group, "SLURM_NODEID": "0"}, head_log, ray_tmp,
                              model=model)
        start_rank(worker, {**group, "SLURM_NODEID": "1"}, worker_log, ray_tmp, model=model)
        joined = wait_for_line(head_log, r"^run: all 2 nodes joined.*$", head_run)
        assert f"rank 1 at {worker.address}" in joined
        assert "Slurm" in head_log.read_text()  # the convention is logged


def test_driver_of_an_existing_ray_cluster(tmp_path, model):
    """RAY_ADDRESS (KubeRay): the cluster is started by someone else; run only drives vLLM."""
    with hosts(2) as (head, worker), short_tmpdir() as ray_tmp:
        ray = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block",
               "--disable-usage-stats", f"--num-gpus={GPUS}"]
        env = {**clean_environ(), "RAY_TMPDIR": str(ray_tmp)}
        head.start([*ray, "--head", "--port=6379", f"--node-ip-address={head.address}"], env,
                   tmp_path / "ray-head.log")
        worker.start([*ray, f"--address={head.address}:6379",
                      f"--node-ip-address={worker.address}"], env, tmp_path / "ray-worker.log")
        log = tmp_path / "driver.log"
        driver = start_rank(head, {"RAY_ADDRESS": f"{head.address}:6379", "NNODES": "2"}, log,
                            ray_tmp, model=model)
        joined = wait_for_line(log, r"^run: all 2 nodes joined.*$", driver)
        assert f"node at {worker.address} with 2 GPUs" in joined
        report = json.loads(wait_for_line(log, r"(?<=^STANDIN ).*$", driver))
        assert report["bundles"] == 4


def test_worker_whose_head_never_appears_gives_up_naming_it(tmp_path, model):
    with hosts(2) as (_head, worker), short_tmpdir() as ray_tmp:
        log = tmp_path / "worker.log"
        started = time.monotonic()
        run = start_rank(worker, {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.231.0.1"},
                         log, ray_tmp, timeout=4, model=model)
        code, _ = wait_exit(run, 60)
        assert code == 2
        assert run_lines(log)[-1] == (
            "run: rank 1 gave up after 4s (MULTINODE_TIMEOUT): the Ray head at 10.231.0.1:6379 "
            "never answered; check that rank 0 is running and that MASTER_ADDR (generic "
            "multi-node variables) names it.")
        assert time.monotonic() - started < 30

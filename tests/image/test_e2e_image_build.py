"""The CPU image, really built and started (issue 17): scripts/image_build.sh builds
image/Dockerfile.cpu with podman (no daemon, vfs, chroot isolation) on a Debian 12 base made
here with mmdebstrap; scripts/image_run.py starts the image's ENTRYPOINT + CMD as its USER with
its ENV in fresh namespaces, serving the demo model mounted at /data/model, as `docker run -v
MODEL:/data/model IMAGE` would. Root only (CI runs as root on Debian 12).

IMAGE_REUSE=1 keeps an image already built in the store (to iterate on the checks only)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

IMAGE = "localhost/llm-serve:cpu"
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def load_image_run():
    spec = importlib.util.spec_from_file_location("image_run", REPO / "scripts" / "image_run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


image_run = load_image_run()


def podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "scripts" / "podman.sh"), *args], capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def built_image(tmp_path_factory) -> str:
    if os.geteuid() != 0:
        pytest.skip("building and starting an image without a daemon needs root")
    if not shutil.which("apt-get") and not shutil.which("podman"):
        pytest.skip("neither podman nor apt-get (to install it) is here")
    if os.environ.get("IMAGE_REUSE") and shutil.which("podman") \
            and podman("image", "exists", IMAGE).returncode == 0:
        return IMAGE
    log = tmp_path_factory.mktemp("image") / "build.log"
    with log.open("w") as out:
        result = subprocess.run([str(REPO / "scripts" / "image_build.sh"), "cpu", IMAGE],
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO, timeout=1500)
    assert result.returncode == 0, log.read_text()[-6000:]
    return IMAGE


def client_in_container_net(container, log: Path, limit: float) -> dict:
    """tests/image/client.py in the container's network namespace; fails as soon as the
    container exits."""
    client = subprocess.Popen(
        ["nsenter", "-t", str(container.pid), "-n", sys.executable, "-m", "tests.image.client",
         str(limit)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    while client.poll() is None:
        if container.process.poll() is not None:
            client.kill()
            pytest.fail(f"the container exited with {container.process.returncode}:\n"
                        + log.read_text()[-6000:])
        time.sleep(1)
    out, err = client.communicate()
    assert client.returncode == 0, err[-3000:] + log.read_text()[-6000:]
    return json.loads(out.strip().splitlines()[-1])


def readable_copy(model: Path, into: Path) -> Path:
    """The model as a platform mounts one: readable by the image's non-root user."""
    shutil.copytree(model, into)
    for path in [into, *into.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return into


def wait_for_comm(pid: int, name: str, limit: float = 30) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if Path(f"/proc/{pid}/comm").read_text().strip() == name:
            return True
        time.sleep(0.1)
    return False


def process_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def bytecode_is_current(package: Path) -> bool:
    """install.sh compiled the package (the image's user cannot write bytecode under /opt), checked
    by hash: each .pyc records its source's hash, and Python uses it only while they match."""
    sources = sorted(package.rglob("*.py"))
    for source in sources:
        compiled = next((source.parent / "__pycache__").glob(f"{source.stem}.cpython-*.pyc"), None)
        if compiled is None:
            return False
        header = compiled.read_bytes()[:16]
        checked_hash = int.from_bytes(header[4:8], "little") == 0b11
        if not checked_hash or header[8:16] != importlib.util.source_hash(source.read_bytes()):
            return False
    return bool(sources)


def test_the_built_cpu_image_serves_the_demo_model(built_image, demo_model, tmp_path):
    config = image_run.config(built_image)
    assert config["entrypoint"] == ["tini", "-g", "--", "run"] and config["cmd"] in ([], None)
    assert config["user"] == "1000" and "RUN_IMAGE_VARIANT=cpu" in config["env"]
    assert config["healthcheck"][0] == "CMD", "docker-format image keeps its HEALTHCHECK"

    log = tmp_path / "container.log"
    model = readable_copy(demo_model, tmp_path / "model")
    container = image_run.start(built_image, [], [], [f"{model}:/data/model:ro"],
                                stdout=log.open("w"))
    try:
        # PID 1 becomes the image's tini (once the namespace set-up has exec'd into it); what it
        # started runs as the image's user, not root.
        assert wait_for_comm(container.pid, "tini"), log.read_text()[-3000:]
        assert bytecode_is_current(Path(f"/proc/{container.pid}/root/opt/llm-serve/entrypoint"))
        summary = client_in_container_net(container, log, limit=600)
        assert summary["model"] and summary["completion_tokens"] > 0, summary
        served_by = [int(p) for p in (Path(f"/proc/{container.pid}/task/{container.pid}")
                                      / "children").read_text().split()]
        assert served_by and process_status(served_by[0])["Uid"].split()[0] == "1000"

        health = image_run.healthcheck(container.pid, built_image)
        assert health.returncode == 0, health.stdout + health.stderr

        started = time.monotonic()
        os.kill(container.pid, signal.SIGTERM)
        assert container.process.wait(timeout=120) == 0, log.read_text()[-6000:]
        print(f"\nimage e2e: healthy after {summary['health_after_s']} s, "
              f"stopped {time.monotonic() - started:.1f} s after SIGTERM")
    finally:
        container.remove()
        podman("image", "unmount", built_image)

"""Start a benchmark server (through `run`, or plain `vllm serve`), wait for /health, stop it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from entrypoint.launch.process import launcher

RUN = [sys.executable, "-m", "entrypoint"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 2) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def served_model(base: str) -> str:
    return json.loads(get(f"{base}/v1/models"))["data"][0]["id"]


METRIC_LINE = re.compile(r"^(vllm:[a-z_]+)(?:\{[^}]*\})? ([0-9.eE+-]+)$")


def counters(base: str) -> dict[str, float]:
    """vLLM's Prometheus counters summed over labels (prefix-cache hits, accepted draft tokens)."""
    totals: dict[str, float] = {}
    for line in get(f"{base}/metrics", timeout=5).splitlines():
        match = METRIC_LINE.match(line)
        if match and match.group(1).endswith("_total"):
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(2))
    return totals


class Server:
    """One server process in its own session (so stop() ends vLLM's workers too)."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, port: int):
        self.command, self.log, self.port = command, log, port
        self.base = f"http://127.0.0.1:{port}"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, limit: float = 900) -> float:
        """Seconds from start to the first /health = 200."""
        deadline = self.started + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; "
                                   f"log {self.log}:\n{self.log.read_text()[-3000:]}")
            try:
                get(f"{self.base}/health", timeout=1)
                return time.monotonic() - self.started
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not healthy after {limit:.0f}s; log {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def through_run(model: str, args: list[str], log: Path, port: int | None = None,
                env: dict[str, str] | None = None) -> Server:
    port = port or free_port()
    return Server([*RUN, model, "--port", str(port), *args], env or {}, log, port)


def plain_vllm(model: str, args: list[str], log: Path, port: int | None = None,
               env: dict[str, str] | None = None) -> Server:
    """`vllm serve MODEL` with vLLM's defaults (plus only the given args), no `run` involved."""
    port = port or free_port()
    return Server([*launcher(), model, "--port", str(port), *args], env or {}, log, port)


def plan(model: str, args: list[str]) -> dict:
    """`run --dry-run --json`: the exact vLLM command and environment `run` would start."""
    done = subprocess.run([*RUN, model, *args, "--dry-run", "--json"], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def vllm_env(model: str, args: list[str]) -> dict[str, str]:
    """The environment `run` gives vLLM (on CPU, the KV-cache size): plain vLLM gets it too, so
    a comparison of the two measures flags and derived values, not an environment difference."""
    return plan(model, args)["env"]

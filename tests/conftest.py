"""Shared fixtures: real-shaped model dirs, the demo model (the real SmolLM2-135M-Instruct), the
tiny random-weight model, and one real vLLM server serving the demo model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from entrypoint.rules.gates import IMAGE_VARIANT_ENV
from entrypoint.rules.sizing import LONG_CONTEXT_ENV
from entrypoint.settings.knobs import ENV_NAMES
from entrypoint.settings.vllm_options import installed_version

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
RUN = [sys.executable, "-m", "entrypoint"]


def write_model_dir(path: Path, config: dict, weights: bool = True, **files: dict) -> Path:
    """A model directory with config.json (and any other JSON files) and an empty weight file
    (present for the plan-time check; sizing reads config.json when it is empty)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config))
    if weights:
        (path / "model.safetensors").touch()
    for name, data in files.items():
        (path / f"{name}.json").write_text(json.dumps(data))
    return path


def complete_safetensors(size: int) -> bytes:
    """A well-formed safetensors file of exactly `size` bytes (one uint8 tensor; the header is
    padded with spaces, as the format allows), for weight files of a chosen size."""
    header_bytes = 128
    data = size - 8 - header_bytes
    assert data >= 0, size
    header = json.dumps({"w": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}})
    return (header_bytes.to_bytes(8, "little") + header.ljust(header_bytes).encode()
            + b"w" * data)


LLAMA_8B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
    "num_hidden_layers": 32, "max_position_embeddings": 131072, "vocab_size": 128256,
    "torch_dtype": "bfloat16",
}


@pytest.fixture(autouse=True)
def port_free_in_process(monkeypatch):
    """In-process plans do not depend on what else listens on this machine (8501 is often taken
    on a shared one); tests of the port check call `facts.launch_site.port_problem` themselves.
    `run` started as a process (run_cli, Server) checks the real port."""
    from entrypoint.facts import launch_site

    monkeypatch.setattr(launch_site, "port_problem", lambda host, port: None)


# For the few tests about the installed vLLM itself; the rest run without it
# (scripts/test_without_vllm.sh).
needs_vllm = pytest.mark.skipif(installed_version() is None, reason="needs vLLM installed")


@pytest.fixture
def llama_dir(tmp_path: Path) -> Path:
    return write_model_dir(tmp_path / "llama", LLAMA_8B)


@pytest.fixture
def without_architecture_gate(monkeypatch):
    """Plans past the architecture gate, for tests of other rules over real-shaped configs of
    architectures the engine cannot load (Baichuan2, Llama-3.2 Vision); in-process plans only."""
    from entrypoint.rules import architecture, table

    monkeypatch.setattr(table, "RULES",
                        tuple(r for r in table.RULES if r is not architecture.check_loadable))


def run_cli(*args: str, env: dict | None = None, timeout: float = 60):
    """`run` as a user starts it: a fresh process, only the given environment on top of ours."""
    full_env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
    full_env.update(env or {})
    if "--dry-run" in args and "--port" not in args and port_taken(8501):  # a shared machine
        args = (*args, "--port", str(free_port()))
    return subprocess.run([*RUN, *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=REPO)


# Every variable `run` reads, so a test sees only the environment it sets: each knob's own
# (settings/knobs.py), the image's variant, vLLM's switches run honours, and the hub's.
ENV_KNOBS = set(ENV_NAMES) | {IMAGE_VARIANT_ENV, LONG_CONTEXT_ENV, "VLLM_CACHE_ROOT"}
ENV_KNOBS |= {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_TOKEN"}


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The tiny random-weight model: for tests where only a shape matters (fast to start)."""
    from entrypoint.devtools.tiny_model import build

    return build(CACHE / "tiny-model")


@pytest.fixture(scope="session")
def real_model() -> Path:
    """The demo model `make run` serves: the real SmolLM2-135M-Instruct (float32, 517 MiB),
    built from its pinned PyPI wheel once into the same folder `make run` uses."""
    from entrypoint.devtools.demo_model import build

    return build(CACHE / "demo-model")


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, process: subprocess.Popen, log: Path, limit: float = 420) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-4000:]
            raise RuntimeError(f"server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"server not healthy after {limit}s:\n{log.read_text()[-4000:]}")


class Server:
    """A real vLLM server started through `run`, stopped at the end of the test session."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
        full_env.update(env)
        self.process = subprocess.Popen(
            [*RUN, "--port", str(self.port), *args], env=full_env, cwd=REPO,
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_healthy(self.base, self.process, log)

    def client(self, **kwargs):
        import openai

        return openai.OpenAI(base_url=f"{self.base}/v1", api_key="unused", **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


@pytest.fixture(scope="session")
def server(real_model: Path, tmp_path_factory) -> Server:
    """The shared server of the real demo model, as `run` plans it (float32 on the CPU build):
    model name by flag, context length by environment variable. Eager mode: no torch.compile,
    which costs more start time than these tests' few requests win back."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    started = Server(
        [str(real_model), "--served-model-name", "demo", "--enforce-eager"],
        {"MAX_MODEL_LEN": "1024"}, log,
    )
    yield started
    started.stop()

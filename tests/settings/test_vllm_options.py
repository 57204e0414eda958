"""Reading the installed vLLM's flag table: the same table with or without a device."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoint.settings import vllm_options

# vLLM finds no platform, as in `docker build` of the GPU image (no GPU, no libcuda): the one
# fake is vLLM's detection answer; the parser and the table are the installed vLLM's own.
NO_DEVICE = """
import json, vllm.platforms as platforms
platforms.resolve_current_platform_cls_qualname = (
    lambda: "vllm.platforms.interface.UnspecifiedPlatform")
from entrypoint.settings import vllm_options
kinds = vllm_options._kinds_from_parser(vllm_options._serve_parser())
print(json.dumps({"device": platforms.current_platform.device_type, "kinds": kinds}))
"""


def test_the_flag_table_is_read_without_a_device():
    done = subprocess.run([sys.executable, "-c", NO_DEVICE], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read["device"] == "cuda"
    installed = vllm_options.installed_version()
    shipped = vllm_options._read(vllm_options._table_path(vllm_options.DATA_DIR, installed[1]))
    assert read["kinds"] == shipped


# vLLM 0.34.0's own table, read by scripts/preview_vllm.py on the 0.33 image (its pins do not
# resolve yet): it drops every --no-enable-x and --no-disable-x spelling.
PREVIEW_034 = Path(__file__).resolve().parent.parent / "data" / "vllm-options-0.34.0.preview.json"


@pytest.mark.parametrize(("given", "on_033", "on_034"), [
    ("--no-enable-prefix-caching", "--no-enable-prefix-caching", "--disable-prefix-caching"),
    ("--disable-prefix-caching", "--disable-prefix-caching", "--disable-prefix-caching"),
    ("--no-disable-custom-all-reduce", "--no-disable-custom-all-reduce",
     "--enable-custom-all-reduce"),
    ("--no-enforce-eager", "--no-enforce-eager", "--no-enforce-eager"),
])
def test_negated_spellings_follow_the_version(given, on_033, on_034):
    assert table("0.33.0").canonical(given) == on_033
    assert table("0.34.0").canonical(given) == on_034


def test_turning_an_enable_flag_off_on_each_version():
    assert table("0.33.0").negation("--enable-prefix-caching") == "--no-enable-prefix-caching"
    assert table("0.34.0").negation("--enable-prefix-caching") == "--disable-prefix-caching"
    assert table("0.34.0").negation("--enable-auto-tool-choice") == "--disable-auto-tool-choice"
    assert table("0.34.0").negation("--disable-custom-all-reduce") == "--enable-custom-all-reduce"
    assert table("0.34.0").negation("--enforce-eager") == "--no-enforce-eager"


def table(version: str) -> vllm_options.VllmOptions:
    path = (PREVIEW_034 if version == "0.34.0"
            else vllm_options._table_path(vllm_options.DATA_DIR, version))
    return vllm_options.VllmOptions(version, "test", vllm_options._read(path))

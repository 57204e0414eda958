"""Reading the installed vLLM's flag table: the same table with or without a device."""

from __future__ import annotations

import json
import subprocess
import sys

from entrypoint.settings import vllm_options
from tests.conftest import needs_vllm

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


@needs_vllm
def test_the_flag_table_is_read_without_a_device():
    done = subprocess.run([sys.executable, "-c", NO_DEVICE], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read["device"] == "cuda"
    installed = vllm_options.installed_version()
    shipped = vllm_options._read(vllm_options._table_path(vllm_options.DATA_DIR, installed[1]))
    assert read["kinds"] == shipped


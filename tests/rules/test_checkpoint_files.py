"""Issue 28: a weight file cut short is refused at plan time, naming the file (before, vLLM failed
half a minute into the start with "incomplete metadata, file not fully covered", and a SIGTERM
then never ended the process)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from entrypoint.errors import UserError
from entrypoint.facts import launch_site as facts
from entrypoint.facts import safetensors_header
from entrypoint.facts.launch_site import LaunchSite, Weights
from entrypoint.facts.safetensors_header import Mismatch
from entrypoint.rules.launch_site import DEFAULT_RUN_DIR
from tests.conftest import LLAMA_8B, run_cli, write_model_dir
from tests.rules.builder import derived

TENSORS = {"a": {"dtype": "BF16", "shape": [4, 8], "data_offsets": [0, 64]},
           "b": {"dtype": "BF16", "shape": [8], "data_offsets": [64, 80]},
           "__metadata__": {"format": "pt"}}


def safetensors_bytes(header: dict = TENSORS, data: int = 80) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"\x01" * data


COMPLETE = safetensors_bytes()


@pytest.mark.parametrize("content, expected", [
    (COMPLETE, "fine"),
    (b"", "fine"),  # nothing written: no header to contradict, not judged
    (COMPLETE[:-10], len(COMPLETE)),  # cut inside the data
    (COMPLETE + b"xx", len(COMPLETE)),  # longer than described: vLLM refuses it too
    (COMPLETE[:20], None),  # cut inside the header
    (b"\x05\x00", None),  # cut inside the length
    (struct.pack("<Q", 4) + b"{x}!", None),  # the header is not JSON
    (safetensors_bytes({"a": {"data_offsets": "0-64"}}), None),  # offsets of the wrong type
])
def test_sizes_are_compared_with_what_the_header_describes(tmp_path, content, expected):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    found = safetensors_header.mismatch(path)
    if expected == "fine":
        assert found is None
    else:
        assert found == Mismatch("model.safetensors", len(content), expected)


def test_a_real_checkpoint_written_by_safetensors_is_complete(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file({"w": torch.ones(3, 5, dtype=torch.bfloat16), "b": torch.zeros(7)},
              str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    assert safetensors_header.mismatch(tmp_path / "model.safetensors") is None
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[:-4])
    assert safetensors_header.mismatch(tmp_path / "model.safetensors").expected == len(data)


def test_weights_read_names_each_mismatched_shard(tmp_path):
    model = write_model_dir(tmp_path / "m", LLAMA_8B, weights=False)
    (model / "model-00001-of-00002.safetensors").write_bytes(safetensors_bytes())
    (model / "model-00002-of-00002.safetensors").write_bytes(safetensors_bytes()[:100])
    found = facts.weights(model, "auto")
    assert [m.name for m in found.mismatched] == ["model-00002-of-00002.safetensors"]


def test_the_rule_names_the_file_and_both_sizes():
    short = Mismatch("model-00003-of-00004.safetensors", 1000, 5000)
    weights = Weights("auto", True, ("model-00003-of-00004.safetensors",), mismatched=(short,))
    with pytest.raises(UserError, match=r"model-00003-of-00004.safetensors holds 1000 bytes "
                                        r"where its header describes 5000; .*download or copy"):
        derived(site=LaunchSite(folders={DEFAULT_RUN_DIR: None}, weights=weights))


@pytest.mark.parametrize("dry_run", [True, False])
def test_run_refuses_a_truncated_checkpoint_with_exit_2(tmp_path: Path, dry_run):
    model = write_model_dir(tmp_path / "cut", LLAMA_8B, weights=False)
    (model / "model.safetensors").write_bytes(safetensors_bytes()[:-30])
    run_dir = tmp_path / "run"
    result = run_cli(str(model), *(["--dry-run"] if dry_run else []),
                     env={"RUN_DIR": str(run_dir)})
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("run: MODEL=") and "model.safetensors holds" in last, result.stderr
    assert "Traceback" not in result.stderr and not run_dir.exists()

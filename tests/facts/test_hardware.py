"""GPU inventory: NVML through a fake behind the one NvmlLike seam, visibility variables,
the nvidia-smi fallback, --assume-gpus specs, and what a dry run shows of them."""

import json
import os
from types import SimpleNamespace

import pytest

from entrypoint.catalogs import gpus
from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from entrypoint.facts.hardware import on_path, parse_nvidia_smi, probe, visible
from tests.conftest import run_cli

GIB = 2**30


class FakeNvml:
    """Answers the pynvml calls `hardware.read_nvml` makes, for a list of (name, cc, GiB, uuid)."""

    class NVMLError(Exception):
        pass

    def __init__(self, devices, init_fails=False, names_as_bytes=False):
        self.devices = devices
        self.init_fails = init_fails
        self.names_as_bytes = names_as_bytes
        self.shutdowns = 0

    def nvmlInit(self):
        if self.init_fails:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index):
        return self.devices[index]

    def nvmlDeviceGetName(self, handle):
        return handle[0].encode() if self.names_as_bytes else handle[0]

    def nvmlDeviceGetUUID(self, handle):
        return handle[3]

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        return handle[1]

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(total=int(handle[2] * GIB), free=0, used=0)


H100 = "NVIDIA H100 80GB HBM3"
FOUR_H100 = [(H100, (9, 0), 79.6, f"GPU-{n}{n}{n}a0000-1111-2222-3333-44445555666{n}")
             for n in range(4)]


def no_smi():
    return None


def seen(environ, devices=FOUR_H100, **fake):
    inventory = probe(environ, nvml=FakeNvml(devices, **fake), smi=no_smi)
    return [g.index for g in inventory.gpus], inventory


def test_nvml_reads_name_capability_memory_uuid():
    _, inventory = seen({}, names_as_bytes=True)
    first = inventory.gpus[0]
    assert (first.name, first.capability, first.index) == (H100, (9, 0), 0)
    assert round(first.memory_gib, 1) == 79.6 and first.uuid.startswith("GPU-000")
    assert inventory.source == "nvml" and inventory.count == 4


def test_nvml_is_shut_down_after_reading():
    fake = FakeNvml(FOUR_H100)
    probe({}, nvml=fake, smi=no_smi)
    assert fake.shutdowns == 1


@pytest.mark.parametrize("cuda, expected", [
    (None, [0, 1, 2, 3]),
    ("all", [0, 1, 2, 3]),
    ("1,3", [1, 3]),
    ("3, 1", [3, 1]),
    ("2", [2]),
    ("GPU-222a0000-1111-2222-3333-444455556662", [2]),
    ("GPU-111,GPU-333", [1, 3]),  # unique UUID prefixes, as CUDA accepts them
    ("0,7,1", [0]),  # CUDA stops reading at the first entry that names no GPU
    ("0,0", [0]),
    ("GPU-", []),  # a prefix of every UUID names no single GPU
])
def test_cuda_visible_devices(cuda, expected):
    environ = {} if cuda is None else {"CUDA_VISIBLE_DEVICES": cuda}
    assert seen(environ)[0] == expected


@pytest.mark.parametrize("variable", ["CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"])
@pytest.mark.parametrize("word", ["", "none", "void", "NoNe", "-1"])
def test_hidden_gpus_mean_cpu(variable, word):
    indices, inventory = seen({variable: word})
    assert indices == [] and inventory.source == "none"
    assert variable in inventory.note and "4 GPU(s) hidden" in inventory.note


@pytest.mark.parametrize("runtime, cuda, expected", [
    ("all", None, [0, 1, 2, 3]),
    ("GPU-111a0000-1111-2222-3333-444455556661,GPU-333", None, [1, 3]),  # privileged pod
    ("2,3", None, [2, 3]),  # privileged container: host indices
    ("2,3", "1", [3]),  # CUDA's list counts within what the runtime left
    ("0,1,2,3", None, [0, 1, 2, 3]),
])
def test_nvidia_visible_devices(runtime, cuda, expected):
    environ = {"NVIDIA_VISIBLE_DEVICES": runtime}
    if cuda is not None:
        environ["CUDA_VISIBLE_DEVICES"] = cuda
    assert seen(environ)[0] == expected


def test_runtime_already_applied_its_list():
    """Inside a normal container the runtime mounted only GPUs 5 and 6, renumbered 0 and 1."""
    two = FOUR_H100[:2]
    assert seen({"NVIDIA_VISIBLE_DEVICES": "5,6"}, devices=two)[0] == [0, 1]


SMI_OUTPUT = """0, GPU-aaaa, NVIDIA A10, 8.6, 23028
1, GPU-bbbb, NVIDIA A10, 8.6, 23028
"""


def test_nvidia_smi_fallback_when_nvml_cannot_start():
    inventory = probe({"CUDA_VISIBLE_DEVICES": "1"}, nvml=FakeNvml([], init_fails=True),
                      smi=lambda: SMI_OUTPUT)
    assert inventory.source == "nvidia-smi"
    assert [(g.name, g.capability, g.uuid) for g in inventory.gpus] == [
        ("NVIDIA A10", (8, 6), "GPU-bbbb")]
    assert round(inventory.gpus[0].memory_gib, 1) == 22.5


def test_no_driver_at_all_means_cpu():
    inventory = probe({}, nvml=FakeNvml([], init_fails=True), smi=no_smi)
    assert inventory.count == 0 and "neither NVML nor nvidia-smi" in inventory.note


def test_nvidia_smi_skips_unreadable_lines():
    text = "0, GPU-a, Tesla T4, 7.5, 15360\n[Not Supported]\n1, GPU-b, X, n/a, 1\n"
    assert [g.name for g in parse_nvidia_smi(text)] == ["Tesla T4"]


def test_visible_keeps_order_and_notes_the_variable():
    gpus = [g for g in probe({}, nvml=FakeNvml(FOUR_H100), smi=no_smi).gpus]
    shown, note = visible(gpus, {"CUDA_VISIBLE_DEVICES": "3,0"})
    assert [g.index for g in shown] == [3, 0] and note == "CUDA_VISIBLE_DEVICES=3,0"


def test_probed_gpus_drive_the_plan(llama_dir):
    inventory = probe({"CUDA_VISIBLE_DEVICES": "0,1"}, nvml=FakeNvml(FOUR_H100), smi=no_smi)
    plan, _ = make_plan([str(llama_dir)], {}, inventory=inventory)
    assert plan.settings["tensor_parallel_size"].value == 2
    assert plan.facts["gpus"].startswith(f"2x {H100} (compute capability 9.0, 80 GiB) [nvml]")
    assert "GPU-000a0000" in plan.facts["gpu devices"] and "1: " in plan.facts["gpu devices"]


@pytest.mark.parametrize("spec, count, name, capability", [
    ("8xH100-80GB", 8, "H100-80GB", (9, 0)),
    ("2xA10", 2, "A10", (8, 6)),
    ("1xV100-32GB", 1, "V100-32GB", (7, 0)),
    ("4xL20", 4, "L20", (8, 9)),
    ("2x RTX 4090", 2, "RTX-4090", (8, 9)),
    ("h100", 1, "H100-80GB", (9, 0)),
    ("4*L40S", 4, "L40S", (8, 9)),
    ("1xNVIDIA A100-80GB", 1, "A100-80GB", (8, 0)),
    ("2xV100", 2, "V100-32GB", (7, 0)),
])
def test_assume_gpus_specs(spec, count, name, capability):
    inventory = gpus.assumed(spec)
    assert inventory.count == count and inventory.source == "assumed"
    assert {(g.name, g.capability) for g in inventory.gpus} == {(name, capability)}


def test_assume_mixed_and_none():
    assert [g.name for g in gpus.assumed("1xA100-40GB+1xT4").gpus] == ["A100-40GB", "T4"]
    assert gpus.assumed("none").count == 0


def test_catalog_memory_is_what_nvml_reports():
    catalog = gpus.catalog()
    assert round(catalog["h10080gb"].memory_gib, 1) == 79.6
    assert round(catalog["a10"].memory_gib, 1) == 22.5
    assert {"V100-16GB", "T4", "A30", "L4", "RTX-3090", "H20", "H200"} <= set(
        gpus.known_names())


@pytest.mark.parametrize("spec", ["8xH900", "0xA10", "x", "A10x2"])
def test_unknown_gpu_names_list_known_ones(spec):
    with pytest.raises(UserError) as error:
        gpus.assumed(spec, "ASSUME_GPUS")
    assert f"ASSUME_GPUS={spec!r} names no known GPU" in str(error.value)
    assert "H100-80GB" in str(error.value) and "L20" in str(error.value)


def test_assume_gpus_unknown_exits_2(llama_dir):
    result = run_cli("--dry-run", str(llama_dir), "--assume-gpus", "3xB900")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--assume-gpus='3xB900' names no known GPU" in result.stderr


def test_assume_gpus_needs_dry_run(llama_dir):
    result = run_cli(str(llama_dir), env={"ASSUME_GPUS": "2xA10"})
    assert result.returncode == 2
    assert "ASSUME_GPUS=2xA10 plans for GPUs this machine may not have; add --dry-run" \
        in result.stderr


def test_dry_run_json_shows_gpus_estimate_and_gates(llama_dir):
    result = run_cli("--dry-run", "--json", str(llama_dir), env={"ASSUME_GPUS": "2xL20"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    facts = data["facts"]
    assert facts["gpus"].startswith("2x L20 (compute capability 8.9, 45 GiB) [assumed]")
    assert facts["gate: GPU generation"].startswith("pass")
    assert facts["gate: memory"].startswith("pass")
    assert "weights 15.0 GiB" in facts["memory estimate"]
    assert data["settings"]["tensor_parallel_size"]["value"] == 2
    assert "--assume-gpus" not in data["argv"]


def test_dry_run_on_this_machine_reports_what_it_saw(llama_dir):
    """Here (no GPU driver) the real probe answers 'no GPU'; on a GPU host it lists them."""
    result = run_cli("--dry-run", "--json", str(llama_dir))
    facts = json.loads(result.stdout)["facts"]
    assert "gpus" in facts and "gpu devices" in facts


def test_mig_instance_is_named_not_sized():
    _, inventory = seen({"CUDA_VISIBLE_DEVICES": "MIG-4f7a0000-1111-2222-3333-444455556666"})
    assert inventory.count == 0 and "names a MIG instance" in inventory.note


def test_privileged_container_pins_vllm_to_the_named_gpus(llama_dir):
    environ = {"NVIDIA_VISIBLE_DEVICES": "1,3"}
    inventory = probe(environ, nvml=FakeNvml(FOUR_H100), smi=no_smi)
    plan, _ = make_plan([str(llama_dir)], environ, inventory=inventory)
    assert plan.env["CUDA_VISIBLE_DEVICES"] == ",".join(g.uuid for g in inventory.gpus)
    assert plan.settings["tensor_parallel_size"].value == 2


@pytest.mark.parametrize("environ", [
    {"NVIDIA_VISIBLE_DEVICES": "1,3", "CUDA_VISIBLE_DEVICES": "0"},  # the user's choice stands
    {"NVIDIA_VISIBLE_DEVICES": "all"},
    {"CUDA_VISIBLE_DEVICES": "1,3"},  # CUDA reads it itself
])
def test_no_pin_where_cuda_already_sees_the_right_gpus(llama_dir, environ):
    inventory = probe(environ, nvml=FakeNvml(FOUR_H100), smi=no_smi)
    plan, _ = make_plan([str(llama_dir)], environ, inventory=inventory)
    assert "CUDA_VISIBLE_DEVICES" not in plan.env


def test_nvidia_smi_is_found_on_path_like_shutil_which(tmp_path, monkeypatch):
    (tmp_path / "dir" / "nvidia-smi").mkdir(parents=True)  # a folder of that name: skipped
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "nvidia-smi").write_text("")  # not executable: skipped
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "nvidia-smi").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join(
        str(tmp_path / d) for d in ("missing", "dir", "plain", "bin")))
    assert on_path("nvidia-smi") == str(tmp_path / "bin" / "nvidia-smi")
    monkeypatch.setenv("PATH", "")
    assert on_path("nvidia-smi") is None

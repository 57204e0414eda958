"""Where the model comes from: training outputs, LoRA adapters, hub ids, caches (no vLLM start)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from entrypoint.facts import page_cache
from entrypoint.facts.hardware import NO_GPU
from entrypoint.facts.model_location import LORA_RANKS, Entry, lora_rank_choice, pick_from_listing
from entrypoint.launch import page_cache as reader
from entrypoint.launch.steps import perform
from entrypoint.plan.steps import MergeLora, WarmPageCache
from tests.conftest import LLAMA_8B, complete_safetensors, run_cli, write_model_dir
from tests.hub_server import COMMIT, FakeHub
from tests.rules.test_bad_input import assert_refused

TINY = {**LLAMA_8B, "num_hidden_layers": 2, "hidden_size": 128, "intermediate_size": 256,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 1000}


def plan_for(model: str | Path, *args: str, **env: str):
    plan, _ = make_plan([str(model), *args], env, inventory=NO_GPU)
    return plan


def write_adapter(path: Path, base: str | None, r: int = 8, **extra) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    config = {"peft_type": "LORA", "r": r, "lora_alpha": 16, "target_modules": ["q_proj"],
              "base_model_name_or_path": base, **extra}
    (path / "adapter_config.json").write_text(json.dumps(config))
    (path / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    return path


def flag_values(plan, option: str) -> list[str]:
    argv = plan.argv
    if option not in argv:
        return []
    start = argv.index(option) + 1
    values = []
    for token in argv[start:]:
        if token.startswith("--"):
            break
        values.append(token)
    return values


# --- training outputs -----------------------------------------------------------------------

@pytest.mark.parametrize("entries, expected", [
    ([Entry("checkpoint-500", True, False), Entry("checkpoint-1000", True, False),
      Entry("checkpoint-999", True, False)], "checkpoint-1000"),  # by step number, not by name
    ([Entry("checkpoint-20", True, False), Entry("checkpoint-30", False, False)], "checkpoint-20"),
    ([Entry("checkpoint-7", False, True), Entry("runs", False, False)], "checkpoint-7"),
    ([Entry("final", True, False), Entry("logs", False, False)], "final"),
    ([Entry("a", True, False), Entry("b", True, False)], None),  # two models: ambiguous
    ([Entry("logs", False, False)], None),
])
def test_pick_from_listing(entries, expected):
    picked = pick_from_listing("/out", entries)
    assert (picked[0] if picked else None) == expected


def test_newest_checkpoint_is_served(tmp_path):
    for step in (100, 2000, 300):
        write_model_dir(tmp_path / "run" / f"checkpoint-{step}", TINY)
    (tmp_path / "run" / "runs").mkdir()
    plan = plan_for(tmp_path / "run")
    assert plan.argv[plan.argv.index("entrypoint.serve.vllm_serve") + 1] == \
        str(tmp_path / "run" / "checkpoint-2000")
    assert "newest training checkpoint" in plan.facts["model source"]
    assert "step 2000 of 3 found" in plan.settings["model"].reason


def test_single_model_subfolder_is_served(tmp_path):
    write_model_dir(tmp_path / "out" / "final-model", TINY)
    (tmp_path / "out" / "logs").mkdir()
    plan = plan_for(tmp_path / "out")
    assert str(tmp_path / "out" / "final-model") in plan.argv


def test_two_model_subfolders_are_refused(tmp_path):
    write_model_dir(tmp_path / "out" / "a", TINY)
    write_model_dir(tmp_path / "out" / "b", TINY)
    assert_refused(run_cli("--dry-run", str(tmp_path / "out")), "config.json is missing")


# --- LoRA adapters --------------------------------------------------------------------------

@pytest.mark.parametrize("rank, choice", [(1, 1), (2, 8), (8, 8), (12, 16), (64, 64),
                                          (300, 320), (512, 512)])
def test_lora_rank_rounds_up_to_vllm_choices(rank, choice):
    assert lora_rank_choice(rank, "a") == choice
    assert choice in LORA_RANKS


def test_one_adapter_serves_base_with_lora(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    adapter = write_adapter(tmp_path / "my-adapter", str(base), r=12)
    plan = plan_for(adapter)
    assert plan.argv[plan.argv.index("entrypoint.serve.vllm_serve") + 1] == str(base)
    assert "--enable-lora" in plan.argv
    assert flag_values(plan, "--lora-modules") == [f"my-adapter={adapter}"]
    assert flag_values(plan, "--max-lora-rank") == ["16"]
    assert "--max-loras" not in plan.argv


def test_several_adapters_become_several_names(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    folder = tmp_path / "adapters"
    write_adapter(folder / "support", str(base), r=4)
    write_adapter(folder / "legal", str(base), r=32, rank_pattern={"q_proj": 40})
    plan = plan_for(folder)
    assert flag_values(plan, "--lora-modules") == [f"legal={folder / 'legal'}",
                                                  f"support={folder / 'support'}"]
    assert flag_values(plan, "--max-lora-rank") == ["64"]  # rank_pattern's 40 counts
    assert flag_values(plan, "--max-loras") == ["2"]


def test_user_flags_win_over_derived_lora_flags(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    adapter = write_adapter(tmp_path / "ad", str(base), r=8)
    plan = plan_for(adapter, "--max-lora-rank", "32")
    assert flag_values(plan, "--max-lora-rank") == ["32"]
    assert plan.argv.count("--max-lora-rank") == 1


def test_base_model_setting_overrides_adapter_record(tmp_path):
    base = write_model_dir(tmp_path / "mounted-base", TINY)
    adapter = write_adapter(tmp_path / "ad", "/home/trainer/llama-base", r=8)
    plan = plan_for(adapter, BASE_MODEL=str(base))
    assert str(base) in plan.argv
    assert "from BASE_MODEL" in plan.facts["model source"]


def test_missing_local_base_is_refused(tmp_path):
    adapter = write_adapter(tmp_path / "ad", "/home/trainer/llama-base", r=8)
    assert_refused(run_cli("--dry-run", str(adapter)),
                   "LoRA base model /home/trainer/llama-base", "base_model_name_or_path",
                   "set BASE_MODEL")


def test_adapter_without_base_is_refused(tmp_path):
    adapter = write_adapter(tmp_path / "ad", None, r=8)
    assert_refused(run_cli("--dry-run", str(adapter)), "names no base model", "BASE_MODEL")


def test_adapters_with_different_bases_are_refused(tmp_path):
    folder = tmp_path / "adapters"
    write_adapter(folder / "a", str(write_model_dir(tmp_path / "b1", TINY)))
    write_adapter(folder / "b", str(write_model_dir(tmp_path / "b2", TINY)))
    assert_refused(run_cli("--dry-run", str(folder)), "different base models", "BASE_MODEL")


def test_rank_above_vllm_limit_is_refused(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    adapter = write_adapter(tmp_path / "ad", str(base), r=1024)
    assert_refused(run_cli("--dry-run", str(adapter)), "r=1024", "above the 512",
                   "MERGE_LORA=true")


def test_non_lora_adapter_is_refused(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    adapter = write_adapter(tmp_path / "ad", str(base), peft_type="IA3")
    assert_refused(run_cli("--dry-run", str(adapter)), "IA3 adapter", "LoRA adapters only")


def test_merge_plans_a_cached_merged_model(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    adapter = write_adapter(tmp_path / "chat-tune", str(base), r=8)
    cache = tmp_path / "cache"
    plan = plan_for(adapter, MERGE_LORA="true", CACHE_DIR=str(cache))
    served = Path(plan.argv[plan.argv.index("entrypoint.serve.vllm_serve") + 1])
    assert served.parent == cache / "merged" and served.name.startswith("base+chat-tune-")
    assert "--enable-lora" not in plan.argv
    assert flag_values(plan, "--served-model-name") == ["chat-tune"]
    assert any("merge LoRA" in step and str(served) in step for step in plan.to_json()["steps"])
    # the same adapter merges to the same place; a retrained one (new files) to a new one
    assert plan_for(adapter, MERGE_LORA="true", CACHE_DIR=str(cache)).argv == plan.argv
    (adapter / "adapter_model.safetensors").write_bytes(b"\1" * 32)
    assert plan_for(adapter, MERGE_LORA="true", CACHE_DIR=str(cache)).argv != plan.argv


def test_merge_step_is_data_and_knows_a_finished_merge(tmp_path):
    """The plan lists the merge as data (launch performs it); a restart finds the copy."""
    base = write_model_dir(tmp_path / "base", TINY)
    adapter = write_adapter(tmp_path / "chat-tune", str(base), r=8)
    env = {"MERGE_LORA": "true", "CACHE_DIR": str(tmp_path / "cache")}
    step = plan_for(adapter, **env).steps[0]
    assert isinstance(step, MergeLora) and not step.done and not hasattr(step, "run")
    write_model_dir(step.out, TINY)  # what the launch step leaves behind
    again = plan_for(adapter, **env).steps[0]
    assert again.done and "reused, already merged" in again.describe()


def test_merge_of_several_adapters_is_refused(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    write_adapter(tmp_path / "ads" / "a", str(base))
    write_adapter(tmp_path / "ads" / "b", str(base))
    assert_refused(run_cli("--dry-run", str(tmp_path / "ads"), env={"MERGE_LORA": "1"}),
                   "MERGE_LORA=true merges one adapter", "holds 2")


def test_checkpoint_holding_an_adapter(tmp_path):
    base = write_model_dir(tmp_path / "base", TINY)
    write_adapter(tmp_path / "run" / "checkpoint-10", str(base))
    write_adapter(tmp_path / "run" / "checkpoint-20", str(base))
    plan = plan_for(tmp_path / "run")
    assert flag_values(plan, "--lora-modules") == [
        f"checkpoint-20={tmp_path / 'run' / 'checkpoint-20'}"]


# --- hub ids --------------------------------------------------------------------------------

TINY_REPO = {
    "config.json": json.dumps(TINY).encode(),
    "tokenizer_config.json": b"{}",
    "model-00001-of-00002.safetensors": complete_safetensors(3000),
    "model-00002-of-00002.safetensors": complete_safetensors(2000),
    "pytorch_model.bin": b"c" * 5000,  # skipped: the repo has safetensors
    "original/consolidated.00.pth": b"d" * 100,  # skipped: another runtime's copy
}


@pytest.fixture
def fake_hub():
    hub = FakeHub("org/tiny", TINY_REPO, token="hf_secret_value")
    yield hub
    hub.close()


def test_hub_id_plans_config_fetch_and_weights_download(fake_hub, tmp_path):
    env = {"HF_ENDPOINT": fake_hub.url, "HF_TOKEN": "hf_secret_value",
           "CACHE_DIR": str(tmp_path / "cache")}
    plan = plan_for("org/tiny", **env)
    snapshot = tmp_path / "cache" / "hub" / "models--org--tiny" / "snapshots" / COMMIT
    assert plan.argv[plan.argv.index("entrypoint.serve.vllm_serve") + 1] == str(snapshot)
    assert flag_values(plan, "--served-model-name") == ["org/tiny"]
    assert sorted(p.name for p in snapshot.iterdir()) == ["config.json", "tokenizer_config.json"]
    steps = plan.to_json()["steps"]
    assert len(steps) == 1 and "download 2 file(s)" in steps[0] and "org/tiny@" in steps[0]
    assert "Bearer hf_secret_value" in fake_hub.auth_seen  # HF_TOKEN reached the hub...
    assert "hf_secret_value" not in json.dumps(plan.to_json()) + plan.render_text()  # ...only
    perform(plan.steps[0])  # the launch step: weights, pinned to the planned commit
    assert sorted(p.name for p in snapshot.iterdir()) == [
        "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "tokenizer_config.json"]
    first = TINY_REPO["model-00001-of-00002.safetensors"]
    assert (snapshot / "model-00001-of-00002.safetensors").read_bytes() == first
    again = plan_for("org/tiny", **env)  # a restart: nothing left to download, warm-up instead
    assert not any("download" in s for s in again.to_json()["steps"])
    assert any("page cache" in s for s in again.to_json()["steps"])


def test_cached_hub_model_works_offline(fake_hub, tmp_path):
    cache = str(tmp_path / "cache")
    plan_for("org/tiny", HF_ENDPOINT=fake_hub.url, HF_TOKEN="hf_secret_value", CACHE_DIR=cache)
    fake_hub.close()
    # the launch step would have fetched the weights: the plan-time check wants them there
    (tmp_path / "cache" / "hub" / "models--org--tiny" / "snapshots" / COMMIT
     / "model.safetensors").touch()
    plan = plan_for("org/tiny", HF_HUB_OFFLINE="1", CACHE_DIR=cache)
    assert flag_values(plan, "--served-model-name") == ["org/tiny"]
    steps = plan.to_json()["steps"]  # offline: nothing to download, served as cached
    assert not any("download" in step.lower() for step in steps), steps
    assert "models--org--tiny" in plan.argv[plan.argv.index("entrypoint.serve.vllm_serve") + 1]


def test_offline_and_not_cached_is_one_sentence(tmp_path):
    cache = tmp_path / "cache"
    assert_refused(run_cli("--dry-run", "org/absent-model",
                           env={"HF_HUB_OFFLINE": "1", "CACHE_DIR": str(cache)}),
                   "MODEL=org/absent-model", str(cache / "hub"), "offline")


def test_no_network_is_one_sentence(tmp_path):
    cache = tmp_path / "cache"
    result = run_cli("--dry-run", "org/tiny", env={"HF_ENDPOINT": "http://127.0.0.1:9",
                                                   "CACHE_DIR": str(cache), "HF_TOKEN": "hf_xyz"})
    assert_refused(result, "Hugging Face id org/tiny", str(cache / "hub"), "unreachable")
    assert "hf_xyz" not in result.stderr + result.stdout


def test_wrong_token_is_one_sentence(fake_hub, tmp_path):
    with pytest.raises(UserError, match="needs access rights.*HF_TOKEN"):
        plan_for("org/tiny", HF_ENDPOINT=fake_hub.url, HF_TOKEN="wrong",
                 CACHE_DIR=str(tmp_path))


def test_hub_adapter_base_offline_is_named(tmp_path):
    adapter = write_adapter(tmp_path / "ad", "meta-llama/Llama-3.1-8B", r=8)
    assert_refused(run_cli("--dry-run", str(adapter),
                           env={"HF_HUB_OFFLINE": "1", "CACHE_DIR": str(tmp_path / "c")}),
                   "MODEL=meta-llama/Llama-3.1-8B", "offline")


# --- compile cache and page-cache warm-up ---------------------------------------------------

def test_cache_dir_holds_vllm_compile_cache(llama_dir, tmp_path):
    plan = plan_for(llama_dir, CACHE_DIR=str(tmp_path / "persist"))
    assert plan.env["VLLM_CACHE_ROOT"] == str(tmp_path / "persist" / "vllm")
    user_set = plan_for(llama_dir, CACHE_DIR=str(tmp_path), VLLM_CACHE_ROOT="/mine")
    assert "VLLM_CACHE_ROOT" not in user_set.env  # the user's own variable is left alone


def test_cache_dir_keeps_every_restart_cache_and_dry_run_says_where(llama_dir, tmp_path):
    root = tmp_path / "persist"
    plan = plan_for(llama_dir, CACHE_DIR=str(root))
    assert plan.env["TORCHINDUCTOR_CACHE_DIR"] == str(root / "inductor")
    assert plan.env["TRITON_CACHE_DIR"] == str(root / "triton")
    assert plan.env["VLLM_ENABLE_STARTUP_PLAN"] == "1"
    triton = f"Triton's kernel binaries in {root / 'triton'} (kept on CACHE_DIR)"
    assert triton in plan.facts["caches"]
    bare = plan_for(llama_dir)
    assert "inside the container: lost on restart" in bare.facts["caches"]
    assert "VLLM_ENABLE_STARTUP_PLAN" not in bare.env


MOUNTS = """overlay / overlay rw 0 0
/dev/nvme1n1 /data ext4 rw 0 0
10.0.0.5:/export /data/shared nfs4 rw 0 0
juicefs /mnt/jfs fuse.juicefs rw 0 0
"""


@pytest.mark.parametrize("path, kind, point", [
    ("/data/model/x.safetensors", "ext4", "/data"),
    ("/data/shared/m/x.safetensors", "nfs4", "/data/shared"),
    ("/mnt/jfs/m", "fuse.juicefs", "/mnt/jfs"),
    ("/models/m", "overlay", "/"),
    ("/database", "overlay", "/"),  # a prefix of /data by letters, not by path
])
def test_mount_type_and_point(path, kind, point):
    assert page_cache.mount_type(Path(path), MOUNTS) == kind
    assert page_cache.mount_point(Path(path), MOUNTS) == point


def weights_dir(tmp_path: Path, shards: int = 2, size: int = 4096) -> Path:
    model = write_model_dir(tmp_path / "weights-model", TINY)
    for index in range(shards):
        (model / f"model-0000{index + 1}-of-0000{shards}.safetensors").write_bytes(
            complete_safetensors(size))
    return model


def with_facts(monkeypatch, **changes):
    """Free memory and mount type are facts of the machine; these tests pick them."""
    real = page_cache.read_facts

    def read(model_dir):
        facts = real(model_dir)
        return page_cache.WeightFacts(**{**facts.__dict__, **changes})

    monkeypatch.setattr(page_cache, "read_facts", read)


def test_warm_up_on_local_disk(tmp_path, monkeypatch):
    with_facts(monkeypatch, fs_type="ext4", available_bytes=10**12)
    plan = plan_for(weights_dir(tmp_path))
    assert any("page cache with 8 parallel readers" in s for s in plan.to_json()["steps"])
    assert "--safetensors-load-strategy" not in plan.argv


def test_network_fs_uses_vllm_prefetch(tmp_path, monkeypatch):
    with_facts(monkeypatch, fs_type="fuse.juicefs", available_bytes=10**12)
    plan = plan_for(weights_dir(tmp_path))
    assert flag_values(plan, "--safetensors-load-strategy") == ["prefetch"]
    assert plan.to_json()["steps"] == []


@pytest.mark.parametrize("env, args, fact", [
    ({"DISABLE_MEM_CACHE": "true"}, [], "warm-up off"),
    ({}, ["--safetensors-load-strategy", "lazy"], "left to vLLM"),
])
def test_warm_up_skipped_when_asked(tmp_path, monkeypatch, env, args, fact):
    with_facts(monkeypatch, fs_type="ext4", available_bytes=10**12)
    plan = plan_for(weights_dir(tmp_path), *args, **env)
    assert plan.to_json()["steps"] == []
    assert fact in plan.facts["page cache"]


def test_warm_up_skipped_when_weights_exceed_free_memory(tmp_path, monkeypatch):
    with_facts(monkeypatch, fs_type="nfs4", available_bytes=5000)
    plan = plan_for(weights_dir(tmp_path, size=4096))
    assert plan.to_json()["steps"] == [] and "--safetensors-load-strategy" not in plan.argv
    assert "exceed 90%" in plan.facts["page cache"]


def test_reader_reads_every_byte(tmp_path):
    model = weights_dir(tmp_path, shards=3, size=reader.BLOCK + 123)
    files = [str(p) for p in page_cache.weight_files(model)]
    reader.evict(files)
    assert reader.read_chunks(files, readers=4) == 3 * (reader.BLOCK + 123)


def test_warm_up_outlives_the_launcher(tmp_path):
    """The reader is detached: the step returns, and the reader is nobody's child of ours."""
    import psutil

    model = weights_dir(tmp_path, shards=1, size=8 * reader.BLOCK)
    files = tuple(str(p) for p in page_cache.weight_files(model))
    before = set(psutil.Process().children(recursive=True))  # e.g. the shared test server
    perform(WarmPageCache(files=files, total_bytes=8 * reader.BLOCK))
    assert set(psutil.Process().children(recursive=True)) - before == set()


def test_relative_missing_folder_is_not_a_hub_id(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="data/model does not exist"):
        plan_for("data/model", HF_ENDPOINT="http://127.0.0.1:9")


def test_relative_base_is_found_beside_the_adapter(tmp_path, monkeypatch):
    """peft records the base as the trainer typed it, e.g. `models/base` relative to its cwd."""
    write_model_dir(tmp_path / "work" / "models" / "base", TINY)
    adapter = write_adapter(tmp_path / "work" / "outputs" / "ad", "models/base")
    monkeypatch.chdir(tmp_path)
    plan = plan_for(adapter)
    assert str(tmp_path / "work" / "models" / "base") in plan.argv

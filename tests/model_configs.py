"""config.json shapes of public models (the fields sizing reads, copied from their model cards).

Values are those published on the Hugging Face hub for each repository; unrelated fields (token
ids, rope theta of models without scaling, ...) are left out.
"""

LLAMA3_ROPE = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192, "rope_type": "llama3"}


def qwen2(hidden, intermediate, heads, kv, layers, context=32768, vocab=152064, **extra):
    return {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": hidden,
            "intermediate_size": intermediate, "num_attention_heads": heads,
            "num_key_value_heads": kv, "num_hidden_layers": layers,
            "max_position_embeddings": context, "vocab_size": vocab, "torch_dtype": "bfloat16",
            "tie_word_embeddings": False, **extra}


def llama(hidden, intermediate, heads, kv, layers, context, vocab, dtype="bfloat16", **extra):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
            "intermediate_size": intermediate, "num_attention_heads": heads,
            "num_key_value_heads": kv, "num_hidden_layers": layers,
            "max_position_embeddings": context, "vocab_size": vocab, "torch_dtype": dtype,
            "tie_word_embeddings": False, **extra}


def decilm_blocks(*runs):
    """DeciLM block_configs from runs of (count, n_heads_in_group or None for no attention,
    ffn_mult), the fields vLLM reads of each block."""
    blocks = []
    for count, group, mult in runs:
        attention = ({"n_heads_in_group": group, "no_op": False, "replace_with_linear": False}
                     if group else {"n_heads_in_group": None, "no_op": True,
                                    "replace_with_linear": False})
        ffn = {"ffn_mult": mult, "no_op": False, "replace_with_linear": False}
        blocks += [{"attention": attention, "ffn": ffn} for _ in range(count)]
    return blocks


# nvidia/Llama-3_3-Nemotron-Super-49B-v1: 80 blocks, 49 with attention (8 KV heads), the rest
# FFN only, of varying width.
NEMOTRON_SUPER_49B_BLOCKS = decilm_blocks(
    (1, 8, 2.625), (5, 8, 5.25), (2, None, 2.625), (3, 8, 5.25), (1, None, 3.28125),
    (30, 8, 5.25), (1, None, 1.3125), (2, None, 2.625), (1, None, 1.3125), (1, None, 5.25),
    (1, None, 1.3125), (1, None, 2.625), (3, None, 1.3125), (1, 8, 5.25), (1, None, 1.3125),
    (2, None, 1.0), (1, None, 1.3125), (3, None, 1.0), (2, None, 1.3125), (2, None, 0.5),
    (2, None, 1.0), (2, None, 0.5), (1, None, 1.0), (2, None, 0.5), (9, 8, 5.25))

MODELS = {
    "Qwen1.5-7B-Chat": qwen2(4096, 11008, 32, 32, 32, vocab=151936),
    "Qwen2-7B-Instruct": qwen2(3584, 18944, 28, 4, 28),
    "Qwen2-72B-Instruct": qwen2(8192, 29568, 64, 8, 80),
    "Qwen2.5-7B-Instruct": qwen2(3584, 18944, 28, 4, 28),
    "Qwen2.5-14B-Instruct": qwen2(5120, 13824, 40, 8, 48),
    "Qwen3-8B": {
        **qwen2(4096, 12288, 32, 8, 36, context=40960, vocab=151936),
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "head_dim": 128,
    },
    "Qwen2-VL-7B-Instruct": {
        **qwen2(3584, 18944, 28, 4, 28),
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "vision_config": {"depth": 32, "embed_dim": 1280, "num_heads": 16, "in_chans": 3},
    },
    "Llama-2-7b-chat-hf": llama(4096, 11008, 32, 32, 32, 4096, 32000, dtype="float16"),
    "Meta-Llama-3-8B-Instruct": llama(4096, 14336, 32, 8, 32, 8192, 128256),
    "Llama-3.1-8B-Instruct": llama(4096, 14336, 32, 8, 32, 131072, 128256,
                                   rope_scaling=LLAMA3_ROPE),
    "Llama-3.2-3B-Instruct": llama(3072, 8192, 24, 8, 28, 131072, 128256, head_dim=128,
                                   tie_word_embeddings=True,
                                   rope_scaling={**LLAMA3_ROPE, "factor": 32.0}),
    "Llama-3.2-11B-Vision-Instruct": {
        "architectures": ["MllamaForConditionalGeneration"], "model_type": "mllama",
        "torch_dtype": "bfloat16",
        "text_config": {"model_type": "mllama_text_model", "hidden_size": 4096,
                        "intermediate_size": 14336, "num_attention_heads": 32,
                        "num_key_value_heads": 8, "num_hidden_layers": 40,
                        "max_position_embeddings": 131072, "vocab_size": 128256,
                        "rope_scaling": LLAMA3_ROPE, "tie_word_embeddings": False,
                        "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38]},
        "vision_config": {"hidden_size": 1280, "num_hidden_layers": 32, "image_size": 560,
                          "attention_heads": 16},
    },
    "Mistral-7B-Instruct-v0.3": {
        **llama(4096, 14336, 32, 8, 32, 32768, 32768), "architectures": ["MistralForCausalLM"],
        "model_type": "mistral", "sliding_window": None,
    },
    "Baichuan2-7B-Chat": {
        "architectures": ["BaichuanForCausalLM"], "model_type": "baichuan",
        "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32,
        "num_hidden_layers": 32, "max_position_embeddings": 4096, "model_max_length": 4096,
        "vocab_size": 125696, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
    },
    "Baichuan2-13B-Chat": {
        "architectures": ["BaichuanForCausalLM"], "model_type": "baichuan",
        "hidden_size": 5120, "intermediate_size": 13696, "num_attention_heads": 40,
        "num_hidden_layers": 40, "model_max_length": 4096, "vocab_size": 125696,
        "torch_dtype": "bfloat16", "tie_word_embeddings": False,
    },
    "glm-4-9b-chat": {
        "architectures": ["ChatGLMModel"], "model_type": "chatglm", "hidden_size": 4096,
        "ffn_hidden_size": 13696, "kv_channels": 128, "multi_query_attention": True,
        "multi_query_group_num": 2, "num_attention_heads": 32, "num_layers": 40,
        "padded_vocab_size": 151552, "seq_length": 131072, "torch_dtype": "bfloat16",
        "rope_ratio": 500,
    },
    "DeepSeek-R1-Distill-Qwen-7B": qwen2(3584, 18944, 28, 4, 28, context=131072,
                                         sliding_window=4096, use_sliding_window=False),
    "DeepSeek-R1-Distill-Llama-70B": llama(8192, 28672, 64, 8, 80, 131072, 128256,
                                           rope_scaling=LLAMA3_ROPE),
    "Llama-3.1-70B-Instruct": llama(8192, 28672, 64, 8, 80, 131072, 128256,
                                    rope_scaling=LLAMA3_ROPE),
    "Qwen2.5-7B-Instruct-GPTQ-Int4": {
        **qwen2(3584, 18944, 28, 4, 28), "torch_dtype": "float16",
        "quantization_config": {"bits": 4, "group_size": 128, "damp_percent": 0.01,
                                "desc_act": False, "static_groups": False, "sym": True,
                                "true_sequential": True, "quant_method": "gptq"},
    },
    "Llama-2-7B-Chat-AWQ": {
        **llama(4096, 11008, 32, 32, 32, 4096, 32000, dtype="float16"),
        "quantization_config": {"quant_method": "awq", "zero_point": True, "group_size": 128,
                                "bits": 4, "version": "gemm"},
    },
}

MODELS.update({
    "Llama-3_3-Nemotron-Super-49B-v1": {
        "architectures": ["DeciLMForCausalLM"], "model_type": "nemotron-nas",
        "block_configs": NEMOTRON_SUPER_49B_BLOCKS, "hidden_size": 8192,
        "intermediate_size": None, "num_attention_heads": 64, "num_key_value_heads": None,
        "num_hidden_layers": 80, "max_position_embeddings": 131072, "vocab_size": 128256,
        "rope_scaling": LLAMA3_ROPE, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    },
    "Kimi-K2-Instruct": {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "kimi_k2",
        "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
        "n_routed_experts": 384, "n_shared_experts": 1, "num_experts_per_tok": 8,
        "first_k_dense_replace": 1, "num_attention_heads": 64, "num_key_value_heads": 64,
        "num_hidden_layers": 61, "kv_lora_rank": 512, "q_lora_rank": 1536,
        "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
        "max_position_embeddings": 131072, "vocab_size": 163840, "tie_word_embeddings": False,
        "rope_scaling": {"beta_fast": 1.0, "beta_slow": 1.0, "factor": 32.0, "mscale": 1.0,
                         "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                         "type": "yarn"},
        "torch_dtype": "bfloat16",
        "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                                "quant_method": "fp8", "weight_block_size": [128, 128]},
    },
    "chatglm2-6b": {
        "architectures": ["ChatGLMModel"], "model_type": "chatglm", "hidden_size": 4096,
        "ffn_hidden_size": 13696, "kv_channels": 128, "multi_query_attention": True,
        "multi_query_group_num": 2, "num_attention_heads": 32, "num_layers": 28,
        "padded_vocab_size": 65024, "seq_length": 32768, "torch_dtype": "float16",
        "tie_word_embeddings": False, "eos_token_id": 2, "pad_token_id": 0,
    },
    "medgemma-27b-it": {
        "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
        "eos_token_id": [1, 106], "torch_dtype": "bfloat16",
        "text_config": {"model_type": "gemma3_text", "head_dim": 128, "hidden_size": 5376,
                        "intermediate_size": 21504, "max_position_embeddings": 131072,
                        "num_attention_heads": 32, "num_hidden_layers": 62,
                        "num_key_value_heads": 16, "query_pre_attn_scalar": 168,
                        "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                        "sliding_window": 1024, "sliding_window_pattern": 6,
                        "vocab_size": 262208, "torch_dtype": "bfloat16"},
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 1152,
                          "image_size": 896, "intermediate_size": 4304,
                          "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14},
    },
    # the config.json of nvidia's ModelOpt checkpoint is Llama's; hf_quant_config.json beside it
    # (FILES) says FP8
    "Llama-3.1-70B-Instruct-FP8": llama(8192, 28672, 64, 8, 80, 131072, 128256,
                                        rope_scaling=LLAMA3_ROPE),
    "Qwen-7B-Chat": {
        "architectures": ["QWenLMHeadModel"], "model_type": "qwen", "hidden_size": 4096,
        "intermediate_size": 22016, "kv_channels": 128, "num_attention_heads": 32,
        "num_hidden_layers": 32, "max_position_embeddings": 8192, "seq_length": 8192,
        "vocab_size": 151936, "tie_word_embeddings": False, "bf16": False, "fp16": False,
        "auto_map": {"AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"},
    },
})

# Files beside config.json (written by tests/conftest.py write_model_dir), by model.
FILES = {
    "Llama-3.1-70B-Instruct-FP8": {
        "hf_quant_config": {"producer": {"name": "modelopt"},
                            "quantization": {"quant_algo": "FP8"}},
    },
}

# What the authors publish: parameters (billions) as the model's Hugging Face page counts them
# from the checkpoint, and for quantized checkpoints the bytes of the weight files
# (model.safetensors.index.json metadata.total_size) in GiB.
PUBLISHED_PARAMS = {
    "Llama-3.1-8B-Instruct": 8.03, "Llama-3.1-70B-Instruct": 70.6, "Qwen2-72B-Instruct": 72.7,
    "Qwen2.5-7B-Instruct": 7.62, "Qwen2.5-14B-Instruct": 14.8, "glm-4-9b-chat": 9.40,
    "Qwen3-8B": 8.19, "Llama-3.2-3B-Instruct": 3.21, "Mistral-7B-Instruct-v0.3": 7.25,
    "Llama-2-7b-chat-hf": 6.74, "Meta-Llama-3-8B-Instruct": 8.03, "Baichuan2-7B-Chat": 7.51,
    "Baichuan2-13B-Chat": 13.9, "Qwen2-VL-7B-Instruct": 8.29,
    "Llama-3.2-11B-Vision-Instruct": 10.7, "DeepSeek-R1-Distill-Qwen-7B": 7.62,
    "DeepSeek-R1-Distill-Llama-70B": 70.6, "Qwen1.5-7B-Chat": 7.72, "Qwen2-7B-Instruct": 7.62,
    "Llama-3_3-Nemotron-Super-49B-v1": 49.9, "Kimi-K2-Instruct": 1026.0, "chatglm2-6b": 6.24,
    "medgemma-27b-it": 27.4, "Llama-3.1-70B-Instruct-FP8": 70.6, "Qwen-7B-Chat": 7.72,
}
PUBLISHED_CHECKPOINT_GIB = {"Llama-3.1-70B-Instruct-FP8": 67.7}

# The GPU sets each model is planned for (ASSUME_GPUS spellings); "none" = the CPU build.
GPU_SETS = ["none", "1xT4", "2xV100", "1xA10", "2xA10", "1xL20", "8xL20", "1xA100-80GB",
            "8xH100"]

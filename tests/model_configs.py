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

# The GPU sets each model is planned for (ASSUME_GPUS spellings); "none" = the CPU build.
GPU_SETS = ["none", "1xT4", "2xV100", "1xA10", "2xA10", "1xL20", "8xL20", "1xA100-80GB",
            "8xH100"]

"""make_model8b.py OUT_DIR: the Llama-3.1-8B shape with no weights, for `--load-format dummy`.

The config is Llama-3.1-8B's (32 layers, hidden 4096, 32 heads, 8 KV heads, 131072 context, llama3
RoPE scaling) with the demo model's 32000-token tokenizer (shipped in mistral_common, so nothing
is downloaded); the vocabulary is 32000 instead of 128256 to match it.
"""

import json
import sys
from pathlib import Path

from entrypoint.devtools.tiny_model import build_tokenizer

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
    "hidden_act": "silu", "rms_norm_eps": 1e-5, "max_position_embeddings": 131072,
    "rope_theta": 500000.0,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    "vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": False,
    "attention_bias": False, "mlp_bias": False, "torch_dtype": "bfloat16",
}

if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(CONFIG, indent=1) + "\n")
    build_tokenizer(out)
    print(f"{out}: {', '.join(sorted(p.name for p in out.iterdir()))}")

"""The numbers sizing needs, read from every place model configs put them (pure).

Families spell the same fact differently (GLM: num_layers / multi_query_group_num / kv_channels /
seq_length; GPT-2 style: n_layer / n_head / n_embd; vision models nest it under text_config), so
each fact has a list of keys, most common first.
"""

from __future__ import annotations

from dataclasses import dataclass

from entrypoint.facts.model_dir import ModelFacts

LAYERS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers")
HEADS = ("num_attention_heads", "n_head", "n_heads", "num_heads")
KV_HEADS = ("num_key_value_heads", "multi_query_group_num", "num_kv_heads", "n_head_kv")
HIDDEN = ("hidden_size", "n_embd", "d_model", "dim")
INTERMEDIATE = ("intermediate_size", "ffn_hidden_size", "n_inner")
VOCAB = ("vocab_size", "padded_vocab_size")
EXPERTS = ("num_local_experts", "n_routed_experts", "num_experts")
EXPERT_INTERMEDIATE = ("moe_intermediate_size",)
# vLLM takes the smallest of these that the config has (config/model.py _get_and_verify_max_len).
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length",
                "model_max_length", "max_sequence_length", "max_seq_length", "seq_len")
# Rope types whose max_position_embeddings already counts the scaling (vLLM does not multiply).
SCALED_ALREADY = ("su", "longrope", "llama3", "default", "mrope")
DTYPE_BYTES = {"float32": 4, "float": 4, "bfloat16": 2, "float16": 2, "half": 2}


@dataclass(frozen=True)
class Shape:
    layers: int | None
    heads: int | None
    kv_heads: int | None
    head_dim: int | None
    hidden: int | None
    vocab: int | None
    kv_latent: int | None  # MLA (DeepSeek V2/V3): one compressed KV vector per layer and token

    @property
    def complete(self) -> bool:
        return bool(self.layers and (self.kv_latent or (self.kv_heads and self.head_dim)))

    def kv_bytes_per_token(self, kv_bytes: float, tp: int = 1) -> float:
        """KV cache one token needs on one GPU when the model is split over `tp` GPUs."""
        if self.kv_latent:
            return self.layers * self.kv_latent * kv_bytes  # MLA's latent is not split by TP
        per_gpu = max(1, self.kv_heads // tp)  # vLLM replicates KV heads when tp > kv heads
        return self.layers * 2 * per_gpu * self.head_dim * kv_bytes


def shape(model: ModelFacts) -> Shape:
    heads = model.positive_int(*HEADS)
    kv_heads = model.positive_int(*KV_HEADS)
    if kv_heads is None and model.get("multi_query") is True:
        kv_heads = 1
    hidden = model.positive_int(*HIDDEN)
    head_dim = model.positive_int("head_dim", "kv_channels")
    if head_dim is None and hidden and heads:
        head_dim = hidden // heads
    latent = model.positive_int("kv_lora_rank")
    if latent:
        latent += model.positive_int("qk_rope_head_dim") or 0
    return Shape(layers=model.positive_int(*LAYERS), heads=heads, kv_heads=kv_heads or heads,
                 head_dim=head_dim, hidden=hidden, vocab=model.positive_int(*VOCAB),
                 kv_latent=latent)


def context_length(model: ModelFacts) -> tuple[int, str] | None:
    """The longest context the model supports, and how that was read."""
    found = [(value, key) for key in CONTEXT_KEYS
             if (value := model.positive_int(key)) is not None and value < 10**8]
    if not found:
        return None
    length, key = min(found)
    scaling = model.get("rope_scaling")
    if isinstance(scaling, dict) and isinstance(scaling.get("factor"), (int, float)):
        kind = scaling.get("rope_type") or scaling.get("type")
        if kind not in SCALED_ALREADY and scaling["factor"] > 1:
            base = scaling.get("original_max_position_embeddings") if kind == "yarn" else None
            base = base if isinstance(base, int) and base > 0 else length
            scaled = int(base * scaling["factor"])
            return scaled, f"{key}={length} with {kind} rope scaling x{scaling['factor']:g}"
    return length, f"{key}={length}"


def tied_embeddings(model: ModelFacts) -> bool:
    return model.get("tie_word_embeddings") is True


def embedding_params(model: ModelFacts) -> int:
    """Input embeddings plus the output head: quantization methods leave both in 16 bits."""
    dims = shape(model)
    if not (dims.vocab and dims.hidden):
        return 0
    return dims.vocab * dims.hidden * (1 if tied_embeddings(model) else 2)


def estimated_params(model: ModelFacts) -> int | None:
    """Parameter count from the config alone (decoder blocks and embeddings; no vision tower)."""
    dims = shape(model)
    intermediate = model.positive_int(*INTERMEDIATE)
    if not (dims.layers and dims.hidden and dims.heads and dims.head_dim and intermediate):
        return None
    attention = dims.hidden * dims.head_dim * (2 * dims.heads + 2 * dims.kv_heads)
    experts = model.positive_int(*EXPERTS)
    if experts:
        expert_size = model.positive_int(*EXPERT_INTERMEDIATE) or intermediate
        shared = model.positive_int("n_shared_experts", "num_shared_experts") or 0
        mlp = 3 * dims.hidden * expert_size * (experts + shared)
    else:
        mlp = 3 * dims.hidden * intermediate  # gate, up and down projections
    return dims.layers * (attention + mlp) + embedding_params(model)


def checkpoint_dtype_bytes(model: ModelFacts) -> int:
    return DTYPE_BYTES.get(model.torch_dtype or "", 2)

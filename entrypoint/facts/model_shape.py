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
VOCAB = ("vocab_size", "padded_vocab_size")
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
    kv_heads: int | None  # the TP rule's count (DeciLM: the first attention block's, as vLLM)
    head_dim: int | None
    hidden: int | None
    vocab: int | None
    kv_latent: int | None  # MLA (DeepSeek V2/V3): one compressed KV vector per layer and token
    # KV heads of each layer that keeps a KV cache; layers without attention are left out
    # (DeciLM block_configs); () when unknown.
    layer_kv_heads: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return bool(self.layers and (self.kv_latent or (self.layer_kv_heads and self.head_dim)))

    @property
    def uniform(self) -> bool:
        return len(self.layer_kv_heads) == self.layers and len(set(self.layer_kv_heads)) == 1

    def kv_bytes_per_token(self, kv_bytes: float, tp: int = 1) -> float:
        """KV cache one token needs on one GPU when the model is split over `tp` GPUs."""
        if self.kv_latent:
            return self.layers * self.kv_latent * kv_bytes  # MLA's latent is not split by TP
        # vLLM replicates KV heads when tp > KV heads: at least one per GPU and layer
        heads = sum(max(1, kv // tp) for kv in self.layer_kv_heads)
        return 2 * heads * self.head_dim * kv_bytes


def block_configs(model: ModelFacts) -> list[dict]:
    """DeciLM / Nemotron-NAS per-layer blocks (attention and FFN of each layer), or []."""
    blocks = model.get("block_configs")
    if not isinstance(blocks, list):
        return []
    return [b if isinstance(b, dict) else {} for b in blocks]


def _part(block: dict, name: str) -> dict:
    part = block.get(name)
    return part if isinstance(part, dict) else {}


def attention_kept(block: dict) -> bool:
    """A DeciLM block attends (and caches K/V) unless its attention is a no-op or a linear."""
    attention = _part(block, "attention")
    return not (attention.get("no_op") or attention.get("replace_with_linear"))


def _decilm_kv_heads(heads: int | None, blocks: list[dict]) -> list[int]:
    found = []
    for block in blocks:
        group = _part(block, "attention").get("n_heads_in_group")
        if attention_kept(block) and heads and isinstance(group, int) and group > 0:
            found.append(max(1, heads // group))
    return found


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
    layers = model.positive_int(*LAYERS)
    blocks = block_configs(model)
    if blocks:
        per_layer = _decilm_kv_heads(heads, blocks)
        kv_heads = per_layer[0] if per_layer else kv_heads
    else:
        per_layer = [kv_heads or heads] * (layers or 0) if (kv_heads or heads) else []
    return Shape(layers=layers, heads=heads, kv_heads=kv_heads or heads, head_dim=head_dim,
                 hidden=hidden, vocab=model.positive_int(*VOCAB), kv_latent=latent,
                 layer_kv_heads=tuple(per_layer))


def _rope_scaling(model: ModelFacts) -> dict | None:
    scaling = model.get("rope_scaling", "rope_parameters")  # transformers 5 renames it
    return scaling if isinstance(scaling, dict) else None


def context_length(model: ModelFacts) -> tuple[int, str] | None:
    """The longest context vLLM derives for the model, and the rule it followed (vLLM's
    _get_and_verify_max_len: the smallest context key, capped by tokenizer_config.json's
    model_max_length, times the rope scaling factor where the rope type does not count it)."""
    found = [(value, key) for key in CONTEXT_KEYS
             if (value := model.positive_int(key)) is not None and value < 10**8]
    if not found:
        return None
    length, key = min(found)
    how = f"{key}={length}"
    tokenizer = model.files.get("tokenizer_config.json", {}).get("model_max_length")
    if isinstance(tokenizer, int) and not isinstance(tokenizer, bool) and 0 < tokenizer < length:
        length, how = tokenizer, f"tokenizer_config.json model_max_length={tokenizer}"
    scaling = _rope_scaling(model)
    if not (scaling and isinstance(scaling.get("factor"), (int, float))):
        return length, how
    kind = scaling.get("rope_type") or scaling.get("type")
    factor = scaling["factor"]
    if kind in SCALED_ALREADY or factor <= 1:
        return length, how
    if "gemma3" in model.model_type:
        return length, (f"{how}; its {kind} rope scaling x{factor:g} is not applied: vLLM counts "
                        f"it in for gemma3")
    base = scaling.get("original_max_position_embeddings") if kind == "yarn" else None
    base = base if isinstance(base, int) and base > 0 else length
    return int(base * factor), f"{how} with {kind} rope scaling x{factor:g}"


def checkpoint_dtype_bytes(model: ModelFacts) -> int:
    return DTYPE_BYTES.get(model.torch_dtype or "", 2)

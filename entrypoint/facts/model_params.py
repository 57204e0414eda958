"""Parameter counts from config.json alone, per kind of model (pure; docs/sizing.md lists the
rules and how close they come to the published checkpoints of tests/model_configs.py).

Counts are split by what quantization does to them: embeddings and the output head stay 16-bit
under every method; attention and dense MLP weights are quantized; MoE experts are quantized
(and are all a MXFP4 checkpoint quantizes); a vision tower is counted 16-bit.
"""

from __future__ import annotations

from dataclasses import dataclass

from entrypoint.facts.model_dir import ModelFacts
from entrypoint.facts.model_shape import Shape, attention_kept, block_configs, shape

INTERMEDIATE = ("intermediate_size", "ffn_hidden_size", "n_inner")
EXPERTS = ("num_local_experts", "n_routed_experts", "num_experts", "moe_num_experts")
EXPERT_INTERMEDIATE = ("moe_intermediate_size",)
# Qwen-1 (QWenLMHeadModel): intermediate_size counts both halves of the gated MLP (vLLM's
# QWenMLP builds two projections of intermediate_size // 2).
HALF_INTERMEDIATE = ("qwen",)
# MLPs without a gate: two projections (up, down) instead of three.
UNGATED = ("gpt2", "gpt_bigcode", "gpt_neox", "gptj", "falcon", "opt", "bloom", "phi", "mpt",
           "starcoder2")


@dataclass(frozen=True)
class Params:
    embeddings: int  # input embeddings + output head
    dense: int  # attention and dense MLP projections
    experts: int  # MoE expert projections (routed and shared experts, routers)
    vision: int  # vision tower, estimated from vision_config
    rule: str  # which per-kind rule counted the decoder

    @property
    def total(self) -> int:
        return self.embeddings + self.dense + self.experts + self.vision


def tied_embeddings(model: ModelFacts) -> bool:
    tied = model.get("tie_word_embeddings")
    if tied is None:  # Gemma's configs leave it out: Gemma ties them
        return model.model_type.startswith("gemma")
    return tied is True


def embedding_params(model: ModelFacts) -> int:
    dims = shape(model)
    if not (dims.vocab and dims.hidden):
        return 0
    return dims.vocab * dims.hidden * (1 if tied_embeddings(model) else 2)


def _attention(model: ModelFacts, dims: Shape) -> int:
    """q, k, v and o projections of one layer; MLA counts its low-rank factors."""
    if dims.kv_latent:
        heads, hidden = dims.heads, dims.hidden
        rope = model.positive_int("qk_rope_head_dim") or 0
        nope = model.positive_int("qk_nope_head_dim") or 0
        v_dim = model.positive_int("v_head_dim") or nope
        q_rank = model.positive_int("q_lora_rank")
        kv_rank = dims.kv_latent - rope
        query = (hidden * q_rank + q_rank * heads * (nope + rope) if q_rank
                 else hidden * heads * (nope + rope))
        return (query + hidden * dims.kv_latent + kv_rank * heads * (nope + v_dim)
                + heads * v_dim * hidden)
    return dims.hidden * dims.head_dim * (2 * dims.heads + 2 * dims.kv_heads)


def _mlp(model: ModelFacts, hidden: int, intermediate: int) -> int:
    if model.model_type in HALF_INTERMEDIATE:
        intermediate //= 2
    return (2 if model.model_type in UNGATED else 3) * hidden * intermediate


def _decilm(model: ModelFacts, dims: Shape) -> tuple[int, str]:
    """DeciLM / Nemotron-NAS: each block's attention and FFN as block_configs gives them."""
    total = 0
    hidden = dims.hidden
    for block in block_configs(model):
        attention, ffn = block.get("attention") or {}, block.get("ffn") or {}
        if attention.get("replace_with_linear"):
            total += hidden * hidden
        elif attention_kept(block):
            group = attention.get("n_heads_in_group") or 1
            total += hidden * dims.head_dim * (2 * dims.heads + 2 * (dims.heads // group))
        if ffn.get("replace_with_linear"):
            total += hidden * hidden
        elif not ffn.get("no_op") and isinstance(ffn.get("ffn_mult"), (int, float)):
            # vLLM's _ffn_mult_to_intermediate_size: 2/3 of mult x hidden, up to 256
            intermediate = -(-int(2 * ffn["ffn_mult"] * hidden / 3) // 256) * 256
            total += 3 * hidden * intermediate
    return total, "per layer from block_configs"


def _moe(model: ModelFacts, dims: Shape, intermediate: int | None,
         experts: int) -> tuple[int, int, str]:
    """(dense, experts) of a MoE decoder: DeepSeek's first dense layers, shared experts."""
    hidden, layers = dims.hidden, dims.layers
    size = model.positive_int(*EXPERT_INTERMEDIATE) or intermediate or 0
    dense_layers = min(layers, model.positive_int("first_k_dense_replace") or 0)
    moe_layers = layers - dense_layers
    shared = (model.positive_int("n_shared_experts", "num_shared_experts") or 0) * size
    shared += model.positive_int("shared_expert_intermediate_size") or 0
    per_layer = 3 * hidden * (size * experts + shared) + hidden * experts  # + router
    dense = layers * _attention(model, dims) + dense_layers * _mlp(model, hidden, intermediate
                                                                   or size)
    return dense, moe_layers * per_layer, f"MoE: {experts} experts in {moe_layers} layers"


def vision_params(model: ModelFacts) -> int:
    """A ViT-style vision tower: 4 h^2 attention + 2 h x MLP width per layer."""
    vision = model.config.get("vision_config")
    if not isinstance(vision, dict):
        return 0

    def first(*keys: str) -> int:
        return next((v for k in keys if isinstance(v := vision.get(k), int) and v > 0), 0)

    hidden = first("embed_dim", "hidden_size", "width")
    layers = first("num_hidden_layers", "depth", "layers") + first("num_global_layers")
    ratio = vision.get("mlp_ratio")
    width = first("intermediate_size") or int(hidden * (ratio if isinstance(ratio, (int, float))
                                                        else 4))
    return layers * (4 * hidden * hidden + 2 * hidden * width)


def estimate(model: ModelFacts) -> Params | None:
    """Parameters from the config alone, or None when it lacks the shape."""
    dims = shape(model)
    if not (dims.layers and dims.hidden and dims.heads and dims.head_dim):
        return None
    intermediate = model.positive_int(*INTERMEDIATE)
    if model.model_type in UNGATED and intermediate is None:
        intermediate = 4 * dims.hidden
    experts = model.positive_int(*EXPERTS)
    dense, expert_params = 0, 0
    if block_configs(model):
        dense, rule = _decilm(model, dims)
    elif experts:
        dense, expert_params, rule = _moe(model, dims, intermediate, experts)
    elif intermediate:
        dense = dims.layers * (_attention(model, dims) + _mlp(model, dims.hidden, intermediate))
        rule = "uniform layers"
    else:
        return None
    return Params(embeddings=embedding_params(model), dense=dense, experts=expert_params,
                  vision=vision_params(model), rule=rule)


def estimated_params(model: ModelFacts) -> int | None:
    found = estimate(model)
    return found.total if found else None

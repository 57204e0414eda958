"""What a GGUF file holds, read from its header with the standard library (read step; fast: the
tensors are not read, only their names and types).

The layout (GGUF versions 2 and 3, little-endian): magic, version, tensor count, key-value count,
the key-values (typed), then per tensor its name, dimensions, type and offset.
`config_from_header` turns the model's keys into the config.json fields the plan's rules read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from entrypoint.errors import UserError
from entrypoint.facts.gguf import MAGIC
from entrypoint.facts.model_dir import ModelFacts

# Key-value types: number -> struct format (8: string, 9: array).
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
           11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
# ggml tensor types by number (gguf's GGMLQuantizationType), for the plan's messages.
TENSOR_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
                9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
                16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
                22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
                29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4"}
# GGUF architecture -> (config.json architectures entry, model_type): the decoders that both
# transformers' GGUF reader (the converter) and vLLM's model registry know.
ARCHITECTURES = {
    "llama": ("LlamaForCausalLM", "llama"), "mistral": ("MistralForCausalLM", "mistral"),
    "qwen2": ("Qwen2ForCausalLM", "qwen2"), "qwen2moe": ("Qwen2MoeForCausalLM", "qwen2_moe"),
    "qwen3": ("Qwen3ForCausalLM", "qwen3"), "qwen3moe": ("Qwen3MoeForCausalLM", "qwen3_moe"),
    "phi3": ("Phi3ForCausalLM", "phi3"), "gemma2": ("Gemma2ForCausalLM", "gemma2"),
    "falcon": ("FalconForCausalLM", "falcon"), "gpt2": ("GPT2LMHeadModel", "gpt2"),
    "starcoder2": ("Starcoder2ForCausalLM", "starcoder2"),
    "stablelm": ("StableLmForCausalLM", "stablelm"),
    "nemotron": ("NemotronForCausalLM", "nemotron"), "bloom": ("BloomForCausalLM", "bloom"),
}
# "{arch}.<key>" -> config.json field
CONFIG_KEYS = {
    "block_count": "num_hidden_layers", "embedding_length": "hidden_size",
    "feed_forward_length": "intermediate_size", "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads", "context_length": "max_position_embeddings",
    "vocab_size": "vocab_size", "expert_count": "num_experts",
    "expert_used_count": "num_experts_per_tok", "attention.key_length": "head_dim",
}


@dataclass(frozen=True)
class GgufHeader:
    path: Path
    fields: dict[str, Any]  # key-values; arrays kept as their length only
    tensor_types: dict[str, int]  # type name -> tensor count
    output_head: bool = True  # an `output.weight` tensor; without one the embeddings are tied
    size: int = 0  # bytes of the file

    @property
    def architecture(self) -> str:
        return str(self.fields.get("general.architecture", "unknown"))


def _read(file: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = file.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack(fmt, data)[0]


def _string(file: BinaryIO) -> str:
    length = _read(file, "<Q")
    data = file.read(length)
    if len(data) != length:
        raise EOFError
    return data.decode("utf-8", "replace")


def _value(file: BinaryIO, kind: int) -> Any:
    if kind == STRING:
        return _string(file)
    if kind == ARRAY:
        item, count = _read(file, "<I"), _read(file, "<Q")
        if item in SCALARS:  # skipped in one seek: only the length is kept
            file.seek(struct.calcsize(SCALARS[item]) * count, 1)
        else:
            for _ in range(count):
                _value(file, item)
        return count
    if kind not in SCALARS:
        raise ValueError(f"unknown value type {kind}")
    return _read(file, SCALARS[kind])


def read_header(path: Path) -> GgufHeader:
    try:
        with path.open("rb") as file:
            if file.read(4) != MAGIC or _read(file, "<I") not in (2, 3):
                raise ValueError("not GGUF version 2 or 3")
            tensors, keys = _read(file, "<Q"), _read(file, "<Q")
            fields = {}
            for _ in range(keys):
                key = _string(file)
                fields[key] = _value(file, _read(file, "<I"))
            types: dict[str, int] = {}
            head = False
            for _ in range(tensors):
                head |= _string(file) == "output.weight"
                file.seek(8 * _read(file, "<I"), 1)  # dimensions
                name = TENSOR_TYPES.get(_read(file, "<I"), "unknown")
                types[name] = types.get(name, 0) + 1
                file.seek(8, 1)  # offset
    except OSError as error:
        raise UserError(f"MODEL={path} cannot be read ({error.strerror}); check its"
                        " permissions.") from None
    except (EOFError, ValueError, UnicodeDecodeError) as error:
        raise UserError(f"MODEL={path} is not a readable GGUF file ({error or 'cut short'});"
                        " copy it again, or point MODEL at a Hugging Face model folder.") from None
    return GgufHeader(path, fields, types, head, path.stat().st_size)


def config_from_header(header: GgufHeader) -> dict[str, Any] | None:
    """config.json's fields for the rules, or None for an architecture not in ARCHITECTURES."""
    arch = header.architecture
    if arch not in ARCHITECTURES:
        return None
    architecture, model_type = ARCHITECTURES[arch]
    config: dict[str, Any] = {"architectures": [architecture], "model_type": model_type,
                              "dtype": "float32",  # what the converter writes
                              "tie_word_embeddings": not header.output_head}
    for key, field in CONFIG_KEYS.items():
        value = header.fields.get(f"{arch}.{key}")
        if isinstance(value, int) and not isinstance(value, bool):
            config[field] = value
    if "vocab_size" not in config and isinstance(header.fields.get("tokenizer.ggml.tokens"), int):
        config["vocab_size"] = header.fields["tokenizer.ggml.tokens"]
    if "head_dim" not in config and config.get("num_attention_heads"):
        config["head_dim"] = config.get("hidden_size", 0) // config["num_attention_heads"]
    return config


def model_facts(header: GgufHeader) -> ModelFacts:
    """The facts the rules read, from the header (an unknown architecture: its name only, for
    rules/gguf.py's sentence)."""
    config = config_from_header(header) or {"model_type": header.architecture}
    template = header.fields.get("tokenizer.chat_template")  # the converter saves it beside
    texts = {"chat_template.jinja": template} if isinstance(template, str) else {}
    return ModelFacts(path=header.path, config=config, files={}, checkpoint_bytes=None,
                      texts=texts)

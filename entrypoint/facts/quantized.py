"""How a checkpoint declares its quantization, read the way vLLM reads it (pure, no decisions).

vLLM (transformers_utils/config.py get_config, config/model.py _verify_quantization) takes, in
this order: `quantization_config` in config.json; else `hf_quant_config.json` beside it (ModelOpt
before 0.31 writes it there); else `compression_config` (compressed-tensors); else the
`quantization_config` of a vision model's `text_config`. ModelOpt configs name no `quant_method`:
vLLM derives `modelopt` (FP8 algorithms) or `modelopt_fp4` (NVFP4) from `producer.name` and
`quantization.quant_algo`. Method names are lower-cased and `compressed_tensors` is spelled
`compressed-tensors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HF_QUANT_CONFIG = "hf_quant_config.json"
# quant_algo -> the method vLLM loads it as (quantization/modelopt.py QUANT_ALGOS).
MODELOPT_ALGOS = {"FP8": "modelopt", "FP8_PER_CHANNEL_PER_TOKEN": "modelopt",
                  "FP8_PB_WO": "modelopt", "NVFP4": "modelopt_fp4", "W4A16_NVFP4": "modelopt_fp4",
                  "MXFP8": "modelopt_mxfp8", "MIXED_PRECISION": "modelopt_mixed"}
# Bits per quantized weight, scales included (block sizes: NVFP4 16 with FP8 scales, MXFP4/MXFP8
# 32 with 8-bit scales; FP8 per tensor or per 128x128 block, whose scales are negligible).
ALGO_BITS = {"FP8": 8.0, "FP8_PER_CHANNEL_PER_TOKEN": 8.0, "FP8_PB_WO": 8.0, "NVFP4": 4.5,
             "W4A16_NVFP4": 4.5, "MXFP8": 8.25}
METHOD_BITS = {"fp8": 8.0, "fbgemm_fp8": 8.0, "modelopt": 8.0, "modelopt_fp4": 4.5,
               "modelopt_mxfp8": 8.25, "mxfp4": 4.25, "experts_int8": 8.0}


@dataclass(frozen=True)
class Declared:
    """The checkpoint's quantization: vLLM's method name, where it was read, its raw config."""

    method: str
    source: str  # "config.json", "hf_quant_config.json", "config.json text_config", ...
    config: dict[str, Any]

    @property
    def algo(self) -> str | None:
        inner = self.config.get("quantization")
        algo = inner.get("quant_algo") if isinstance(inner, dict) else self.config.get("quant_algo")
        return str(algo).upper() if algo else None

    @property
    def bits(self) -> float:
        """Bits per quantized weight (scales and zero points included), for estimates without
        weight files."""
        if self.algo in ALGO_BITS:
            return ALGO_BITS[self.algo]
        if self.method == "bitsandbytes":
            return 8.0 if self.config.get("load_in_8bit") else 4.5
        if self.method == "compressed-tensors":
            return _compressed_tensors_bits(self.config)
        bits = _number(self.config.get("bits") or self.config.get("w_bit"))
        if bits:
            group = _number(self.config.get("group_size") or self.config.get("q_group_size"))
            # one 16-bit scale and one zero point per group (GPTQ, AWQ); group -1: per channel
            return bits + ((16 + bits) / group if group and group > 0 else 0)
        return METHOD_BITS.get(self.method, 4.0)

    @property
    def experts_only(self) -> bool:
        """MXFP4 checkpoints (gpt-oss) quantize the MoE experts only; attention stays 16-bit."""
        return self.method == "mxfp4"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value > 0 else None


def _compressed_tensors_bits(config: dict[str, Any]) -> float:
    groups = config.get("config_groups")
    if isinstance(groups, dict):
        for group in groups.values():
            weights = group.get("weights") if isinstance(group, dict) else None
            if isinstance(weights, dict) and (bits := _number(weights.get("num_bits"))):
                size = _number(weights.get("group_size"))
                return bits + (16 / size if size else 0)
    return 8.0


def method_name(config: dict[str, Any]) -> str:
    """vLLM's name for the method a quantization config declares ('' when it names none)."""
    producer = config.get("producer")
    inner = config.get("quantization")
    legacy = isinstance(inner, dict) and "modelopt_quant_config" in inner
    if (isinstance(producer, dict) and producer.get("name") == "modelopt") or legacy:
        algo = inner.get("quant_algo") if isinstance(inner, dict) else None
        if algo is not None:
            return MODELOPT_ALGOS.get(str(algo).upper(), "modelopt")
    method = config.get("quant_method")
    method = method.lower() if isinstance(method, str) else ""
    algo = config.get("quant_algo")
    if method.startswith("modelopt") and algo is not None:  # ModelOpt 0.31+: in config.json
        return MODELOPT_ALGOS.get(str(algo).upper(), method)
    return method.replace("compressed_tensors", "compressed-tensors")


def declared(config: dict[str, Any], files: dict[str, dict[str, Any]]) -> Declared | None:
    """The quantization vLLM will load the checkpoint with, from config.json and the files read
    beside it; None for an unquantized checkpoint."""
    places = [("config.json", config.get("quantization_config")),
              (HF_QUANT_CONFIG, files.get(HF_QUANT_CONFIG)),
              ("config.json compression_config", config.get("compression_config"))]
    text = config.get("text_config")
    if isinstance(text, dict):
        places.append(("config.json text_config", text.get("quantization_config")))
    for source, found in places:
        if isinstance(found, dict) and found:
            return Declared(method=method_name(found) or "unknown", source=source, config=found)
    return None

"""convert_gguf.py GGUF_FILE OUT_DIR [DTYPE]: a GGUF checkpoint as a Hugging Face folder.

transformers reads GGUF through the `gguf` package; only with GgufConfig(dequantize=True) are the
weights unpacked so that save_pretrained can write them (reference/real-model.md). DTYPE is the
saved dtype (default float32: the reference answers are float32's). Prints the seconds it took.
"""

import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig


def convert(gguf: Path, out: Path, dtype: str = "float32") -> float:
    start = time.perf_counter()
    folder, name = str(gguf.parent), gguf.name
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=getattr(torch, dtype),
        quantization_config=GgufConfig(dequantize=True))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)
    return time.perf_counter() - start


if __name__ == "__main__":
    seconds = convert(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
    print(f"converted {sys.argv[1]} into {sys.argv[2]} in {seconds:.1f} s")

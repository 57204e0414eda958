"""docs/sizing.md's table: config-only estimates of tests/model_configs.py's published shapes next
to what their authors publish. `python -m tests.facts.estimates_table --write` (part of
`make docs`) refreshes it; tests/facts/test_model_estimates.py fails when it is stale.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from entrypoint.facts.model_dir import read_model_dir
from entrypoint.facts.model_params import estimate
from entrypoint.facts.model_shape import context_length, shape
from entrypoint.rules import memory
from tests.conftest import write_model_dir
from tests.model_configs import FILES, MODELS, PUBLISHED_CHECKPOINT_GIB, PUBLISHED_PARAMS

SIZING_DOC = Path(__file__).resolve().parents[2] / "docs" / "sizing.md"
BEGIN, END = "<!-- estimates:begin -->", "<!-- estimates:end -->"


def rows(root: Path) -> list[dict]:
    """One row per published model: the estimate, the published figure, how far apart."""
    found = []
    for name, published in PUBLISHED_PARAMS.items():
        model = read_model_dir(write_model_dir(root / name, MODELS[name], **FILES.get(name, {})))
        params = estimate(model)
        weights = memory.estimate(model, None, "bfloat16")
        length, how = context_length(model)
        found.append({
            "name": name, "rule": params.rule, "params": params.total / 1e9,
            "published": published, "off": params.total / 1e9 / published - 1,
            "weights_gib": weights.weights_bytes / memory.GIB,
            "checkpoint_gib": PUBLISHED_CHECKPOINT_GIB.get(name),
            "quantization": model.quantization.method if model.quantization else "-",
            "kv_kib": shape(model).kv_bytes_per_token(2) / 1024,
            "context": f"{length} ({how})"})
    return found


def table() -> str:
    with tempfile.TemporaryDirectory() as folder:
        found = rows(Path(folder))
    lines = ["| Model | counted as | estimate | published | off | weights (quantization) | "
             "KV per token (16-bit, TP 1) | context vLLM derives |",
             "|---|---|---|---|---|---|---|---|"]
    for row in found:
        weights = f"{row['weights_gib']:.1f} GiB ({row['quantization']})"
        if row["checkpoint_gib"]:
            off = row["weights_gib"] / row["checkpoint_gib"] - 1
            weights += f"; published {row['checkpoint_gib']} GiB, {off:+.1%}"
        lines.append(f"| {row['name']} | {row['rule']} | {row['params']:.2f}B | "
                     f"{row['published']:g}B | {row['off']:+.1%} | {weights} | "
                     f"{row['kv_kib']:.0f} KiB | {row['context']} |")
    return "\n".join(lines)


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    current = SIZING_DOC.read_text()
    fresh = render(current)
    if "--write" in sys.argv:
        SIZING_DOC.write_text(fresh)
    elif fresh != current:
        sys.exit("docs/sizing.md's estimates table is stale: run `make docs`.")

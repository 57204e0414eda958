#!/usr/bin/env python3
"""A vLLM release's flag and architecture tables before it can be pinned (its pins do not
resolve yet), read from its own code inside the GPU image built for the current pin:

    scripts/preview_vllm.py VERSION [IMAGE]      (root; IMAGE default localhost/llm-serve:cuda)

The release's wheel is installed without dependencies into .cache/vllm-VERSION-site and put
first on the image's Python path, so its `vllm serve` parser is built on the image's torch and
libraries and read by this checkout's table reader; its model registry is read as source text
(entrypoint/devtools/architecture_table.py). Both tables go to .cache/ (they ship only after a
real bump), then the flag drift against the current pin's table is printed. A parser that
needs a dependency the image lacks fails here, with that import named.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import image_run  # beside this script: Python puts the script's folder first on sys.path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / ".cache"
DATA = ROOT / "entrypoint" / "catalogs" / "data"
REGISTRY = "vllm/model_executor/models/registry.py"


def wheel_site(version: str) -> Path:
    site = CACHE / f"vllm-{version}-site"
    if not (site / f"vllm-{version}.dist-info").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--only-binary=:all:", "--target", str(site), f"vllm=={version}"],
                       check=True)
    return site


def flag_table_inside(image: str, site: Path) -> tuple[int, str]:
    with tempfile.TemporaryFile("w+") as out:
        # The checkout's table reader over the image's copy: the preview reads what this
        # checkout would ship.
        volumes = [f"{site}:/opt/preview:ro", f"{ROOT / 'entrypoint'}:/opt/llm-serve/entrypoint:ro"]
        container = image_run.start(image, ["-m", "entrypoint.settings.vllm_options"],
                                    ["PYTHONPATH=/opt/preview"], volumes, stdout=out,
                                    entrypoint=["python"])
        try:
            code = container.process.wait(timeout=600)
        finally:
            container.remove()
        out.seek(0)
        return code, out.read()


def main() -> int:
    version = sys.argv[1]
    image = sys.argv[2] if len(sys.argv) > 2 else "localhost/llm-serve:cuda"
    pinned = next(line.split("==")[1].strip() for line in
                  (ROOT / "image" / "constraints.txt").read_text().splitlines()
                  if line.startswith("vllm=="))
    site = wheel_site(version)
    code, text = flag_table_inside(image, site)
    start = text.find('{\n "version"')
    if code != 0 or start < 0:
        sys.exit(f"preview_vllm: vLLM {version}'s parser could not be read inside {image} "
                 f"(exit {code}):\n{text[-3000:]}")
    table = json.loads(text[start:])
    if table["version"] != version:
        sys.exit(f"preview_vllm: the image's Python read vLLM {table['version']}, not {version}")
    flags = CACHE / f"vllm-options-{version}.preview.json"
    flags.write_text(json.dumps(table, indent=1) + "\n")
    architectures = CACHE / f"vllm-architectures-{version}.preview.json"
    with architectures.open("w") as out:
        subprocess.run([sys.executable, "-m", "entrypoint.devtools.architecture_table",
                        "--registry", str(site / REGISTRY), "--version", version, "--source",
                        f"the vllm-{version} wheel (preview: its pins did not resolve)"],
                       stdout=out, check=True, cwd=ROOT)
    print(f"preview tables: {flags.relative_to(ROOT)}, {architectures.relative_to(ROOT)}\n")
    sys.stdout.flush()
    return subprocess.run([sys.executable, str(HERE / "options_drift.py"),
                           str(DATA / f"vllm-options-{pinned}.json"), str(flags)]).returncode


if __name__ == "__main__":
    sys.exit(main())

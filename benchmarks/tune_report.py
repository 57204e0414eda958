"""`run tune`'s answer in one sentence, its report (markdown tables) and its plot (an SVG written
here: the serving image has no matplotlib). Pure: data in, text out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from .report import table
from .tune_search import Candidate, Measurement, Outcome, meets, misses, winner

LABELS = {"p90_ttft_ms": "p90 TTFT", "p90_tpot_ms": "p90 TPOT", "p99_ttft_ms": "p99 TTFT",
          "p99_tpot_ms": "p99 TPOT", "p90_itl_ms": "p90 ITL", "p90_e2el_ms": "p90 latency"}


def targets_text(targets: Mapping[str, float]) -> str:
    return " and ".join(f"{LABELS.get(k, k)} {v:g} ms" for k, v in targets.items())


def settings_text(settings: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "run's defaults"


def users(count: int) -> str:
    return "1 user" if count == 1 else f"{count:,} users"


def answer(outcomes: Sequence[Outcome], candidates: Sequence[Candidate],
           targets: Mapping[str, float], cap: int) -> str:
    """The result in plain words, first line of the report."""
    best, defaults = winner(outcomes), outcomes[0]
    within = targets_text(targets)
    if best is None or best.holds == 0:
        return (f"Not even {users(1)} at a time stays within {within} with any setting tried; "
                "relax the targets, shorten the workload or add GPUs.")
    more = " (the most tried)" if best.holds >= cap else ""
    settings = next(c.settings for c in candidates if c.name == best.candidate)
    held = (f"Holds {users(best.holds)} at once{more} within {within}: "
            f"{best.throughput:,.0f} output tokens/s")
    if best.candidate == defaults.candidate:
        return f"{held} with run's defaults; no setting tried did better."
    return (f"{held} with {settings_text(settings)}; run's defaults hold "
            f"{users(defaults.holds)} ({defaults.throughput:,.0f} output tokens/s).")


def probe_table(measured: Sequence[Measurement], targets: Mapping[str, float]) -> str:
    rows = []
    for m in measured:
        f = m.figures
        verdict = "within" if meets(f, targets) else "missed: " + "; ".join(misses(f, targets))
        rows.append([m.candidate, str(m.concurrency), f"{f.get('p90_ttft_ms', 0):,.1f}",
                     f"{f.get('p90_tpot_ms', 0):,.1f}", f"{f.get('output_throughput', 0):,.1f}",
                     f"{f.get('completed', 0):g}/{f.get('num_prompts', 0):g}", verdict])
    return table(["candidate", "users", "p90 TTFT ms", "p90 TPOT ms", "output tok/s", "requests",
                  "verdict"], rows)


def candidate_table(outcomes: Sequence[Outcome], candidates: Sequence[Candidate],
                    measured: Sequence[Measurement]) -> str:
    rows = []
    by_name = {c.name: c for c in candidates}
    for result in outcomes:
        candidate = by_name[result.candidate]
        count = sum(m.candidate == result.candidate for m in measured)
        held = str(result.holds) + (" (dropped: fewer than the best)" if result.pruned else "")
        if count == 0:
            held = "not measured (the budget ran out)"
        rows.append([result.candidate, settings_text(candidate.settings),
                     candidate.why or "the baseline", held, f"{result.throughput:,.0f}",
                     str(count)])
    return table(["candidate", "settings", "why tried", "users held", "output tok/s there",
                  "probes"], rows)


def markdown(run: Mapping, outcomes: Sequence[Outcome], candidates: Sequence[Candidate],
             measured: Sequence[Measurement], plot: str | None) -> str:
    targets = run["targets"]
    lines = [f"# run tune: {run['model']}", "", f"**{run['answer']}**", "",
             f"- targets: {targets_text(targets)} (every request must also complete)",
             f"- workload: {run['workload']}", f"- hardware: {run['hardware']}",
             f"- engine: {run['vllm']}", f"- server flags for every candidate: "
             f"`{' '.join(run['server_args']) or '(none)'}`",
             f"- search: {len(measured)} probes of `vllm bench serve` (each at a fixed number of "
             f"users, `--max-concurrency N --request-rate inf`, {run['prompts']}), "
             f"{len(candidates)} server starts, {run['elapsed_s']:.0f} s"
             + (f"; stopped early: {run['stopped']}" if run.get("stopped") else ""),
             f"- profile: `{run['profile']}`",
             "- each candidate's limit passed two probes (a failure there lowers it); every "
             "other probe ran once: where the machine is shared with other work, repeat the tune "
             "before trusting a difference of a few users", "",
             "## Candidates", "", candidate_table(outcomes, candidates, measured), "",
             "## Every probe, in order", "", probe_table(measured, targets), ""]
    if plot:
        lines += ["## Latency against throughput", "", f"![latency against throughput]({plot})",
                  "", "Each point is one probe, labelled with its number of users; the dashed "
                  "line is the target.", ""]
    return "\n".join(lines)


# --- the plot: two panels (TTFT, TPOT) of latency against output tokens/s ---------------------

WIDTH, HEIGHT, PAD = 360, 260, 48
COLOURS = ("#6b7280", "#7c3aed")


def panel(series: Sequence[tuple[str, list[tuple[float, float, int]]]], metric: str,
          limit: float | None, left: int) -> list[str]:
    points = [p for _, pts in series for p in pts]
    x_max = max((x for x, _, _ in points), default=1) * 1.1 or 1
    y_max = max([y for _, y, _ in points] + [limit or 0]) * 1.15 or 1

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + PAD + x / x_max * (WIDTH - PAD - 10),
                HEIGHT - PAD + 10 - y / y_max * (HEIGHT - PAD - 10))

    out = [f'<text x="{left + WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">'
           f'{LABELS.get(metric, metric)} (ms)</text>',
           f'<line x1="{left + PAD}" y1="{HEIGHT - PAD + 10}" x2="{left + WIDTH - 10}" '
           f'y2="{HEIGHT - PAD + 10}" stroke="black"/>',
           f'<line x1="{left + PAD}" y1="20" x2="{left + PAD}" y2="{HEIGHT - PAD + 10}" '
           'stroke="black"/>',
           f'<text x="{left + WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
           'output tokens/s</text>']
    for fraction in (0.5, 1.0):
        x, y = at(x_max / 1.1 * fraction, y_max / 1.15 * fraction)
        out += [f'<text x="{x}" y="{HEIGHT - PAD + 24}" text-anchor="middle">'
                f'{x_max / 1.1 * fraction:,.0f}</text>',
                f'<text x="{left + PAD - 4}" y="{y + 4}" text-anchor="end">'
                f'{y_max / 1.15 * fraction:,.0f}</text>']
    if limit:
        _, y = at(0, limit)
        out.append(f'<line x1="{left + PAD}" y1="{y}" x2="{left + WIDTH - 10}" y2="{y}" '
                   'stroke="#dc2626" stroke-dasharray="5,4"/>')
    for (_, pts), colour in zip(series, COLOURS, strict=False):
        xy = [at(x, y) for x, y, _ in pts]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>')
        for (x, y), (_, _, count) in zip(xy, pts, strict=True):
            out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>',
                    f'<text x="{x + 4:.1f}" y="{y - 4:.1f}" fill="{colour}">{count}</text>']
    return out


def svg(curves: Mapping[str, Sequence[Measurement]], targets: Mapping[str, float]) -> str:
    """Defaults against the winner (or whatever CURVES holds, at most two), one panel each for
    time to first token and time per output token."""
    series = list(curves.items())[:2]
    body = []
    for index, metric in enumerate(("p90_ttft_ms", "p90_tpot_ms")):
        data = [(name, [(m.figures.get("output_throughput", 0.0), m.figures.get(metric, 0.0),
                         m.concurrency) for m in sorted(ms, key=lambda m: m.concurrency)])
                for name, ms in series]
        body += panel(data, metric, targets.get(metric), index * WIDTH)
    legend = [f'<text x="{PAD + 10}" y="{36 + 14 * i}" fill="{colour}">{escape(name)}</text>'
              for i, ((name, _), colour) in enumerate(zip(series, COLOURS, strict=False))]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" height="{HEIGHT}" '
            f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" '
            f'fill="white"/>' + "".join(body + legend) + "</svg>\n")

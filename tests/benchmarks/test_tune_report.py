"""`run tune`'s answer, report and plot from plain data; its bad input, refused before any
server starts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from benchmarks import tune, tune_report, tune_workload
from benchmarks.tune_search import Candidate, Measurement, Outcome

TARGETS = {"p90_ttft_ms": 500.0, "p90_tpot_ms": 50.0}
CANDIDATES = [Candidate("run-defaults", {}), Candidate("seqs-48", {"max_num_seqs": 48}, "why")]


def result(name, holds, tokens):
    return Outcome(name, holds, holds + 4, {"output_throughput": tokens})


def test_the_answer_names_users_targets_throughput_and_the_defaults():
    text = tune_report.answer([result("run-defaults", 32, 2100.0), result("seqs-48", 48, 2900.4)],
                              CANDIDATES, TARGETS, 256)
    assert text == ("Holds 48 users at once within p90 TTFT 500 ms and p90 TPOT 50 ms: 2,900 "
                    "output tokens/s with max_num_seqs=48; run's defaults hold 32 users "
                    "(2,100 output tokens/s).")


def test_the_answer_when_the_defaults_win_or_nothing_holds():
    won = tune_report.answer([result("run-defaults", 32, 2100.0), result("seqs-48", 16, 900.0)],
                             CANDIDATES, TARGETS, 256)
    assert won.endswith("with run's defaults; no setting tried did better.")
    none = tune_report.answer([Outcome("run-defaults", 0, 2)], CANDIDATES[:1], TARGETS, 256)
    assert none.startswith("Not even 1 user at a time stays within")


def test_report_and_plot():
    measured = [Measurement("run-defaults", c, {"p90_ttft_ms": 10.0 * c, "p90_tpot_ms": c,
                                                "output_throughput": 50.0 * c, "completed": 4,
                                                "num_prompts": 4}) for c in (8, 16, 32, 64)]
    outcomes = [Outcome("run-defaults", 32, 64, measured[2].figures)]
    run = {"model": "/m", "answer": "Holds 32 users", "targets": TARGETS, "workload": "random",
           "hardware": "1x H100", "vllm": "vllm 0.26.0", "server_args": [], "prompts": "4 per",
           "elapsed_s": 12.0, "stopped": "", "profile": "/c/run-profile.json"}
    page = tune_report.markdown(run, outcomes, CANDIDATES[:1], measured, "curve.svg")
    assert page.splitlines()[2] == "**Holds 32 users**"
    assert "missed: p90_ttft_ms 640.0 > 500; p90_tpot_ms 64.0 > 50" in page
    assert "![latency against throughput](curve.svg)" in page
    picture = tune_report.svg({"run's defaults": measured}, TARGETS)
    tree = ElementTree.fromstring(picture)  # well-formed
    lines = tree.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2 and len(lines[0].get("points").split()) == 4  # one line per panel
    assert picture.count("stroke-dasharray") == 2  # each panel's target


@pytest.mark.parametrize(("argv", "says"), [
    ([], "no latency target given"),
    (["--p90-ttft-ms", "-1"], "positive"),
    (["--target", "p99_itl_ms"], "is not METRIC=MS"),
    (["--p90-ttft-ms", "500", "--dataset", "nope"], "--dataset nope is not in the"),
    (["--p90-ttft-ms", "500", "--suite", "nope"], "--suite nope is not one of"),
])
def test_bad_input_is_one_sentence_and_exit_2(tmp_path, capsys, argv, says):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert tune.main([str(model), "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("run tune: ") and says in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_user_prompts_with_lengths_become_vllm_custom_rows(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "Hello there", "output_tokens": 12}\n\n'
                    '{"input_tokens": 30, "output_tokens": 5}\n')
    rows = tune_workload.user_rows(path)
    assert rows[0] == {"prompt": "Hello there", "output_tokens": 12}
    assert len(rows[1]["prompt"].split()) == 30 and rows[1]["output_tokens"] == 5
    json.dumps(rows)


@pytest.mark.parametrize("line", ['{"prompt": "x"}', '{"output_tokens": 3}', "[1]", "nope",
                                  '{"prompt": "", "output_tokens": 3}'])
def test_a_bad_prompt_line_is_named(tmp_path, line):
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "ok", "output_tokens": 1}\n' + line + "\n")
    with pytest.raises(tune_workload.BadInput, match="line 2 is not a request"):
        tune_workload.user_rows(path)


def test_run_tune_is_a_subcommand_of_run(tmp_path, capsys):
    from entrypoint import cli

    assert cli.main(["tune", str(tmp_path / "missing"), "--p90-ttft-ms", "500"]) == 2
    assert "has no config.json" in capsys.readouterr().err

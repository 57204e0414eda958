"""`python -m benchmarks.lookahead --compare`: greedy outputs of each configuration against the
baseline's run of the same dataset, concurrency and round, from bench's raw files."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.lookahead import compare


def raw(out: Path, name: str, texts: list[str] | None) -> None:
    (out / "raw").mkdir(parents=True, exist_ok=True)
    body = {"completed": 2} if texts is None else {"generated_texts": texts}
    (out / "raw" / name).write_text(json.dumps(body))


def test_each_run_is_compared_with_the_baselines_run_of_the_same_point(tmp_path):
    raw(tmp_path, "run-defaults__rag__c1__r0.json", ["a", "b"])
    raw(tmp_path, "run-defaults__rag__c8__r0.json", ["c", "d"])
    raw(tmp_path, "lookahead__rag__c1__r0.json", ["a", "b"])
    raw(tmp_path, "lookahead__rag__c8__r0.json", ["c", "x"])
    raw(tmp_path, "lookahead__rag__c8__r1.json", ["c", "d"])  # no baseline run of round 2
    raw(tmp_path, "lookahead-8__rag__c1__r0.json", None)  # written without --save-detailed
    assert compare(tmp_path) == [
        "lookahead rag c=1 round 1: 2/2 greedy outputs identical to run-defaults's",
        "lookahead rag c=8 round 1: 1/2 greedy outputs identical to run-defaults's",
        "lookahead against run-defaults: 3/4 identical",
    ]


def test_the_pairs_are_the_suites_comparisons_when_results_json_has_them(tmp_path):
    raw(tmp_path, "off-float32__rag__c1__r0.json", ["a", "b"])
    raw(tmp_path, "on-float32__rag__c1__r0.json", ["a", "b"])
    raw(tmp_path, "off-bfloat16__rag__c1__r0.json", ["a", "x"])
    raw(tmp_path, "on-bfloat16__rag__c1__r0.json", ["y", "x"])
    comparisons = [{"baseline": f"off-{d}", "candidate": f"on-{d}"}
                   for d in ("float32", "bfloat16")]
    (tmp_path / "results.json").write_text(json.dumps({"comparisons": comparisons}))
    assert compare(tmp_path) == [
        "on-float32 rag c=1 round 1: 2/2 greedy outputs identical to off-float32's",
        "on-float32 against off-float32: 2/2 identical",
        "on-bfloat16 rag c=1 round 1: 1/2 greedy outputs identical to off-bfloat16's",
        "on-bfloat16 against off-bfloat16: 1/2 identical",
    ]

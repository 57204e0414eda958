"""One test per legacy flag of the table, on vLLM 0.33's options, plus the value translations."""

from __future__ import annotations

import json
import shlex

import pytest

from entrypoint import cli
from entrypoint.catalogs import legacy_flag_table
from entrypoint.errors import UserError
from entrypoint.facts.hardware import NO_GPU
from entrypoint.settings import vllm_options
from tests.launch.test_compat_launch import OPTIONS_033, accepted_by_033, assert_valid_033, value_of

SAMPLE_VALUE = {"one": ["2"], "many": ["a", "b"], "bool": [], "none": []}
# Sample values where "2" would not make sense for the old flag.
SAMPLE_FOR = {
    "--speculative-model": ["[ngram]"],
    "--guided-decoding-backend": ["xgrammar"],
    "--rope-scaling": ['{"type": "yarn", "factor": 4.0}'],
    "--limit-mm-per-prompt": ["image=2,video=1"],
    "--collect-detailed-traces": ["model,worker"],
    "--tokenizer-mode": ["slow"],
    "--override-pooler-config": ['{"pooling_type": "MEAN"}'],
    "--cuda-graph-sizes": ["1", "2", "4"],
    "--model": None,  # given as the model itself below
    "--device": ["cuda"],
    "--task": ["embed"],
}


@pytest.fixture(autouse=True)
def on_033(monkeypatch):
    monkeypatch.setattr(vllm_options, "load", lambda: OPTIONS_033)


def plan(model_dir, argv, env=None):
    made, _ = cli.make_plan([*argv], env or {}, inventory=NO_GPU) if "--model" in argv else \
        cli.make_plan([str(model_dir), *argv], env or {}, inventory=NO_GPU)
    return made


def argv_for(row: dict, model_dir) -> list[str]:
    flag = row["flag"]
    if flag == "--model":
        return ["--model", str(model_dir)]
    values = SAMPLE_FOR.get(flag, SAMPLE_VALUE[row["takes"]])
    return [flag, *values]


ROWS = list(legacy_flag_table.rows().values())


@pytest.mark.parametrize("row", ROWS, ids=[row["flag"] for row in ROWS])
def test_each_legacy_flag(row, llama_dir):
    argv = argv_for(row, llama_dir)
    if row["action"] == "error":
        with pytest.raises(UserError) as refused:
            plan(llama_dir, argv)
        message = str(refused.value)
        assert row["flag"] in message and row["hint"] in message
        return
    made = plan(llama_dir, argv)
    assert_valid_033(made.argv, llama_dir)
    after_model = made.argv[made.argv.index(str(llama_dir)) + 1:]
    if row["action"] == "drop":
        assert row["flag"] not in after_model
        assert any(row["flag"] in w and "dropped" in w for w in made.warnings)
    elif row.get("how") == "flag":
        assert row["to"][0] in after_model
    elif row.get("how") == "json":
        assert row["key"] in json.loads(value_of(made.argv, row["to"]))
    elif row.get("how") == "knob":
        assert made.settings[row["to"]].source == "cli"
    assert all(flag in accepted_by_033() for flag in after_model if flag.startswith("--"))


def test_legacy_flag_does_not_swallow_the_model(tmp_path, llama_dir):
    """`--use-v2-block-manager` took no value: the token after it is still the model."""
    made, _ = cli.make_plan(["--use-v2-block-manager", str(llama_dir)], {}, inventory=NO_GPU)
    assert made.settings["model"].value == str(llama_dir)


def test_api_keys_several_keys_never_in_plan(llama_dir):
    made = plan(llama_dir, ["--api-keys", "key-one", "key-two"])
    assert made.settings["api_keys"].value == "key-one,key-two"
    shown = json.dumps(made.to_json()) + made.render_text()
    assert "key-one" not in shown and "key-two" not in shown


def test_speculative_model_ngram_with_lookup_sizes(llama_dir):
    made = plan(llama_dir, ["--speculative-model", "[ngram]", "--num-speculative-tokens", "3",
                            "--ngram-prompt-lookup-max", "5", "--ngram-prompt-lookup-min", "1"])
    assert json.loads(value_of(made.argv, "--speculative-config")) == {
        "method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 5,
        "prompt_lookup_min": 1}


def test_speculative_draft_model(llama_dir):
    made = plan(llama_dir, ["--speculative-model", "/draft", "--num-speculative-tokens", "3"])
    assert json.loads(value_of(made.argv, "--speculative-config")) == {
        "model": "/draft", "num_speculative_tokens": 3}


def test_lookahead_and_explicit_speculative_config_conflict(llama_dir):
    with pytest.raises(UserError, match="keep only one"):
        plan(llama_dir, ["--use-lookahead", "--speculative-config", '{"method": "ngram"}'])


def test_lookup_min_above_max(llama_dir):
    with pytest.raises(UserError, match="PROMPT_LOOKUP_MIN=3 is above PROMPT_LOOKUP_MAX=2"):
        plan(llama_dir, ["--use-lookahead"], env={"PROMPT_LOOKUP_MAX": "2",
                                                  "PROMPT_LOOKUP_MIN": "3"})


def test_worker_use_ray(llama_dir):
    made = plan(llama_dir, ["--worker-use-ray"])
    assert value_of(made.argv, "--distributed-executor-backend") == "ray"


def test_guided_backend_and_whitespace_merge_into_one_config(llama_dir):
    made = plan(llama_dir, ["--guided-decoding-backend", "xgrammar",
                            "--guided-decoding-disable-any-whitespace"])
    assert json.loads(value_of(made.argv, "--structured-outputs-config")) == {
        "backend": "xgrammar", "disable_any_whitespace": True}


def test_rope_scaling_and_theta(llama_dir):
    made = plan(llama_dir, ["--rope-scaling", '{"type":"yarn","factor":4.0}', "--rope-theta",
                            "1000000"])
    assert json.loads(value_of(made.argv, "--hf-overrides")) == {
        "rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1000000.0}}


def test_limit_mm_key_value_becomes_json(llama_dir):
    made = plan(llama_dir, ["--limit-mm-per-prompt", "image=2,video=1"])
    assert json.loads(value_of(made.argv, "--limit-mm-per-prompt")) == {"image": 2, "video": 1}


def test_limit_mm_json_unchanged(llama_dir):
    made = plan(llama_dir, ["--limit-mm-per-prompt", '{"image": 3}'])
    assert value_of(made.argv, "--limit-mm-per-prompt") == '{"image": 3}'


def test_limit_mm_bad_pair(llama_dir):
    with pytest.raises(UserError, match="name=count"):
        plan(llama_dir, ["--limit-mm-per-prompt", "image=two"])


def test_collect_detailed_traces_comma(llama_dir):
    made = plan(llama_dir, ["--collect-detailed-traces", "model,worker"])
    index = made.argv.index("--collect-detailed-traces")
    assert made.argv[index + 1:index + 3] == ["model", "worker"]


def test_enable_chunked_prefill_false(llama_dir):
    made = plan(llama_dir, ["--enable-chunked-prefill", "false"])
    assert "--no-enable-chunked-prefill" in made.argv


def test_model_as_flag(llama_dir):
    made, _ = cli.make_plan(["--model", str(llama_dir)], {}, inventory=NO_GPU)
    assert "--model" not in made.argv and str(llama_dir) in made.argv


def test_unknown_non_legacy_flag_still_refused(llama_dir):
    with pytest.raises(UserError, match="--not-a-flag"):
        plan(llama_dir, ["--not-a-flag", "1"])


def test_table_covers_the_issue_list():
    required = ("--use-v2-block-manager --num-scheduler-steps --multi-step-stream-outputs "
                "--api-keys --worker-use-ray --engine-use-ray --speculative-model "
                "--ngram-prompt-lookup-max --ngram-prompt-lookup-min --tokenizer-pool-size "
                "--tokenizer-pool-type --guided-decoding-backend --max-seq-len-to-capture "
                "--max-context-len-to-capture --swap-space --device --rope-scaling --rope-theta "
                "--limit-mm-per-prompt --enable-chunked-prefill --model")
    required = shlex.split(required)
    assert [flag for flag in required if flag not in legacy_flag_table.rows()] == []


def test_table_rows_are_well_formed():
    for row in ROWS:
        assert row["action"] in ("drop", "rewrite", "error", "keep"), row
        assert row["takes"] in ("none", "one", "many", "bool"), row
        assert row["reason"], row
        assert row["action"] != "error" or row.get("hint"), row
        assert row["action"] != "rewrite" or row.get("how"), row


def test_docs_page_is_fresh():
    assert legacy_flag_table.DOCS_PAGE.read_text() == legacy_flag_table.render_markdown(), \
        "run: python -m entrypoint.catalogs.legacy_flag_table --write"


def test_guided_backend_with_options_06_style(llama_dir):
    made = plan(llama_dir, ["--guided-decoding-backend", "xgrammar:disable-any-whitespace"])
    assert json.loads(value_of(made.argv, "--structured-outputs-config")) == {
        "backend": "xgrammar", "disable_any_whitespace": True}


@pytest.mark.parametrize("flag", ["--worker-use-ray=false",
                                  "--guided-decoding-disable-any-whitespace=false"])
def test_old_switch_given_false_is_dropped(llama_dir, flag):
    made = plan(llama_dir, [flag])
    assert "--distributed-executor-backend" not in made.argv
    assert "--structured-outputs-config" not in made.argv
    assert any(flag.split("=")[0] in w and "dropped" in w for w in made.warnings)

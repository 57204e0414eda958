"""Splitting argv into owned knobs and vLLM pass-through flags."""

import pytest

from entrypoint.errors import UserError
from entrypoint.settings import vllm_options
from entrypoint.settings.argv import PassFlag, parse_argv

OPTIONS_033 = vllm_options.VllmOptions(
    "0.33.0", "test", vllm_options._read(vllm_options._table_path(vllm_options.DATA_DIR, "0.33.0")))
OPTIONS_032 = vllm_options.VllmOptions(
    "0.32.0", "test", vllm_options._read(vllm_options._table_path(vllm_options.DATA_DIR, "0.32.0")))


@pytest.fixture(params=[OPTIONS_032, OPTIONS_033], ids=["0.32", "0.33"])
def options(request):
    return request.param


def test_owned_value_flags(options):
    parsed = parse_argv(["--max-model-len", "4096", "-tp", "2", "--port=9000"], options)
    assert parsed.given == {"max_model_len": "4096", "tensor_parallel_size": "2", "port": "9000"}
    assert parsed.passthrough == []


def test_positional_and_flag_model(options):
    assert parse_argv(["/m"], options).given["model"] == "/m"
    assert parse_argv(["--model", "/m"], options).given["model"] == "/m"


@pytest.mark.parametrize("tokens, expected", [
    (["--enable-prefix-caching"], True),
    (["--enable-prefix-caching=false"], False),
    (["--enable-prefix-caching", "FALSE"], False),
    (["--enable-prefix-caching", "off"], False),
    (["--no-enable-prefix-caching"], False),
    (["--disable-prefix-caching"], False),
    (["--enable-prefix-caching=Yes"], True),
])
def test_owned_booleans(options, tokens, expected):
    assert parse_argv(tokens, options).given["enable_prefix_caching"] is expected


def test_owned_bool_bad_word(options):
    with pytest.raises(UserError, match="--enforce-eager=maybe is not a boolean"):
        parse_argv(["--enforce-eager=maybe"], options)


def test_passthrough_values_unchanged(options):
    parsed = parse_argv(["--served-model-name", "m1", "m2", "--max-num-seqs", "8"], options)
    assert parsed.passthrough == [PassFlag("--served-model-name", ("m1", "m2")),
                                  PassFlag("--max-num-seqs", ("8",))]


def test_passthrough_underscores_become_dashes(options):
    parsed = parse_argv(["--max_num_seqs=8"], options)
    assert parsed.passthrough == [PassFlag("--max-num-seqs", ("8",))]


def test_passthrough_bool_false_becomes_no_form(options):
    parsed = parse_argv(["--enable-chunked-prefill=false"], options)
    assert parsed.passthrough == [PassFlag("--no-enable-chunked-prefill")]
    assert "passed to vLLM as --no-enable-chunked-prefill" in parsed.notes[0]


def test_passthrough_bool_false_as_separate_word(options):
    parsed = parse_argv(["--enable-chunked-prefill", "false", "--max-num-seqs", "4"], options)
    assert parsed.passthrough[0] == PassFlag("--no-enable-chunked-prefill")


def test_passthrough_switch_false_is_dropped(options):
    parsed = parse_argv(["--disable-log-stats=false"], options)
    assert parsed.passthrough == []
    assert "dropped" in parsed.notes[0]


def test_disable_form_translated_for_032():
    parsed = parse_argv(["--disable-chunked-prefill"], OPTIONS_032)
    assert parsed.passthrough == [PassFlag("--no-enable-chunked-prefill")]


def test_unknown_flag_collected(options):
    parsed = parse_argv(["--not-a-vllm-flag", "3"], options)
    assert parsed.unknown == [PassFlag("--not-a-vllm-flag", ("3",))]


def test_negative_number_is_a_value(options):
    parsed = parse_argv(["--seed", "-1"], options)
    assert parsed.passthrough == [PassFlag("--seed", ("-1",))]


def test_missing_value(options):
    with pytest.raises(UserError, match="--max-model-len needs a value"):
        parse_argv(["--max-model-len"], options)


def test_two_positionals(options):
    with pytest.raises(UserError, match="Unexpected argument"):
        parse_argv(["/a", "/b"], options)


def test_run_flags(options):
    parsed = parse_argv(["--dry-run", "--json"], options)
    assert parsed.dry_run and parsed.json


def test_a_flag_given_twice_reads_as_vllm_reads_it_the_last_one():
    parsed = parse_argv(["--kv-cache-dtype", "auto", "--kv-cache-dtype", "fp8",
                         "--max-num-seqs", "8", "--max-num-seqs=16"], OPTIONS_033)
    assert parsed.value("--kv-cache-dtype") == "fp8"
    assert parsed.value("--max-num-seqs") == "16"
    assert parsed.value("--host") is None

"""The copy model's training rows: the rag format, a copy that round-trips, the right targets."""

from __future__ import annotations

import random

import pytest

from benchmarks import copy_model, datasets


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from entrypoint.devtools.demo_model import build_tokenizer

    out = tmp_path_factory.mktemp("tokenizer")
    build_tokenizer(out)
    return AutoTokenizer.from_pretrained(out)


@pytest.fixture(scope="module")
def rows(tokenizer):
    return copy_model.rows(tokenizer, 60, seed=5, words=(5, 40))


def test_a_row_is_a_rag_prompt_then_the_rest_of_its_passage(tokenizer, rows):
    for row in rows:
        prompt = tokenizer.decode(row.ids[:row.prompt_len])
        passage = prompt.split(":\n", 1)[1].split("\n\nQuestion:", 1)[0]
        begun = prompt.rsplit("Answer: ", 1)[1]
        assert passage.startswith(begun)
        assert row.ids[-1] == tokenizer.eos_token_id
        copy = tokenizer.decode(row.ids[row.prompt_len:-1])
        assert (begun + " " + copy if passage[len(begun)] == " " else begun + copy) == passage


def test_both_cuts_occur_and_the_benchmark_format_is_the_same(rows):
    prompt = datasets.rag(1, 20)[0]["prompt"]
    passage = prompt.split(":\n", 1)[1].split("\n\nQuestion:", 1)[0]
    assert prompt == datasets.rag_prompt(0, passage, len(passage) // 4)
    mid_word = [row for row in rows if row.targets[1] < row.prompt_len]
    assert 0 < len(mid_word) < len(rows)


def test_targets_skip_the_instructions_and_the_cut_word(tokenizer, rows):
    position = {token: i for i, token in enumerate(sorted({t for r in rows for t in r.ids}))}
    inputs, labels, _ = copy_model.batch_tensors(rows, position)
    for i, row in enumerate(rows):
        answer, begun_end, end = row.targets
        trained = [t for t in range(labels.shape[1]) if labels[i, t] != -100]
        expected = [*range(answer - 1, begun_end - 1), *range(row.prompt_len - 1, end - 1)]
        assert trained == expected
        assert all(labels[i, t] == inputs[i, t + 1] for t in trained)


def test_training_and_held_out_passages_are_not_the_benchmarks():
    seeds = {copy_model.TRAIN_SEED, copy_model.HELD_OUT_SEED}
    assert 1 not in seeds  # datasets.rag's seed: the model must copy, not recite
    benchmark = {datasets.paragraph(random.Random(1), 160)}
    assert not benchmark & {datasets.paragraph(random.Random(s), 160) for s in seeds}

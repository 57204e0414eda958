"""The copy model's training rows (benchmarks/copy_model.py): the rag format, a copy that
round-trips through the tokenizer, the right positions trained, passages apart from the
benchmark's. The model itself is built and served in tests/e2e/test_lookahead.py."""

from __future__ import annotations

import random

import pytest

from benchmarks import copy_model, datasets


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from entrypoint.devtools.tiny_model import build_tokenizer

    out = tmp_path_factory.mktemp("tokenizer")
    build_tokenizer(out)
    return AutoTokenizer.from_pretrained(out)


@pytest.fixture(scope="module")
def rows(tokenizer):
    return copy_model.rows(tokenizer, 40, seed=5, words=(5, 40))


def parts(prompt: str) -> tuple[str, str]:
    """(passage, begun answer) of a rag prompt."""
    passage = prompt.split(":\n", 1)[1].split("\n\nQuestion:", 1)[0]
    return passage, prompt.rsplit("Answer: ", 1)[1]


def test_a_row_is_a_rag_prompt_then_the_rest_of_its_passage_then_eos(tokenizer, rows):
    for row in rows:
        passage, begun = parts(tokenizer.decode(row.ids[:row.prompt_len]))
        assert row.ids[-1] == tokenizer.eos_token_id
        assert f"{begun} {tokenizer.decode(row.ids[row.prompt_len:-1])}" == passage


def test_the_answer_is_begun_at_a_word_boundary_as_in_the_benchmark():
    assert datasets.word_cut("one two three", 0.0) == 3
    assert datasets.word_cut("one two three", 0.4) == 7
    assert datasets.word_cut("one two three", 0.9) == len("one two three")
    for index, row in enumerate(datasets.rag(5, 30)):
        passage, begun = parts(row["prompt"])
        assert passage.startswith(begun + " ")
        assert row["prompt"] == datasets.rag_prompt(index, passage, len(begun))


def test_only_the_answer_is_trained(rows):
    position = {token: i for i, token in enumerate(sorted({t for r in rows for t in r.ids}))}
    inputs, labels, mask = copy_model.batch_tensors(rows, position)
    for i, row in enumerate(rows):
        trained = [t for t in range(labels.shape[1]) if labels[i, t] != -100]
        assert trained == list(range(row.answer - 1, len(row.ids) - 1))
        assert all(labels[i, t] == inputs[i, t + 1] for t in trained)
        assert int(mask[i].sum()) == len(row.ids)


def test_training_and_held_out_passages_are_not_the_benchmarks():
    assert 1 not in {copy_model.TRAIN_SEED, copy_model.HELD_OUT_SEED}  # datasets.rag's seed
    benchmark = {parts(row["prompt"])[0] for row in datasets.rag(96, 160)}
    rng = random.Random(copy_model.HELD_OUT_SEED)
    assert not benchmark & {datasets.paragraph(rng, 160) for _ in range(8)}

"""End to end: lookahead (`USE_LOOKAHEAD=1`) on a model that really copies.

The tiny copy model (benchmarks/copy_model.py, trained here on other passages than these) quotes
passages it has never seen. Served through `run` with lookahead on, vLLM's n-gram proposer drafts
the quote from the prompt and most drafts are accepted (vLLM's spec-decode counters on
/metrics); the greedy replies are the ones the same model gives with lookahead off, and they quote
the passages. Two servers, one after the other (off, then on).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.copy_model import VERSION
from benchmarks.datasets import paragraph, rag_prompt, word_cut
from benchmarks.server import counters
from tests.conftest import CACHE, Server

pytestmark = pytest.mark.e2e

HELD_OUT_SEED = 31  # neither the model's training and held-out seeds nor the benchmark's
ACCEPTED = ("vllm:spec_decode_num_draft_tokens_total", "vllm:spec_decode_num_accepted_tokens_total")


def passages() -> list[tuple[str, str]]:
    """(prompt, the rest of its passage) for three held-out passages, the answer begun."""
    rng = random.Random(HELD_OUT_SEED)
    cases = []
    for index, words in enumerate((60, 120, 160)):
        passage = paragraph(rng, words)
        cut = word_cut(passage, 0.25)
        cases.append((rag_prompt(index, passage, cut), passage[cut:]))
    return cases


@pytest.fixture(scope="module")
def copy_model() -> Path:
    from benchmarks.copy_model import build

    return build(CACHE / f"copy-model-{VERSION}")


def serve(model: Path, log: Path, **env: str) -> Server:
    return Server([str(model), "--served-model-name", "copy", "--enforce-eager"],
                  {"MAX_MODEL_LEN": "1024", **env}, log)


def ask(server: Server, prompt: str) -> str:
    reply = server.client().completions.create(model="copy", prompt=prompt, max_tokens=400,
                                               temperature=0)
    return reply.choices[0].text


@pytest.fixture(scope="module")
def replies_without_lookahead(copy_model, tmp_path_factory) -> list[str]:
    server = serve(copy_model, tmp_path_factory.mktemp("off") / "server.log")
    try:
        return [ask(server, prompt) for prompt, _ in passages()]
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lookahead_server(copy_model, replies_without_lookahead, tmp_path_factory):
    started = serve(copy_model, tmp_path_factory.mktemp("on") / "server.log", USE_LOOKAHEAD="1")
    yield started
    started.stop()


def test_drafts_are_accepted_and_greedy_replies_are_unchanged(lookahead_server,
                                                              replies_without_lookahead):
    before = counters(lookahead_server.base)
    replies = [ask(lookahead_server, prompt) for prompt, _ in passages()]
    after = counters(lookahead_server.base)
    drafted, accepted = (after.get(name, 0.0) - before.get(name, 0.0) for name in ACCEPTED)
    assert replies == replies_without_lookahead
    assert drafted > 0, "lookahead proposed no draft: is the speculative config on?"
    assert accepted / drafted > 0.8, f"{accepted:.0f} of {drafted:.0f} draft tokens accepted"


def trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return set(zip(words, words[1:], words[2:], strict=False))


def test_the_replies_quote_the_passages(replies_without_lookahead):
    """The model really copies (else the acceptance above would mean little): the reply, as long
    as the rest of the passage, is made of the passage's word trigrams. Shift-tolerant: the tiny
    copier may skip to another place of the passage (5 % of held-out tokens at its build)."""
    for reply, (prompt, rest) in zip(replies_without_lookahead, passages(), strict=True):
        got = reply.split()[:len(rest.split())]
        copied = trigrams(got) & trigrams(prompt.split())
        assert len(copied) >= 0.9 * len(trigrams(got)), reply

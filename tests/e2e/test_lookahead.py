"""End to end: lookahead (`USE_LOOKAHEAD=1`) on a model that really copies.

The tiny copy model (benchmarks/copy_model.py, trained here on other passages than this one)
quotes a passage it has never seen; served through `run` with lookahead on, vLLM's n-gram
proposer drafts the quote from the prompt, most drafts are accepted (vLLM's spec-decode counters
on /metrics), and the greedy reply is still exactly the passage: speculation never changes a
greedy answer.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.copy_model import VERSION
from benchmarks.datasets import paragraph, rag_prompt
from benchmarks.server import counters
from tests.conftest import CACHE, Server

pytestmark = pytest.mark.e2e

HELD_OUT_SEED = 31  # neither the training seeds nor the benchmark's


@pytest.fixture(scope="module")
def copy_model() -> Path:
    from benchmarks.copy_model import build

    return build(CACHE / f"copy-model-{VERSION}")


@pytest.fixture(scope="module")
def lookahead_server(copy_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("lookahead") / "server.log"
    started = Server([str(copy_model), "--served-model-name", "copy", "--enforce-eager"],
                     {"USE_LOOKAHEAD": "1", "MAX_MODEL_LEN": "1024"}, log)
    yield started
    started.stop()


def test_lookahead_drafts_are_accepted_and_the_quote_is_exact(lookahead_server):
    passage = paragraph(random.Random(HELD_OUT_SEED), 120)
    begun = passage.index(" ", len(passage) // 4)  # the answer begun, cut between two words
    before = counters(lookahead_server.base)
    reply = lookahead_server.client().completions.create(
        model="copy", prompt=rag_prompt(3, passage, begun), max_tokens=400, temperature=0)
    after = counters(lookahead_server.base)
    drafted, accepted = (
        after.get(name, 0.0) - before.get(name, 0.0)
        for name in ("vllm:spec_decode_num_draft_tokens_total",
                     "vllm:spec_decode_num_accepted_tokens_total"))
    choice = reply.choices[0]
    assert choice.text == passage[begun:]
    assert choice.finish_reason == "stop"  # the model ends its quote with </s>
    assert drafted > 0, "lookahead proposed no draft: is the speculative config on?"
    assert accepted / drafted > 0.8, f"{accepted:.0f} of {drafted:.0f} draft tokens accepted"

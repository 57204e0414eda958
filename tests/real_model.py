"""Reference answers for the real demo model: transformers' float32 greedy decoding of the same
folder vLLM serves (no hard-coded replies), for the e2e tests that check what a model says."""

from __future__ import annotations

from pathlib import Path

SPECIAL = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")


class Reference:
    """The converted model loaded once in float32 in the test process (0.5 GiB)."""

    def __init__(self, folder: Path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()

    def _greedy(self, ids: list[int], max_tokens: int) -> str:
        # One thread: the cores are shared with the vLLM server under test, and two threads
        # contending with it were 8-13x slower (0.9-1.8 s against 11-14 s for one answer).
        threads = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            with self.torch.no_grad():
                out = self.model.generate(self.torch.tensor([ids]), max_new_tokens=max_tokens,
                                          do_sample=False, attention_mask=None)
        finally:
            self.torch.set_num_threads(threads)
        return self.tokenizer.decode(out[0, len(ids):], skip_special_tokens=True)

    def reply(self, messages: list[dict], max_tokens: int) -> str:
        """The chat reply: the model's own template, generation prompt added."""
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                 tokenize=True, return_dict=False)
        return self._greedy(list(ids), max_tokens)

    def continuation(self, prompt: str, max_tokens: int) -> str:
        """A raw completion of `prompt` (no template), as /v1/completions gives it."""
        return self._greedy(self.tokenizer(prompt)["input_ids"], max_tokens)

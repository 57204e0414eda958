"""Greedy answers of the real model: transformers' reference against vLLM servers.

  greedy_check.py reference MODEL_DIR OUT_JSON     transformers, float32, greedy, on the GPU
                                                   when there is one (else the CPU)
  greedy_check.py compare REFERENCE_JSON NAME=URL...  each server's greedy chat replies to the
                                                   same questions, counted equal to the reference
                                                   and to the first server's

The questions are chats sent with the model's own template (transformers' apply_chat_template;
vLLM's chat endpoint), max 48 new tokens; texts are compared without special tokens.
"""

import json
import sys
import time
from pathlib import Path

QUESTIONS = [
    "What is the capital of France?",
    "What is 2 + 2?",
    "Name the largest planet in the solar system.",
    "Who wrote Romeo and Juliet?",
    "What colour is the sky on a clear day?",
    "Translate 'good morning' into Spanish.",
    "Give one word that rhymes with 'cat'.",
    "What is the boiling point of water in Celsius?",
]
MAX_TOKENS = 48


def reference(model_dir: str, out: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device)
    replies = []
    for question in QUESTIONS:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                            add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)["input_ids"].to(device)
        with torch.no_grad():
            output = model.generate(ids, max_new_tokens=MAX_TOKENS, do_sample=False,
                                    attention_mask=torch.ones_like(ids))
        replies.append(tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True))
    record = {"model": model_dir, "device": device, "dtype": "float32",
              "transformers": __import__("transformers").__version__,
              "torch": torch.__version__, "seconds": round(time.perf_counter() - start, 1),
              "questions": QUESTIONS, "replies": replies}
    Path(out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"reference: {len(replies)} greedy replies from transformers float32 on {device} "
          f"in {record['seconds']} s; first: {replies[0]!r}")


def ask(url: str, question: str) -> str:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none")
    model = client.models.list().data[0].id
    reply = client.chat.completions.create(model=model, temperature=0, max_tokens=MAX_TOKENS,
                                           messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content or ""


def compare(reference_json: str, servers: list[str]) -> None:
    ref = json.loads(Path(reference_json).read_text())
    answers = {}
    for item in servers:
        name, _, url = item.partition("=")
        try:
            answers[name] = [ask(url.rstrip("/"), question) for question in ref["questions"]]
        except Exception as error:  # one server down must not hide the others' answers
            print(f"{name}: no answers ({type(error).__name__}: {error})")
    if not answers:
        return
    first = next(iter(answers))
    for name, replies in answers.items():
        same = sum(a.strip() == b.strip() for a, b in zip(replies, ref["replies"], strict=True))
        line = f"{name}: {same}/{len(replies)} greedy replies equal transformers float32's"
        if name != first:
            twin = sum(a == b for a, b in zip(replies, answers[first], strict=True))
            line += f"; {twin}/{len(replies)} equal {first}'s"
        print(line)
    print(f"first question, transformers: {ref['replies'][0]!r}")
    for name, replies in answers.items():
        print(f"first question, {name}: {replies[0]!r}")
    Path(reference_json).with_name("greedy-answers.json").write_text(
        json.dumps({"reference": ref, "servers": answers}, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["reference"]:
        reference(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["compare"]:
        compare(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)

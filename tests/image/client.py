"""Run inside the container's network namespace (`nsenter -t PID -n`): wait for /health, then
one chat completion through the official `openai` client; prints a JSON summary."""

from __future__ import annotations

import json
import sys
import time
import urllib.request

BASE = "http://127.0.0.1:8501"


def wait_healthy(limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            with urllib.request.urlopen(f"{BASE}/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"/health not 200 after {limit:.0f} s")


def main() -> None:
    import openai

    waited = wait_healthy(float(sys.argv[1]) if len(sys.argv) > 1 else 600)
    client = openai.OpenAI(base_url=f"{BASE}/v1", api_key="unused")
    model = client.models.list().data[0].id
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8)
    print(json.dumps({"health_after_s": round(waited, 1), "model": model,
                      "finish_reason": reply.choices[0].finish_reason,
                      "completion_tokens": reply.usage.completion_tokens}))


if __name__ == "__main__":
    main()

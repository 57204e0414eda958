#!/usr/bin/env bash
# serve_bench.sh LABEL [--no-bench] -- COMMAND...: start a server, check it, benchmark it, stop it.
# The server runs in its own session (setsid) and is stopped by process group: SIGTERM, then
# SIGKILL after 30 s (lib.sh). SIGINT to a background job of a script stops nothing: bash starts
# background jobs with SIGINT ignored (issue 21).
set -uo pipefail
label=$1; shift
bench=1; [ "$1" = "--no-bench" ] && { bench=0; shift; }
[ "$1" = "--" ] && shift
source scripts/gpu/lib.sh
start_server "$label" "$@"
if wait_ready "$label" 8501 300; then
  python3 - "$label" <<'PY'
import sys, openai
client = openai.OpenAI(base_url="http://localhost:8501/v1", api_key="none")
model = client.models.list().data[0].id
reply = client.chat.completions.create(model=model, max_tokens=16,
    messages=[{"role": "user", "content": "Say hello."}])
print(sys.argv[1], "chat:", model, reply.choices[0].finish_reason, reply.usage.completion_tokens, "tokens")
PY
  [ $bench = 1 ] && bench "$label" 8501 32 320 512 128
fi
grep -aE "spec|Speculative|quantiz|Error|error" "$RAW/$label.server.log" | head -8
stop_server "$label"
echo "$label: done (raw files in $RAW)"

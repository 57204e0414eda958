#!/usr/bin/env bash
# serve_bench.sh LABEL [--no-bench] -- COMMAND...: start a server, check it, benchmark it, stop it.
set -uo pipefail
label=$1; shift
bench=1; [ "$1" = "--no-bench" ] && { bench=0; shift; }
[ "$1" = "--" ] && shift
source scripts/gpu/env.sh
out=${OUT:-/tmp/out}; mkdir -p "$out"
start=$(python3 -c "import time; print(time.time())")
"$@" > "$out/$label.server.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 300); do
  if curl -sf -o /dev/null localhost:8501/health; then ready=$(python3 -c "import time; print(round(time.time() - $start, 1))"); break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
echo "$label: ready after ${ready:-NEVER} s"
if [ -n "$ready" ]; then
  python3 - "$label" <<'PY'
import sys, openai
client = openai.OpenAI(base_url="http://localhost:8501/v1", api_key="none")
model = client.models.list().data[0].id
reply = client.chat.completions.create(model=model, max_tokens=16,
    messages=[{"role": "user", "content": "Say hello."}])
print(sys.argv[1], "chat:", model, reply.choices[0].finish_reason, reply.usage.completion_tokens, "tokens")
PY
  if [ $bench = 1 ]; then
    vllm bench serve --backend openai --base-url http://localhost:8501 --model "$(curl -s localhost:8501/v1/models | python3 -c 'import json,sys;print(json.load(sys.stdin)["data"][0]["id"])')" \
      --tokenizer "$MODEL_DIR" --dataset-name random --random-input-len 512 --random-output-len 128 \
      --num-prompts 320 --max-concurrency 32 --ignore-eos --save-result --result-dir "$out" \
      --result-filename "$label.bench.json" > "$out/$label.bench.log" 2>&1
    grep -E "Output token throughput|Median TTFT|Median TPOT|P99 TPOT|Successful" "$out/$label.bench.log"
  fi
fi
grep -E "spec|Speculative|quantiz|Error|error" "$out/$label.server.log" | grep -v "^$" | head -8
kill -INT $pid 2>/dev/null; sleep 5; kill -9 $pid 2>/dev/null; pkill -9 -f "vllm serve|entrypoint.vllm_serve|python3 -m entrypoint --" 2>/dev/null
wait 2>/dev/null
echo "$label: done"

# Sourced by the GPU run scripts: start a server in its own session, wait for it, benchmark it,
# stop its whole process group (SIGTERM, then SIGKILL after a grace period). A background job of
# a non-interactive bash ignores SIGINT, so SIGINT to it stops nothing (issue 21).
source scripts/gpu/env.sh
OUT=${OUT:-/tmp/out}; RAW=$OUT/raw; mkdir -p "$RAW"
PIDS=${PIDS:-/tmp}  # each server's pid and start time (another folder: a second run beside)
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
now() { date +%s.%N; }

start_server() {  # LABEL COMMAND...  (the command is run through `env`, so VAR=value first)
  local label=$1; shift
  setsid env "$@" > "$RAW/$label.server.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/pid.$label"; now > "$PIDS/t0.$label"
}

wait_ready() {  # LABEL PORT LIMIT_S: prints "LABEL ready S" (or NEVER)
  local label=$1 port=$2 limit=$3 t0 pid
  t0=$(cat "$PIDS/t0.$label"); pid=$(cat "$PIDS/pid.$label")
  for _ in $(seq 1 $((limit * 4))); do
    if curl -sf -o /dev/null "localhost:$port/health"; then
      echo "$label ready $(python3 -c "print(round($(now) - $t0, 1))") s" | tee -a "$OUT/summary.txt"
      grep -a "^run: ready after" "$RAW/$label.server.log" | tee -a "$OUT/summary.txt"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  echo "$label ready NEVER" | tee -a "$OUT/summary.txt"; tail -5 "$RAW/$label.server.log"; return 1
}

stop_server() {  # LABEL [GRACE_S]
  local label=$1 grace=${2:-30} pid; pid=$(cat "$PIDS/pid.$label")
  kill -TERM -- "-$pid" 2>/dev/null
  for _ in $(seq 1 $((grace * 4))); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 -- "-$pid" 2>/dev/null; then
    echo "$label: SIGKILL after ${grace}s"; kill -KILL -- "-$pid" 2>/dev/null
  fi
  sleep 1
}

bench() {  # LABEL PORT CONCURRENCY PROMPTS IN OUT [extra vllm bench args]
  local label=$1 port=$2 conc=$3 n=$4 in=$5 out=$6; shift 6
  local model; model=$(curl -s "localhost:$port/v1/models" | python3 -c 'import json,sys;print(json.load(sys.stdin)["data"][0]["id"])')
  vllm bench serve --backend openai --base-url "http://localhost:$port" --model "$model" \
    --tokenizer "$MODEL_DIR" --dataset-name random --random-input-len "$in" --random-output-len "$out" \
    --num-prompts "$n" --max-concurrency "$conc" --ignore-eos --seed 0 "$@" --save-result \
    --result-dir "$RAW" --result-filename "$label.bench.json" > "$RAW/$label.bench.log" 2>&1
  python3 - "$RAW/$label.bench.json" "$label" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}: ok {r['completed']}/{r['num_prompts']} output {r['output_throughput']:.1f} tok/s"
      f" ttft_med {r['median_ttft_ms']:.1f} tpot_med {r['median_tpot_ms']:.2f} ms")
PY
}

pack() {  # NAME: the raw files as one archive that comes back
  tar -czf "$OUT/$1.tar.gz" -C "$RAW" . && rm -rf "$RAW"
}

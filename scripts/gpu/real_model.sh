#!/usr/bin/env bash
# Issues 29 and 25 on one GPU: the real SmolLM2-135M-Instruct, carried as its GGUF file in two
# pieces (.carry/smol1, .carry/smol2; make_parts.sh), converted there and served by `run`.
#   real_model.sh STEP...   (in this order; each skipped when the call has too little time left)
#   take       copy the carried GGUF pieces present in .carry into $SMOL_DIR/parts
#   convert    the GGUF (sha256 checked) into a float32 folder (convert_gguf.py, transformers +
#              the carried gguf package), then transformers' float32 greedy replies (the reference)
#   servers    four `run` servers side by side: lookahead off/on x float32/bfloat16
#   greedy     each server's greedy chat replies against the reference (greedy_check.py)
#   lookahead  bench --suite real against the four servers: rag set at 1, 4, 16 concurrent
#              requests, ROUNDS rounds alternated, acceptance from /metrics; then greedy outputs
#              with lookahead on against off, prompt by prompt (benchmarks.lookahead --compare)
#   suite      bench --suite gpu rows (random, shared-prefix, rag) against the bfloat16 pair
#   gguf       the GGUF file handed to vLLM itself (vLLM 0.26's wheel has no GGUF loader: its
#              answer is recorded), then to `run` (MODEL=<file>): its plan, its start, its answers
#   stop       stop the servers, pack the raw files into $OUT/realmodel-<steps>.tar.gz
set -uo pipefail
source scripts/gpu/lib.sh
GGUF=$SMOL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf SMOL=$SMOL_DIR/f32 REF=$SMOL_DIR/reference.json
SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
ROUNDS=${ROUNDS:-2} CONC=${CONC:-1,4,16} SUITE_CONC=${SUITE_CONC:-1,16,64}
P=${BASE_PORT:-8610}
CONFIGS=(off-float32:$((P+1)):float32: on-float32:$((P+2)):float32:--use-lookahead
         off-bfloat16:$((P+3)):bfloat16: on-bfloat16:$((P+4)):bfloat16:--use-lookahead)
url() { echo "http://127.0.0.1:$1"; }
# The servers that answered /health (a configuration that failed to start is left out of the
# steps after it, so the others are still measured)
ready() { [ -f "$SMOL_DIR/ready" ] && cat "$SMOL_DIR/ready"; }
say() { echo "$*" | tee -a "$OUT/summary.txt"; }

take() {
  mkdir -p "$SMOL_DIR/parts"
  for d in .carry/smol*; do [ -d "$d" ] && cp "$d"/gpart.* "$SMOL_DIR/parts/"; done
  say "GGUF pieces here: $(ls "$SMOL_DIR/parts" | tr '\n' ' ')"
}

convert() {
  if [ ! -f "$GGUF" ]; then
    cat "$SMOL_DIR"/parts/gpart.* > "$GGUF"
    echo "$SHA  $GGUF" | sha256sum -c --quiet || { say "GGUF sha256 mismatch"; rm -f "$GGUF"; return 1; }
  fi
  [ -f "$SMOL/config.json" ] || python3 scripts/gpu/convert_gguf.py "$GGUF" "$SMOL" float32 \
    2> "$RAW/convert.log" | tee -a "$OUT/summary.txt"
  python3 scripts/gpu/greedy_check.py reference "$SMOL" "$REF" 2> "$RAW/reference.log" \
    | tee -a "$OUT/summary.txt"
  cp "$REF" "$RAW/"
}

servers() {  # ONLY=name,name starts only those
  for c in "${CONFIGS[@]}"; do
    IFS=: read -r name port dtype flag <<< "$c"
    [[ -z "${ONLY:-}" || ",$ONLY," == *",$name,"* ]] || continue
    # a fixed 2 GiB KV cache each: four servers share the GPU and their memory profiling is skipped
    start_server "$name" CACHE_DIR=/tmp/vol/smol python3 -m entrypoint "$SMOL" --port "$port" \
      --dtype "$dtype" --max-model-len 8192 --gpu-memory-utilization 0.15 \
      --kv-cache-memory-bytes 2147483648 $GPU_ARGS $flag
  done
  : > "$SMOL_DIR/ready"
  for c in "${CONFIGS[@]}"; do
    IFS=: read -r name port _ <<< "$c"
    [ -f "$PIDS/pid.$name" ] || continue
    wait_ready "$name" "$port" 420 && echo "$c" >> "$SMOL_DIR/ready"
  done
  command -v nvidia-smi > /dev/null && nvidia-smi > "$RAW/nvidia-smi-servers.txt"
}

greedy() {
  local args=()
  for c in $(ready); do IFS=: read -r name port _ <<< "$c"; args+=("$name=$(url "$port")"); done
  python3 scripts/gpu/greedy_check.py compare "$REF" "${args[@]}" 2>&1 | tee -a "$OUT/summary.txt"
  cp "$SMOL_DIR/greedy-answers.json" "$RAW/" 2> /dev/null
}

lookahead() {
  local urls=""
  for c in $(ready); do IFS=: read -r name port _ <<< "$c"; urls+="$name=$(url "$port"),"; done
  python3 -m benchmarks.cli "$SMOL" --suite real --repeats "$ROUNDS" --concurrencies "$CONC" \
    --urls "${urls%,}" --stop-after "$(( $(time_left) - 60 ))" --out "$RAW/bench-real" \
    > "$RAW/bench-real.log" 2>&1
  grep -a "bench:" "$RAW/bench-real.log" | tee -a "$OUT/summary.txt"
  python3 -m benchmarks.lookahead --compare "$RAW/bench-real" | tee "$RAW/bench-real/same-outputs.txt" \
    | grep against | tee -a "$OUT/summary.txt"
}

suite() {
  python3 -m benchmarks.cli "$SMOL" --suite gpu --suites "${SUITES:-benchmarks/suites.json}" --repeats "$ROUNDS" --concurrencies "$SUITE_CONC" \
    --urls "run-defaults=$(url $((P+3))),lookahead=$(url $((P+4)))" --stop-after "$(( $(time_left) - 60 ))" \
    --out "$RAW/bench-gpu" > "$RAW/bench-gpu.log" 2>&1
  grep -a "bench:" "$RAW/bench-gpu.log" | tee -a "$OUT/summary.txt"
}

gguf() {
  stop  # the four servers hold 60% of the GPU; these starts take the defaults
  # 1. vLLM itself: 0.26.0's wheel has no GGUF loader (no gguf load format), so expect a refusal
  start_server gguf-vllm vllm serve "$GGUF" --tokenizer "$SMOL" --port $((P+11)) --max-model-len 2048 $GPU_ARGS
  wait_ready gguf-vllm $((P+11)) 90 && say "vLLM served the GGUF file itself"
  stop_server gguf-vllm 10
  grep -aE "Error|error" "$RAW/gguf-vllm.server.log" | tail -3 | cut -c1-300 | tee -a "$OUT/summary.txt"
  # 2. `run` with MODEL=<the file>: its plan, then the start, and its greedy answers if it serves
  MODEL="$GGUF" python3 -m entrypoint --dry-run > "$RAW/gguf-run-dryrun.txt" 2>&1
  say "run --dry-run with MODEL=<the .gguf file>: exit $?"
  grep -aiE "gguf|convert|tokenizer" "$RAW/gguf-run-dryrun.txt" | head -6 | cut -c1-240 | tee -a "$OUT/summary.txt"
  has_time 150 "run serving the GGUF file" || return 0
  start_server gguf-run MODEL="$GGUF" CACHE_DIR=/tmp/vol/gguf python3 -m entrypoint --port $((P+12)) $GPU_ARGS
  if wait_ready gguf-run $((P+12)) "$(( $(time_left) - 60 ))"; then
    python3 scripts/gpu/greedy_check.py compare "$REF" "gguf-run=$(url $((P+12)))" 2>&1 | tee -a "$OUT/summary.txt"
    cp "$SMOL_DIR/greedy-answers.json" "$RAW/gguf-answers.json"
  fi
  stop_server gguf-run 10
}

stop() {
  for c in "${CONFIGS[@]}"; do
    IFS=: read -r name _ <<< "$c"
    [ -f "$PIDS/pid.$name" ] && stop_server "$name" 20 && rm -f "$PIDS/pid.$name"
  done
}

declare -A need=([take]=10 [convert]=120 [servers]=200 [greedy]=40 [lookahead]=150 [suite]=150 [gguf]=100 [stop]=0)
for step in "$@"; do
  [ -n "${need[$step]:-}" ] || { echo "real_model.sh: unknown step $step; steps: ${!need[*]}"; exit 2; }
done
for step in "$@"; do
  has_time "${need[$step]}" "$step" || continue
  say "[$(elapsed) s, $(time_left) s left] $step"
  "$step"
done
stop
say "[$(elapsed) s] done: $*"
pack "realmodel-$(IFS=-; echo "$*")"

#!/usr/bin/env bash
# Issue 21, item 3: --gpu-memory-utilization 0.90 (run's default) against 0.92 (vLLM 0.26's) at a
# load where the KV cache binds: ROUNDS alternated starts of each, one benchmark per start.
# Random 2048 in / 256 out, 600 prompts at concurrency 600: 600 x 2304 = 1.38M tokens wanted
# against about 0.9M tokens of KV cache. LOAD="CONCURRENCY PROMPTS IN OUT" changes it (a rehearsal).
set -uo pipefail
source scripts/gpu/lib.sh
for r in $(seq 1 "${ROUNDS:-2}"); do for u in 0.90 0.92; do
  [ "$(elapsed)" -lt "${STOP_AFTER:-440}" ] || break 2
  # One CACHE_DIR per value: vLLM's startup plan (kept there) is keyed without
  # --gpu-memory-utilization, so a shared one would give 0.92 the KV size measured under 0.90.
  start_server "u$u-r$r" CACHE_DIR=/tmp/vol/u$u python3 -m entrypoint --load-format dummy --gpu-memory-utilization $u $GPU_ARGS
  ( while sleep 1; do command -v nvidia-smi > /dev/null || break; nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; done > "$RAW/u$u-r$r.mem.txt" ) &
  mon=$!
  wait_ready "u$u-r$r" 8501 300 && bench "u$u-r$r" 8501 ${LOAD:-600 600 2048 256}
  kill $mon; grep -a "KV cache size\|preempt" "$RAW/u$u-r$r.server.log" | head -3 | tee -a "$OUT/summary.txt"
  echo "u$u-r$r peak MiB used: $(sort -n "$RAW/u$u-r$r.mem.txt" | tail -1)" | tee -a "$OUT/summary.txt"
  stop_server "u$u-r$r"
  echo "[$(elapsed) s]"
done; done
pack memutil

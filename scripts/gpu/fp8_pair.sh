#!/usr/bin/env bash
# Issue 21, item 3 (what the lease left room for): bf16 (already serving on 8501, started by
# fp8_trio.sh with the same flags) against fp8 on 8602, alternated, two runs each.
set -uo pipefail
source scripts/gpu/lib.sh
common=(--load-format dummy --gpu-memory-utilization 0.3 --kv-cache-memory-bytes 17179869184)
pkill -f "kv-cache-dtype fp8" ; sleep 1
start_server fp8b CACHE_DIR=/tmp/vol/cache QUANTIZATION=fp8 python3 -m entrypoint --port 8602 "${common[@]}"
wait_ready fp8b 8602 170 && for r in 1 2; do
  [ "$(elapsed)" -lt 200 ] && bench "bf16-c32-r$r" 8501 32 320 512 128
  [ "$(elapsed)" -lt 205 ] && bench "fp8-c32-r$r" 8602 32 320 512 128
done
echo "[$(elapsed) s]"
pack fp8pair

#!/usr/bin/env bash
# Issue 21, item 3: bf16, fp8 and fp8 + fp8 KV cache side by side. Three servers share the GPU
# (each --gpu-memory-utilization 0.3 with a fixed 16 GiB KV cache, far above what the loads need,
# which also skips vLLM's memory profiling so their starts cannot disturb each other); only one is
# benchmarked at a time, in alternated rounds, so each ratio has two runs per side.
set -uo pipefail
source scripts/gpu/lib.sh
common=(--load-format dummy --gpu-memory-utilization 0.3 --kv-cache-memory-bytes 17179869184)
start_server bf16 CACHE_DIR=/tmp/vol/cache python3 -m entrypoint --port 8601 "${common[@]}"
start_server fp8 CACHE_DIR=/tmp/vol/cache QUANTIZATION=fp8 python3 -m entrypoint --port 8602 "${common[@]}"
start_server fp8kv CACHE_DIR=/tmp/vol/cache QUANTIZATION=fp8 python3 -m entrypoint --port 8603 "${common[@]}" --kv-cache-dtype fp8
ok=1
for s in bf16:8601 fp8:8602 fp8kv:8603; do wait_ready "${s%:*}" "${s#*:}" 300 || ok=0; done
echo "[$(elapsed) s] all ready"
if [ $ok = 1 ]; then
  for r in 1 2; do for s in bf16:8601 fp8:8602 fp8kv:8603; do
    bench "${s%:*}-c32-r$r" "${s#*:}" 32 320 512 128; done; done
  echo "[$(elapsed) s]"
  for r in 1 2; do for s in bf16:8601 fp8:8602 fp8kv:8603; do
    [ "$(elapsed)" -lt 520 ] && bench "${s%:*}-c128-r$r" "${s#*:}" 128 768 512 128; done; done
fi
nvidia-smi > "$RAW/nvidia-smi-trio.txt"
for s in bf16 fp8 fp8kv; do stop_server $s 20; done
echo "[$(elapsed) s]"
pack fp8trio

#!/usr/bin/env bash
# Issue 29, start time: what a start cannot go below here, and a cold start against a warm
# restart of the 8B shape through `run`, each start alone on the GPU.
#   start_floor.sh torch     the parts that need no vLLM, timed alone (floor.py): interpreter,
#                            import torch, CUDA init (the call that carries p0, before vLLM is whole)
#   start_floor.sh vllm      vLLM's parts alone: import vllm, the API server's imports, an engine
#                            process started by spawn (the first import after the install is the
#                            first of the three repeats: bytecode is written then)
#   start_floor.sh restart   `run` cold (CACHE_DIR empty and every cache outside it wiped) and then
#                            warm (CACHE_DIR kept, the rest wiped as a container restart does),
#                            each with run's start summary and one short benchmark
set -uo pipefail
source scripts/gpu/lib.sh
VOL=/tmp/vol/floor
say() { echo "$*" | tee -a "$OUT/summary.txt"; }
wipe_container() { rm -rf /tmp/torchinductor_* ~/.triton ~/.cache/vllm ~/.cache/torch ~/.cache/flashinfer; }
one() {  # LABEL
  start_server "$1" CACHE_DIR=$VOL python3 -m entrypoint --load-format dummy $GPU_ARGS
  wait_ready "$1" 8501 300 && bench "$1" 8501 ${LOAD:-32 320 512 128}
  stop_server "$1"; wipe_container
}
for part in "$@"; do
  case $part in
    torch) has_time 60 "floor torch" && python3 scripts/gpu/floor.py 3 python torch cuda 2>&1 \
             | sed 's/^/floor /' | tee -a "$OUT/summary.txt" ;;
    vllm) has_time 150 "floor vllm" && python3 scripts/gpu/floor.py 3 vllm api engine 2>&1 \
            | sed 's/^/floor /' | tee -a "$OUT/summary.txt" ;;
    restart)
      command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
        --format=csv,noheader | tee -a "$OUT/summary.txt"
      rm -rf "$VOL"; wipe_container
      has_time 200 "cold start" && one cold
      has_time 120 "warm restart" && one warm
      du -sh "$VOL"/* > "$RAW/vol-listing.txt" 2>&1 ;;
    *) echo "start_floor.sh: unknown part $part (torch, vllm, restart)"; exit 2 ;;
  esac
  say "[$(elapsed) s] $part done"
done
pack "floor-$(IFS=-; echo "$*")"

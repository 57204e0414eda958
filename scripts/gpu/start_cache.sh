#!/usr/bin/env bash
# Issue 21, item 1: cold and warm starts of one configuration (`run` defaults, CACHE_DIR on a
# "volume"), each followed by one benchmark, alternated: cold, warm, cold, warm. Between starts
# every cache outside CACHE_DIR is wiped, as a container restart would; the second cold start also
# wipes CACHE_DIR (the OS page cache and Python's bytecode stay warm: see docs/gpu.md).
set -uo pipefail
source scripts/gpu/lib.sh
VOL=/tmp/vol/cache
wipe_container() { rm -rf /tmp/torchinductor_* ~/.triton ~/.cache/vllm ~/.cache/torch ~/.cache/flashinfer; }
one() {  # LABEL
  start_server "$1" CACHE_DIR=$VOL python3 -m entrypoint --load-format dummy
  wait_ready "$1" 8501 300 && bench "$1" 8501 32 320 512 128
  stop_server "$1"; wipe_container
  echo "[$(elapsed) s]"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$OUT/summary.txt"
python3 -m entrypoint --dry-run --load-format dummy > "$RAW/dryrun-cachedir.txt" 2>&1
CACHE_DIR=$VOL python3 -m entrypoint --dry-run --load-format dummy >> "$RAW/dryrun-cachedir.txt" 2>&1
grep -a "caches:" "$RAW/dryrun-cachedir.txt" | tee -a "$OUT/summary.txt"
one cold1
one warm1
rm -rf "$VOL"; one cold2
[ "$(elapsed)" -lt 470 ] && one warm2
ls -R /tmp/vol | head -30 > "$RAW/vol-listing.txt"; du -sh /tmp/vol/cache/* >> "$RAW/vol-listing.txt"
pack startcache

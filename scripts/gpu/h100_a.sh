#!/usr/bin/env bash
# Issue 11, H100 part A: what run sees and decides on real NVML, then run's defaults and fp8.
set -uo pipefail
source scripts/gpu/env.sh
out=${OUT:-/tmp/out}; mkdir -p "$out"
nvidia-smi -L
python3 -m entrypoint.settings.vllm_options > "$out/vllm-options-0.26.0.json" 2> "$out/options.err" \
  || tail -5 "$out/options.err"
python3 -m entrypoint --dry-run --json --load-format dummy > "$out/dryrun.json" 2> "$out/dryrun.err"
echo "dry-run exit $?"; cat "$out/dryrun.err"
python3 -m entrypoint --dry-run --load-format dummy | tee "$out/dryrun.txt" | head -3
bash scripts/gpu/serve_bench.sh run-default -- python3 -m entrypoint --load-format dummy
QUANTIZATION=fp8 bash scripts/gpu/serve_bench.sh run-fp8 -- python3 -m entrypoint --load-format dummy

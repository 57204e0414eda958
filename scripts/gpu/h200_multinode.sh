#!/usr/bin/env bash
# Issue 11 step 6: two Ray nodes on one host (a network namespace and a GPU each), both started by
# `run` with the generic multi-node variables; the head serves, then the worker's node is killed.
set -uo pipefail
source scripts/gpu/env.sh
out=${OUT:-/tmp/out}; mkdir -p "$out"; log="$out/multinode.log"
# No iproute2 on the GPU machine: pyroute2 (carried) makes the namespaces, nsenter enters them.
in_ns() { local ns=$1; shift; nsenter --net=/var/run/netns/$ns "$@"; }
python3 scripts/gpu/netns.py up || { echo "no network namespaces here"; exit 3; }
cleanup() { python3 scripts/gpu/netns.py down; }
trap cleanup EXIT
# One physical host: NCCL would see one host (same hostname and boot id) and reach for shared
# memory and CUDA IPC through abstract sockets, which network namespaces separate. Real nodes are
# separate hosts; here NCCL is told to use the network path between the two "hosts".
group="NNODES=2 MASTER_ADDR=10.88.0.1 MULTINODE_TIMEOUT=300 NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 NCCL_CUMEM_ENABLE=0"
for r in 0 1; do
  ns=$([ $r = 0 ] && echo rh || echo rw)
  in_ns $ns env $group NODE_RANK=$r CUDA_VISIBLE_DEVICES=$r python3 -m entrypoint \
    --dry-run --load-format dummy --max-model-len 4096 > "$out/dryrun-rank$r.txt" 2>&1
done
in_ns rh env $group NODE_RANK=0 CUDA_VISIBLE_DEVICES=0 python3 -m entrypoint \
  --load-format dummy --max-model-len 4096 > "$out/head.log" 2>&1 &
head=$!
sleep 5
in_ns rw env $group NODE_RANK=1 CUDA_VISIBLE_DEVICES=1 python3 -m entrypoint \
  --load-format dummy --max-model-len 4096 > "$out/worker.log" 2>&1 &
start=$(date +%s)
for _ in $(seq 1 420); do
  in_ns rh curl -sf -o /dev/null 10.88.0.1:8501/health && break
  kill -0 $head 2>/dev/null || break; sleep 1
done
echo "head healthy after $(( $(date +%s) - start )) s (head alive: $(kill -0 $head 2>/dev/null && echo yes || echo no))" | tee -a "$log"
in_ns rh python3 - <<'PY' 2>&1 | tee -a "$log"
import openai
c = openai.OpenAI(base_url="http://10.88.0.1:8501/v1", api_key="none")
m = c.models.list().data[0].id
r = c.chat.completions.create(model=m, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
print("chat through the head:", m, r.choices[0].finish_reason, r.usage.completion_tokens, "tokens")
PY
killed=$(date +%s.%N)
python3 scripts/gpu/netns.py kill rw
echo "killed every process of the worker node (rank 1)" | tee -a "$log"
wait $head; code=$?
echo "head exited with $code, $(python3 -c "import time; print(round(time.time() - $killed, 1))") s after the worker node died" | tee -a "$log"
grep -E "executor|distributed|pipeline_parallel|Ray|ray" "$out/head.log" | grep -vi warn | cut -c1-240 | head -15 >> "$log"

#!/usr/bin/env bash
# Issue 11 step 6: two Ray nodes on one host (a network namespace and a GPU each), both started by
# `run` with the generic multi-node variables; the head serves, then the worker's node is killed.
set -uo pipefail
source scripts/gpu/env.sh
out=${OUT:-/tmp/out}; mkdir -p "$out"; log="$out/multinode.log"
cleanup() { for n in rh rw; do ip netns pids $n 2>/dev/null | xargs -r kill -9; ip netns del $n 2>/dev/null; done; }
trap cleanup EXIT
ip netns add rh && ip netns add rw && ip link add vh type veth peer name vw \
  && ip link set vh netns rh && ip link set vw netns rw \
  && ip -n rh addr add 10.88.0.1/24 dev vh && ip -n rw addr add 10.88.0.2/24 dev vw \
  && for n in rh rw; do ip -n $n link set lo up; done \
  && ip -n rh link set vh up && ip -n rw link set vw up || { echo "no network namespaces here"; exit 3; }
group="NNODES=2 MASTER_ADDR=10.88.0.1 MULTINODE_TIMEOUT=300"
for r in 0 1; do
  ns=$([ $r = 0 ] && echo rh || echo rw)
  ip netns exec $ns env $group NODE_RANK=$r CUDA_VISIBLE_DEVICES=$r python3 -m entrypoint \
    --dry-run --load-format dummy --max-model-len 4096 > "$out/dryrun-rank$r.txt" 2>&1
done
ip netns exec rh env $group NODE_RANK=0 CUDA_VISIBLE_DEVICES=0 python3 -m entrypoint \
  --load-format dummy --max-model-len 4096 > "$out/head.log" 2>&1 &
head=$!
sleep 5
ip netns exec rw env $group NODE_RANK=1 CUDA_VISIBLE_DEVICES=1 python3 -m entrypoint \
  --load-format dummy --max-model-len 4096 > "$out/worker.log" 2>&1 &
start=$(date +%s)
for _ in $(seq 1 420); do
  ip netns exec rh curl -sf -o /dev/null 10.88.0.1:8501/health && break
  kill -0 $head 2>/dev/null || break; sleep 1
done
echo "head healthy after $(( $(date +%s) - start )) s (head alive: $(kill -0 $head 2>/dev/null && echo yes || echo no))" | tee -a "$log"
ip netns exec rh python3 - <<'PY' 2>&1 | tee -a "$log"
import openai
c = openai.OpenAI(base_url="http://10.88.0.1:8501/v1", api_key="none")
m = c.models.list().data[0].id
r = c.chat.completions.create(model=m, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
print("chat through the head:", m, r.choices[0].finish_reason, r.usage.completion_tokens, "tokens")
PY
killed=$(date +%s.%N)
ip netns pids rw | xargs -r kill -9
echo "killed every process of the worker node (rank 1)" | tee -a "$log"
wait $head; code=$?
echo "head exited with $code, $(python3 -c "import time; print(round(time.time() - $killed, 1))") s after the worker node died" | tee -a "$log"
grep -E "executor|distributed|pipeline_parallel|Ray|ray" "$out/head.log" | grep -vi warn | cut -c1-240 | head -15 >> "$log"

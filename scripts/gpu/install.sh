#!/usr/bin/env bash
# install.sh N [install]: add carried part N to /tmp/c; with `install`, put vLLM 0.26.0 together.
# Run from the repository root that holds .carry/ (parts made as docs/gpu.md says).
set -euo pipefail
mkdir -p /tmp/c
cp -r ".carry/p$1"/* /tmp/c/
if [ "${2:-}" = install ]; then
  [ -d /tmp/model8b ] || cp -r .carry/model8b /tmp/model8b
  cd /tmp/c
  cat vpart.* > vllm-0.26.0-cp38-abi3-manylinux_2_28_x86_64.whl
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
    deps/*.whl vllm-0.26.0-*.whl
  echo "installed into /tmp/site: $(ls /tmp/site | grep -c dist-info) distributions"
fi
ls /tmp/c | tr '\n' ' '; echo

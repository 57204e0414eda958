#!/usr/bin/env bash
# install.sh N [deps|install]: add carried part N to $C (and the 8B-shape model folder when it
# is carried); `deps` installs the dependency wheels (part 0) into $SITE now (the converter
# needs `gguf` before vLLM is whole); `install` puts vLLM 0.26.0 together and installs it.
# Run from the repository root that holds .carry/ (parts made by scripts/gpu/make_parts.sh).
set -euo pipefail
SITE=${SITE:-/tmp/site} C=${C:-/tmp/c}  # other folders only for a rehearsal
mkdir -p $C
cp -r ".carry/p$1"/* $C/
[ -d .carry/model8b ] && [ ! -d /tmp/model8b ] && cp -r .carry/model8b /tmp/model8b
# PIP_ARGS: only for a rehearsal elsewhere (another Python: --python-version 3.12 --platform ...)
pipi() { python3 -m pip install -q --no-index --no-deps --no-compile --target $SITE ${PIP_ARGS:-} "$@"; }
if [ "${2:-}" = deps ] || { [ "${2:-}" = install ] && [ ! -f $SITE/.deps ]; }; then
  pipi $C/deps/*.whl
  touch $SITE/.deps
  echo "dependencies installed into $SITE: $(ls $SITE | grep -c dist-info) distributions"
fi
if [ "${2:-}" = install ]; then
  cd $C
  cat vpart.* > vllm-0.26.0-cp38-abi3-manylinux_2_28_x86_64.whl
  echo "$(cat wheel.sha256)  vllm-0.26.0-cp38-abi3-manylinux_2_28_x86_64.whl" | sha256sum -c --quiet \
    || { echo "install.sh: the vLLM pieces here ($(ls vpart.* | tr '\n' ' ')) do not make the wheel: a piece is missing (the machine was replaced between calls?); carry p1..p3 again"; exit 3; }
  pipi --upgrade vllm-0.26.0-*.whl
  echo "installed into $SITE: $(ls $SITE | grep -c dist-info) distributions"
fi
ls $C | tr '\n' ' '; echo

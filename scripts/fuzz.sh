#!/bin/sh
# The long fuzz run, outside CI: 5 in-process properties x EXAMPLES cases + EXAMPLES/200 real
# `run --dry-run` processes, fresh random cases (FUZZ_SEED). Default: 4000 -> 20 020 cases.
# Usage: scripts/fuzz.sh [EXAMPLES]
set -eu
EXAMPLES="${1:-4000}"
cd "$(dirname "$0")/.."
FUZZ_EXAMPLES="$EXAMPLES" FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}" \
  "${PYTHON:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/rules/test_fuzz_inputs.py \
  --hypothesis-show-statistics
echo "fuzz: $((EXAMPLES * 5 + EXAMPLES / 200)) cases (FUZZ_EXAMPLES=$EXAMPLES)"

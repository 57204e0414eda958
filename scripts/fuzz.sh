#!/bin/sh
# The long fuzz run, outside CI: 5 in-process properties x EXAMPLES cases + EXAMPLES/200 real
# `run --dry-run` processes, fresh random cases (FUZZ_SEED). Default: 4000 -> 20 020 cases.
# The generator (tests/rules/test_fuzz_inputs.py) draws every knob's variable and flag, HOME, the
# port variables platforms set (PORT, AIP_HTTP_PORT, SAGEMAKER_BIND_TO_PORT), folder settings
# that name a regular file, and non-ASCII secrets.
# Usage: scripts/fuzz.sh [EXAMPLES]
set -eu
EXAMPLES="${1:-4000}"
cd "$(dirname "$0")/.."
FUZZ_EXAMPLES="$EXAMPLES" FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}" \
  "${PYTHON:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/rules/test_fuzz_inputs.py \
  --hypothesis-show-statistics
echo "fuzz: $((EXAMPLES * 5 + EXAMPLES / 200)) cases (FUZZ_EXAMPLES=$EXAMPLES)"

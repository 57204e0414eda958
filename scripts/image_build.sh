#!/bin/sh
# Build an image without a Docker daemon or a registry: podman (vfs storage, chroot isolation)
# on a Debian 12 base made here from Debian's packages with mmdebstrap.
#
#   scripts/image_build.sh cpu|cuda|v100 [TAG]      (default tag: localhost/llm-serve:VARIANT)
#
# Installs podman, buildah and mmdebstrap with apt-get when they are missing (root, Debian).
# Caches under IMAGE_CACHE (default .cache/image): the base tar, pip's downloads, the CPU torch
# wheel. What differs from `docker build` on a user's machine: docs/images.md.
set -eu

VARIANT=${1:?usage: scripts/image_build.sh cpu|cuda|v100 [TAG]}
TAG=${2:-localhost/llm-serve:$VARIANT}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${IMAGE_CACHE:-$HERE/.cache/image}
BASE=localhost/debian:bookworm-mmdebstrap
PODMAN="$HERE/scripts/podman.sh"
PYTHON=${PYTHON:-python3}
say() { echo "==> image_build.sh $VARIANT: $*" >&2; }

case "$VARIANT" in
  cpu) DOCKERFILE=image/Dockerfile.cpu ;;
  cuda) DOCKERFILE=image/Dockerfile ;;
  v100) DOCKERFILE=image/Dockerfile.v100 ;;
  *) echo "image_build.sh: VARIANT=$VARIANT is not one of cpu, cuda, v100." >&2; exit 2 ;;
esac

missing=""
for tool in podman buildah mmdebstrap; do command -v "$tool" > /dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    echo "image_build.sh: missing:$missing; install them (Debian: apt-get install podman buildah mmdebstrap) or run as root." >&2
    exit 1
  fi
  say "installing$missing with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    podman buildah mmdebstrap uidmap ca-certificates
fi
mkdir -p "$CACHE/pip" "$CACHE/wheels"

# The base: what debian:bookworm-slim is (Debian 12's required packages), made from Debian's
# own repositories, since public registries may be out of reach.
if ! "$PODMAN" image exists "$BASE"; then
  if [ ! -s "$CACHE/debian-bookworm.tar" ]; then
    say "making the Debian 12 base with mmdebstrap (about a minute)"
    mmdebstrap --variant=minbase --mode=root --format=tar bookworm "$CACHE/debian-bookworm.tar.part" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    mv "$CACHE/debian-bookworm.tar.part" "$CACHE/debian-bookworm.tar"
  fi
  say "importing the base as $BASE"
  "$PODMAN" import --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$CACHE/debian-bookworm.tar" "$BASE" > /dev/null
fi

set -- --build-arg "BASE_IMAGE=$BASE" --build-arg PIP_CACHE=/pip-cache -v "$CACHE/pip:/pip-cache"
# A machine behind a TLS-inspecting proxy trusts its certificate through pip's `cert` setting:
# lend that bundle to the build's pip through a mounted /etc/pip.conf (nothing lands in a layer).
cert=${PIP_CERT:-$("$PYTHON" -m pip config get global.cert 2> /dev/null || true)}
if [ -n "$cert" ] && [ -f "$cert" ]; then
  printf '[global]\ncert = /etc/ssl/build-ca.pem\n' > "$CACHE/pip.conf"
  set -- "$@" -v "$cert:/etc/ssl/build-ca.pem:ro" -v "$CACHE/pip.conf:/etc/pip.conf:ro"
fi
if [ "$VARIANT" = cpu ]; then
  # The CPU torch wheel the image pins, fetched by this machine's pip (PyTorch's CPU index, or
  # whatever index pip is configured with), then handed to the build as a folder.
  torch=$("$HERE/scripts/install.sh" cpu constraints | sed -n 's/^torch==\([^ ;#]*\).*/\1/p')
  if ! ls "$CACHE/wheels/torch-$torch+cpu-"*.whl > /dev/null 2>&1; then
    say "fetching the CPU build of torch $torch"
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --implementation cp \
      --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$CACHE/wheels" \
      --extra-index-url "${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" \
      "torch==$torch+cpu" || {
        echo "image_build.sh: no CPU build of torch $torch for Python 3.11 could be fetched;" \
          "put torch-$torch+cpu-cp311-*.whl in $CACHE/wheels or set TORCH_INDEX." >&2
        exit 1
      }
  fi
  set -- "$@" --build-arg TORCH_INDEX= --build-arg TORCH_WHEELS=/wheels -v "$CACHE/wheels:/wheels:ro"
fi

say "building $TAG from $DOCKERFILE (podman, vfs, chroot isolation)"
start=$(date +%s)
cd "$HERE"
# docker format keeps HEALTHCHECK; no intermediate layers: vfs copies every layer whole.
"$PODMAN" build --isolation chroot --format docker --layers=false --pull=never \
  -f "$DOCKERFILE" -t "$TAG" "$@" .
end=$(date +%s)
size=$("$PODMAN" image inspect --format '{{.Size}}' "$TAG")
say "built $TAG in $((end - start)) s, $((size / 1000000)) MB"

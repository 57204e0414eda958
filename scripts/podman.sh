#!/bin/sh
# podman with this project's own image store, so builds here need no daemon and share nothing
# with other users of the machine: vfs storage (works on any filesystem, in any VM) under
# IMAGE_STORE (default .cache/image/store).   scripts/podman.sh images | build | image mount ...
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
STORE=${IMAGE_STORE:-$HERE/.cache/image/store}
exec podman --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "$@"

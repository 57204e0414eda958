"""Which merged copy a LoRA adapter gets (read step; the merge itself is a launch step,
`entrypoint.launch.merge_lora`).

The merged model goes into the cache under a name made from the base and the adapter's files
(names, sizes, modification times), so a restart with the same adapter reuses it and a retrained
adapter gets a fresh merge.
"""

from __future__ import annotations

from pathlib import Path


def fingerprint(base: Path, adapter: Path) -> str:
    import hashlib  # only for an adapter with MERGE_LORA: kept off the usual start

    digest = hashlib.sha256(str(base.resolve()).encode())
    for folder in (adapter, base):
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]

"""Generate the table of model architectures a vLLM release can load (run at build time).

Read from vLLM's own model registry (`vllm/model_executor/models/registry.py`) as source text,
with `ast`, so nothing of vLLM is imported and a release that is not installed (a downloaded
wheel, a source checkout) can be read the same way:

- `native`: every architecture in the registry's model tables (`_TEXT_GENERATION_MODELS`,
  `_MULTIMODAL_MODELS`, ...);
- `transformers_backend`: `_TRANSFORMERS_SUPPORTED_MODELS`, which vLLM maps to its Transformers
  backend itself (it loads with no flag, slower than a native implementation);
- `previously_supported`: `_PREVIOUSLY_SUPPORTED_MODELS`, architecture -> last release that had it;
- `plugins`: `_OOT_SUPPORTED_MODELS`, architecture -> the out-of-tree plugin that serves it;
- `transformers_fallback`: Transformers classes outside the registry that pass the checks vLLM
  makes before it serves one through `--model-impl transformers` (`is_backend_compatible()` or
  `_can_set_attn_implementation()`; for a multimodal class, a processor that answers
  `_get_num_multimodal_tokens`). This part depends on the installed `transformers`, whose version
  the table records.

The plan reads the result (`entrypoint/catalogs/architectures.py`) without importing vLLM.

    python -m entrypoint.devtools.architecture_table            # print the installed vLLM's table
    python -m entrypoint.devtools.architecture_table --write    # ship it in catalogs/data/
    python -m entrypoint.devtools.architecture_table --registry PATH --version V \
        [--source "where PATH came from"] [--write]
"""

from __future__ import annotations

import ast
import json
import sys
from importlib import metadata
from pathlib import Path

from entrypoint.catalogs.architectures import DATA_DIR, table_path
from entrypoint.settings import vllm_options

REGISTRY = "vllm/model_executor/models/registry.py"
NOT_NATIVE = {"_TRANSFORMERS_SUPPORTED_MODELS", "_TRANSFORMERS_BACKEND_MODELS",
              "_PREVIOUSLY_SUPPORTED_MODELS", "_OOT_SUPPORTED_MODELS"}
# Transformers' auto tables whose classes vLLM's Transformers backend can stand in for.
AUTO_TABLES = ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
               "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES")


def _dicts(source: str) -> dict[str, ast.Dict]:
    """Top-level `_NAME = {...}` assignments of the registry module."""
    found = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
            found[target.id] = node.value
    return found


def _keys(table: ast.Dict) -> list[str]:
    # `**other` entries have key None: they repeat tables read on their own.
    return [k.value for k in table.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]


def _literal(table: ast.Dict | None) -> dict[str, str]:
    if table is None:
        return {}
    return {k.value: v.value for k, v in zip(table.keys, table.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)}


def read_registry(source: str) -> dict:
    tables = _dicts(source)
    models = {name: t for name, t in tables.items()
              if name.startswith("_") and name.endswith("_MODELS") and name != "_VLLM_MODELS"}
    native = sorted({k for name, t in models.items() if name not in NOT_NATIVE for k in _keys(t)})
    backend = tables.get("_TRANSFORMERS_SUPPORTED_MODELS")
    return {
        "native": native,
        "transformers_backend": sorted(_keys(backend)) if backend else [],
        "previously_supported": dict(sorted(_literal(tables.get(
            "_PREVIOUSLY_SUPPORTED_MODELS")).items())),
        "plugins": dict(sorted(_literal(tables.get("_OOT_SUPPORTED_MODELS")).items())),
    }


def _processor_counts_tokens(model_type: str) -> bool:
    """vLLM's Transformers backend sizes image prompts with this processor method."""
    import transformers
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    name = PROCESSOR_MAPPING_NAMES.get(model_type)
    cls = getattr(transformers, name, None) if isinstance(name, str) else None
    return cls is not None and hasattr(cls, "_get_num_multimodal_tokens")


def transformers_fallback(registered: set[str]) -> list[str]:
    """Classes outside vLLM's registry that vLLM would accept for its Transformers backend."""
    import transformers
    from transformers.models.auto import modeling_auto

    multimodal = {n for t in AUTO_TABLES[1:] for n in getattr(modeling_auto, t, {}).values()}
    found = set()
    for table in AUTO_TABLES:
        for model_type, name in getattr(modeling_auto, table, {}).items():
            if not isinstance(name, str) or name in registered or name in found:
                continue
            try:
                cls = getattr(transformers, name)
                usable = cls.is_backend_compatible() or cls._can_set_attn_implementation()
                if usable and name in multimodal:
                    usable = _processor_counts_tokens(model_type)
            except Exception:  # a class whose optional dependency is missing is not usable
                usable = False
            if usable:
                found.add(name)
    return sorted(found)


def installed_registry() -> tuple[str, Path]:
    """(version, registry.py) of the installed vLLM, found through package metadata."""
    for dist in vllm_options.VLLM_DISTS:
        try:
            found = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            continue
        return found.version, Path(str(found.locate_file(REGISTRY)))
    raise SystemExit("no vLLM installed: pass --registry PATH --version V")


def build_table(version: str, registry: Path, made_by: str) -> dict:
    import transformers

    table = {"version": version, "made_by": made_by, **read_registry(registry.read_text())}
    registered = set(table["native"]) | set(table["transformers_backend"])
    table["transformers"] = transformers.__version__
    table["transformers_fallback"] = transformers_fallback(registered)
    return table


def main(argv: list[str]) -> None:
    if "--registry" in argv:
        registry = Path(argv[argv.index("--registry") + 1])
        version = argv[argv.index("--version") + 1]
        made_by = (f"read from {registry.name} of vLLM {version} (source text, not imported) "
                   "by entrypoint/devtools/architecture_table.py --registry")
        if "--source" in argv:  # where that registry.py came from
            made_by += "; " + argv[argv.index("--source") + 1]
    else:
        version, registry = installed_registry()
        made_by = (f"read from the installed vLLM {version}'s {REGISTRY} by "
                   "entrypoint/devtools/architecture_table.py at install time")
    table = build_table(version, registry, made_by)
    text = json.dumps(table, indent=1) + "\n"
    if "--write" in argv:
        shipped = table_path(DATA_DIR, version)
        if not shipped.exists():  # a table shipped with the package stays as reviewed
            shipped.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])

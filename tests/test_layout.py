"""The package's shape: folders in the order of the flow, no import circle, serve-time code apart.

Read from the source with `ast` (every import, at any depth: a function-level import is still a
dependency), so the check covers what lazy imports hide.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "entrypoint"
# A folder may import from its own folder and from the folders listed for it, nothing else.
ALLOWED = {
    "errors": set(),
    "settings": {"errors", "catalogs", "facts"},
    "catalogs": {"errors", "facts"},
    "facts": {"errors"},
    "serve": set(),
    "plan": {"errors", "settings", "facts"},
    "rules": {"errors", "settings", "facts", "catalogs", "plan", "serve"},
    "launch": {"errors", "plan", "facts"},
    # The demo build converts its GGUF with the launch's own converter (launch/gguf_convert.py).
    "devtools": {"errors", "settings", "catalogs", "facts", "rules", "launch"},
    "cli": {"errors", "settings", "facts", "catalogs", "rules", "plan", "launch"},
    "__main__": {"cli"},
    "healthcheck": {"errors", "settings"},  # the image's HEALTHCHECK command
}
# Inside vLLM's own process: the standard library (and vLLM itself for the serve shim).
SERVE_MAY_IMPORT = set(sys.stdlib_module_names) | {"vllm", "entrypoint"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import (use entrypoint.<folder>.<module>)"
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name}
            for name, path in modules.items()}


def folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "entrypoint"


def test_no_import_circle():
    edges = graph()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        for target in sorted(edges[node]):
            if not target.endswith("__init__") and target.count(".") >= 1:
                visit(target, [*path, node])
        done.add(node)

    for start in sorted(edges):
        visit(start, [])


def test_folders_import_only_what_comes_before_them():
    wrong = []
    for module, targets in graph().items():
        here = folder(module)
        for target in targets:
            there = folder(target)
            if there not in (here, "entrypoint") and there not in ALLOWED.get(here, set()):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_serve_code_imports_only_the_standard_library():
    for path in (PACKAGE / "serve").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top in SERVE_MAY_IMPORT, f"{path.name} imports {name}"
            if top == "entrypoint":
                assert name.startswith("entrypoint.serve"), f"{path.name} imports {name}"


def test_every_import_of_the_package_resolves():
    """Function-level imports run late: a stale path shows up only on that code path."""
    import importlib.util

    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("entrypoint"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"), f"{path.name}: {node.module}.{alias.name}"

"""Every message `run` can stop with, read from the code: docs/troubleshooting.md is generated.

Each `UserError(...)` call under entrypoint/ is one message. Its text is rebuilt from the
source (f-string parts become `<placeholders>` named after the expression), so the page lists
exactly what the code can print, and a new message appears on the page with `make docs`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
TROUBLESHOOTING = PACKAGE.parent / "docs" / "troubleshooting.md"


@dataclass(frozen=True)
class ErrorMessage:
    module: str  # "model_dir.py"
    function: str  # the function that raises it, "<module>" at the top level
    line: int
    text: str  # the message with <placeholders> for the parts filled in at run time

    @property
    def fix(self) -> str:
        """The message's own advice ("X; do Y." or "X: use Y."), else a hint written here."""
        for separator in ("; ", ": use "):
            _, found, advice = self.text.partition(separator)
            if found:
                advice = "use " + advice if separator == ": use " else advice
                return advice if advice[1:2].isupper() else advice[:1].upper() + advice[1:]
        return FIX_HINTS.get(f"{self.module}:{self.function}", "")


# Fixes for messages whose advice is filled in at run time, keyed by "module:function".
FIX_HINTS = {
    "settings/given.py:validate": "Give the value in the form the settings table in README.md "
                                  "lists for that variable or flag.",
    "settings/argv.py:pop_values": "Put the value right after the flag (`--max-model-len 4096`).",
    "settings/argv.py:_opposite": "Leave the flag out to keep vLLM's default, or upgrade vLLM.",
}


def placeholder(node: ast.expr, constants: dict[str, str]) -> str:
    """`<path>` for {path}, `<label>` for {label!r}, `<type>` for {type(x).__name__}; names of
    string constants (BOOL_WORDS_HELP) become their text."""
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):
            return placeholder(node.value, constants)
        return f"<{node.attr}>"
    if isinstance(node, ast.Call):
        # type(x) -> <type>; ctx.label("tp") -> <tp>; "sep".join(items) and helpers like
        # cap_text(needed) -> their argument; obj.method(...) -> <method>.
        func = node.func
        if isinstance(func, ast.Name) and func.id == "type":
            return "<type>"
        named = [a.value for a in node.args if isinstance(a, ast.Constant)
                 and isinstance(a.value, str)]
        if named and (isinstance(func, ast.Name) or getattr(func, "attr", "") == "label"):
            return f"<{named[0]}>"  # ctx.label("max_model_len")
        if node.args and (isinstance(func, ast.Name) or getattr(func, "attr", "") == "join"):
            return placeholder(node.args[0], constants)
        return placeholder(func, constants)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):  # tp * pp -> <tp x pp>
        left, right = placeholder(node.left, constants), placeholder(node.right, constants)
        return f"<{bare(left)} x {bare(right)}>"
    if isinstance(node, ast.BinOp):
        return placeholder(node.left, constants)
    if isinstance(node, ast.IfExp):  # 'is' if n == 1 else 'are' -> is/are; else the main case
        words = [n.value for n in (node.body, node.orelse) if isinstance(n, ast.Constant)]
        if len(words) == 2 and all(isinstance(w, str) for w in words):
            return "/".join(words)
        return placeholder(node.body, constants)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):  # (a.name for a in x)
        return placeholder(node.elt, constants)
    if isinstance(node, ast.BoolOp):
        return placeholder(node.values[0], constants)
    if isinstance(node, ast.Subscript):  # row["hint"] -> <hint>; items[0] -> <items>
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return f"<{key.value}>"
        return placeholder(node.value, constants)
    if isinstance(node, ast.Name):
        return f"<{node.id}>"
    return f"<{ast.unparse(node)}>"


def bare(text: str) -> str:
    return text.removeprefix("<").removesuffix(">")


def render(node: ast.expr, constants: dict[str, str]) -> str:
    """The text a message expression produces, with run-time parts as placeholders."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(render(part, constants) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return placeholder(node.value, constants)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return render(node.left, constants) + render(node.right, constants)
    return placeholder(node, constants)


def string_constants(trees: list[ast.Module]) -> dict[str, str]:
    """Top-level `NAME = "text"` assignments of the package, for messages that embed them."""
    found = {}
    for tree in trees:
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                found[node.targets[0].id] = node.value.value
    return found


def called_name(node: ast.Call) -> str | None:
    callee = node.func
    return callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str, constants: dict[str, str], tree: ast.Module):
        self.module, self.constants = module, constants
        self.helpers = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        self.scope, self.found = ["<module>"], []

    def _visit_scope(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_scope

    def visit_Call(self, node: ast.Call):
        name = called_name(node)
        if name == "UserError" and node.args:
            for text in self.texts(node.args[0]):
                self.found.append(ErrorMessage(self.module, self.scope[-1], node.lineno,
                                               " ".join(text.split())))
        self.generic_visit(node)

    def texts(self, message: ast.expr) -> list[str]:
        """A message built by a helper of this module (`UserError(self.explain(...))`) is each
        text the helper can return."""
        helper = self.helpers.get(called_name(message)) if isinstance(message, ast.Call) else None
        if helper is None:
            return [render(message, self.constants)]
        returns = [n.value for n in ast.walk(helper) if isinstance(n, ast.Return) and n.value]
        return [render(value, self.constants) for value in returns]


def scan(package: Path = PACKAGE) -> list[ErrorMessage]:
    paths = sorted(package.rglob("*.py"))
    trees = [ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in paths]
    constants = string_constants(trees)
    messages = []
    for path, tree in zip(paths, trees, strict=True):
        finder = _Finder(path.relative_to(package).as_posix(), constants, tree)
        finder.visit(tree)
        messages += finder.found
    return messages


HEADER = """\
# Troubleshooting: every message `run` can stop with

<!-- Generated from the code by `make docs` (entrypoint/devtools/error_catalog.py); do not edit. -->

When the settings, the model folder or the hardware make a correct launch impossible, `run`
stops before the model loads, prints one line to stderr and exits with code 2:

```
run: MAX_MODEL_LEN='4k8' is not valid: expected a whole number such as 8192 or 32k.
```

With `--dry-run --json` the same sentence is also printed as `{"error": "..."}` on stdout.
Nothing has been started or written when this happens: fix the input and start again.
Below, `<name>` marks a part filled in at run time (the variable, flag or path involved).
Messages from vLLM itself (after `run` hands over) are not listed here; see the guide's
troubleshooting section.
"""


def render_page(messages: list[ErrorMessage]) -> str:
    parts = [HEADER]
    module = None
    for message in messages:
        if message.module != module:
            module = message.module
            parts.append(f"\n## From `entrypoint/{module}`\n")
        parts.append(f"- `{message.text}`")
        parts.append(f"  - raised in `{message.function}`"
                     + (f"; fix: {message.fix}" if message.fix else ""))
    return "\n".join(parts) + "\n"


def troubleshooting_page() -> str:
    return render_page(scan())

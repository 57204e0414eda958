"""Will vLLM's Transformers backend take the model's own code? Read from the code's text at plan
time, by the test vLLM itself applies when it resolves an architecture its registry lacks
(`_try_resolve_transformers` in vllm/model_executor/models/registry.py, 0.32/0.33):

- the module auto_map names must exist in the model folder (vLLM imports it from there);
- the class must declare `_supports_attention_backend = True`, or its module must either define
  no `class *Attention*(nn.Module)` or call `ALL_ATTENTION_FUNCTIONS.get_interface(`
  (transformers' `_can_set_attn_implementation` heuristic, which vLLM asks).

Otherwise vLLM stops at load with "not supported for now" after the image has started.
"""

from __future__ import annotations

import re

ATTENTION_CLASS = re.compile(r"^class \w*Attention\w*\(nn\.Module\):", re.MULTILINE)
DECLARED = re.compile(r"^\s+_supports_attention_backend\s*=\s*True\b", re.MULTILINE)
INTERFACE = "ALL_ATTENTION_FUNCTIONS.get_interface("


def unfit(code: dict[str, str | None]) -> str | None:
    """Why the backend would refuse this code (a clause), or None when it may take it."""
    for name, text in code.items():
        if text is None:
            return f"config.json's auto_map names {name}, which the model folder does not hold"
        if DECLARED.search(text) or INTERFACE in text:
            continue
        found = ATTENTION_CLASS.search(text)
        if found:
            written = found.group(0).removeprefix("class ").removesuffix(":")
            return (f"its own code ({name}) defines {written} without Transformers' attention "
                    f"interface, which vLLM's Transformers backend requires")
    return None

"""Say in the plan whether code from the model directory will run (TRUST_REMOTE_CODE)."""

from __future__ import annotations

from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide, warn

# Files whose `auto_map` names Python classes shipped inside the model directory.
AUTO_MAP_FILES = ("config.json", "tokenizer_config.json")


def custom_code(ctx: Context) -> list[str]:
    """`module.Class` references in auto_map (`repo--module.Class` fetches another repo's)."""
    found: list[str] = []
    for name in AUTO_MAP_FILES:
        data = ctx.model.config if name == "config.json" else ctx.model.files.get(name, {})
        auto_map = data.get("auto_map")
        if not isinstance(auto_map, dict):
            continue
        for target in auto_map.values():
            targets = target if isinstance(target, list) else [target]
            found += [t for t in targets if isinstance(t, str)]
    return list(dict.fromkeys(found))


def explain(ctx: Context) -> Outcome:
    code = custom_code(ctx)
    decision = ctx.decided["trust_remote_code"]
    if not code:
        return decide("trust_remote_code", decision.value, decision.source,
                      decision.reason + "; the model dir ships no custom code (no auto_map)")
    listed = ", ".join(code[:3]) + (" ..." if len(code) > 3 else "")
    if decision.value:
        return decide("trust_remote_code", True, decision.source,
                      f"{decision.reason}; Python code from the model dir WILL run ({listed})")
    return warn(
        f"The model dir ships its own code ({listed}) but TRUST_REMOTE_CODE is off; vLLM may"
        " refuse to load it. Set TRUST_REMOTE_CODE=true if you trust this model's files."
    )

"""The plan as the page at `/` shows it: `Plan.to_json()` (secrets masked) plus a summary.

Written to the file the `rules.page` rule reserved, once the plan is complete.
"""

from __future__ import annotations

import json
from typing import Any

from entrypoint.plan.plan import MASK, Plan
from entrypoint.serve.names import PLAN_ENV


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """What a person looks for first: which model, under which name, which family and why."""
    settings, facts = data["settings"], data["facts"]
    family = settings.get("conv_template", {})
    served = settings.get("served_model_name", {}).get("value") or facts.get("model")

    def value(name: str) -> Any:
        return settings.get(name, {}).get("value")

    return {
        "model": facts.get("model"),
        "served_name": served,
        "family": family.get("value"),
        "family_reason": family.get("reason"),
        "vllm": facts.get("vllm"),
        "gpus": facts.get("gpus"),
        "context": f"{value('max_model_len')} tokens, {value('dtype')}",
        "parallel": f"tensor {value('tensor_parallel_size')} × pipeline "
                    f"{value('pipeline_parallel_size')}",
        "quantization": value("quantization") or "none",
    }


def page_json(plan: Plan) -> str:
    """The page's copy of the plan, with every secret masked, even in facts and summary."""
    data = plan.to_json()
    text = json.dumps({**data, "summary": summary(data)}, indent=1)
    for secret in plan.secret_values:  # longest first; also as JSON escapes them
        text = text.replace(json.dumps(secret)[1:-1], MASK).replace(secret, MASK)
    return text


def attach(plan: Plan) -> None:
    """Fill in the reserved plan file (when the page is on)."""
    path = plan.env.get(PLAN_ENV)
    if path is not None:
        plan.files[path] = page_json(plan)

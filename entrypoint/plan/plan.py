"""The plan: the exact vLLM command, its environment, warnings, and where every value came from."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from entrypoint.plan.node_role import NodeRole
from entrypoint.plan.steps import Step
from entrypoint.settings.knobs import KNOBS, is_secret_name
from entrypoint.settings.provenance import Decision

MASK = "***"


def is_secret_knob(name: str) -> bool:
    return name in KNOBS and KNOBS[name].secret


@dataclass
class Plan:
    argv: list[str]
    env_settings: dict[str, Decision]  # variables set for vLLM on top of the inherited ones
    settings: dict[str, Decision]
    warnings: list[str]
    facts: dict[str, str] = field(default_factory=dict)  # shown in dry-run: GPUs, model, vLLM
    files: dict[str, str] = field(default_factory=dict)  # written by launch; dry-run lists paths
    secret_values: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)  # run by launch before exec, in order
    multinode: NodeRole | None = None  # on a node of a multi-node group

    @property
    def env(self) -> dict[str, str]:
        return {name: decision.value for name, decision in self.env_settings.items()}

    def masked(self, text: str) -> str:
        for secret in self.secret_values:
            text = text.replace(secret, MASK)
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": [self.masked(arg) for arg in self.argv],
            "env": {k: MASK if is_secret_name(k) else self.masked(v) for k, v in self.env.items()},
            "env_settings": {
                name: {"value": MASK if is_secret_name(name) else self.masked(d.value),
                       "source": d.source, "reason": d.reason}
                for name, d in self.env_settings.items()
            },
            "settings": {
                name: {"value": MASK if is_secret_knob(name) and d.value is not None else d.value,
                       "source": d.source, "reason": d.reason}
                for name, d in self.settings.items()
            },
            "warnings": [self.masked(w) for w in self.warnings],
            "facts": self.facts,
            "files": sorted(self.files),
            "steps": [self.masked(step.describe()) for step in self.steps],
            **({"node": node_json(self.multinode)} if self.multinode else {}),
        }

    def render_text(self) -> str:
        data = self.to_json()
        lines = ["Command:", "  " + shlex.join(data["argv"])]
        if self.multinode:
            lines = node_lines(data["node"], data["argv"])
        if data["env"]:
            lines += ["Environment for vLLM:"]
            lines += [f"  {k}={e['value']}  # {e['source']}: {e['reason']}"
                      for k, e in data["env_settings"].items()]
        lines += ["Facts:"] + [f"  {k}: {v}" for k, v in self.facts.items()]
        lines += ["Settings:"]
        width = max(len(name) for name in data["settings"])
        for name, entry in data["settings"].items():
            value = entry["value"]
            value = value if isinstance(value, str) else json.dumps(value)
            lines.append(f"  {name:<{width}}  {value:<14} {entry['source']:<8} {entry['reason']}")
        lines += ["Before vLLM starts:"] * bool(data["steps"]) + [f"  {s}" for s in data["steps"]]
        lines += ["Files written before the start:"] * bool(data["files"])
        lines += [f"  {path}" for path in data["files"]]
        lines += [f"Warning: {w}" for w in data["warnings"]]
        return "\n".join(lines)


def node_json(node) -> dict[str, Any]:
    return {
        "role": node.role, "backend": node.backend, "convention": node.spec.convention,
        "nodes": node.spec.nodes, "rank": node.spec.rank, "head": node.spec.head_address,
        "ray_address": node.spec.ray_address, "gpus_per_node": node.gpus_per_node,
        "timeout_s": node.timeout, "runs_vllm": node.runs_vllm, "summary": node.describe(),
        "ray_start": node.ray_start_argv(node.spec.route) if node.starts_ray else None,
    }


def node_lines(node: dict[str, Any], argv: list[str]) -> list[str]:
    lines = ["Node:"] + [f"  {line}" for line in node["summary"]]
    if node["ray_start"]:
        lines += ["Ray daemon (started first, then supervised):",
                  "  " + shlex.join(node["ray_start"])]
    lines += ["Command:"]
    if node["runs_vllm"]:
        lines += ["  " + shlex.join(argv)]
    else:
        lines += ["  (none: vLLM runs on rank 0; this node only lends its GPUs to Ray)"]
    return lines

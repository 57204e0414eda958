"""What a rule decides: an `Outcome`, a frozen value the table folds into the plan in rule order.

A rule never writes anywhere; it returns what it decided, built with the helpers below and joined
with `+` (later entries win for settings, facts, env and files; warnings, flags and steps add up):

    return decide("dtype", "float16", Source.HARDWARE, "no bfloat16") + warn("dtype changed ...")

A refusal is `raise UserError(one sentence naming the input and the fix)`: nothing is planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from entrypoint.plan.node_role import NodeRole
from entrypoint.plan.steps import Step
from entrypoint.settings.argv import PassFlag
from entrypoint.settings.provenance import Decision, Source

NONE: Mapping = MappingProxyType({})


def _none() -> Mapping:
    return NONE


@dataclass(frozen=True)
class Outcome:
    # run's settings (knobs), decided or re-decided
    settings: Mapping[str, Decision] = field(default_factory=_none)
    flags: tuple[tuple[PassFlag, Decision], ...] = ()  # vLLM flags beyond the knobs' own
    # variables for vLLM, unless the user set them already
    env: Mapping[str, Decision] = field(default_factory=_none)
    # run's channels to its own middleware (the page's plan file, key digests): always set
    own_env: Mapping[str, Decision] = field(default_factory=_none)
    warnings: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=_none)  # shown by --dry-run: estimates, gates
    files: Mapping[str, str] = field(default_factory=_none)  # path -> content, written at launch
    steps: tuple[Step, ...] = ()  # launch steps before exec, in order
    secrets: tuple[str, ...] = ()  # values masked wherever the plan is shown
    dropped_flags: tuple[str, ...] = ()  # pass-through options kept from vLLM
    multinode: NodeRole | None = None

    def __post_init__(self) -> None:  # frozen all the way down: a rule's outcome never changes
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, dict):
                object.__setattr__(self, item.name, MappingProxyType(value))
            elif isinstance(value, list):
                object.__setattr__(self, item.name, tuple(value))

    def __add__(self, other: Outcome | None) -> Outcome:
        if other is None:
            return self
        joined: dict[str, Any] = {}
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, tuple):
                joined[item.name] = mine + theirs
            elif item.name == "multinode":
                joined[item.name] = theirs or mine
            else:
                joined[item.name] = MappingProxyType({**mine, **theirs}) if theirs else mine
        return Outcome(**joined)

    __radd__ = __add__  # so `sum(outcomes, NOTHING)` and `None + outcome` work


NOTHING = Outcome()


def decide(name: str, value: Any, source: Source, reason: str) -> Outcome:
    return Outcome(settings={name: Decision(value, source, reason)})


def warn(*texts: str) -> Outcome:
    return Outcome(warnings=texts)


def fact(name: str, text: str) -> Outcome:
    return Outcome(facts={name: text})


def env(name: str, value: str, reason: str, source: Source = Source.HARDWARE) -> Outcome:
    """A variable for vLLM; the fold keeps the user's own value when they set it."""
    return Outcome(env={name: Decision(value, source, reason)})


def flag(option: str, values: tuple[str, ...] = (), *, source: Source, reason: str,
         value: Any = None) -> Outcome:
    """One vLLM flag and its plan row (the value shown defaults to the flag's values joined)."""
    shown = value if value is not None else (" ".join(values) or True)
    return Outcome(flags=((PassFlag(option, values), Decision(shown, source, reason)),))


def middleware(path: str, source: Source, reason: str) -> Outcome:
    """An ASGI middleware vLLM loads into its API server (`--middleware`, repeatable)."""
    return flag("--middleware", (path,), source=source, reason=reason, value=path)

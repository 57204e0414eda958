"""Where a value came from, and the one order in which sources win (pure, standard library only).

Precedence, highest first: a CLI flag, an environment variable, a settings file (Triton's
model.json), a value derived from the model or the hardware, the declared default. Every value
`run` shows or passes on is a `Decision`: the value, its `Source`, and a one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Source(StrEnum):
    """Declared in precedence order: an earlier member wins over a later one."""

    CLI = "cli"
    ENV = "env"
    FILE = "file"  # Triton's model.json
    MODEL = "model"  # derived from the model
    HARDWARE = "hardware"  # derived from the GPUs, the image or the cluster
    DEFAULT = "default"

    @property
    def from_user(self) -> bool:
        return self in USER_SOURCES

    @property
    def rank(self) -> int:
        """0 for the source that wins over every other."""
        return PRECEDENCE.index(self)


PRECEDENCE: tuple[Source, ...] = tuple(Source)
USER_SOURCES = frozenset({Source.CLI, Source.ENV, Source.FILE})


@dataclass(frozen=True)
class Decision:
    value: Any
    source: Source
    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.source, Source):  # a string source ("env") is a mistake
            raise TypeError(f"Decision source must be a Source, not {self.source!r}")

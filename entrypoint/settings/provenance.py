"""Where a value came from, and the one order in which sources win (pure, standard library only).

Precedence is the order `Source` declares its members in; README and `--help` say it through
`precedence_text`. A new source is one member (in its place) and its words in `SAYS`. Every value
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

    @property
    def says(self) -> str:
        """The source in words, for README and --help."""
        return SAYS[self]


PRECEDENCE: tuple[Source, ...] = tuple(Source)
USER_SOURCES = frozenset({Source.CLI, Source.ENV, Source.FILE})
SAYS = {
    Source.CLI: "CLI flag",
    Source.ENV: "environment variable",
    Source.FILE: "settings file (Triton's model.json)",
    Source.MODEL: "derived from the model",
    Source.HARDWARE: "derived from the hardware",
    Source.DEFAULT: "default",
}


def precedence_text() -> str:
    """The order in which sources win, highest first, as README and --help say it."""
    return " > ".join(source.says for source in PRECEDENCE)


@dataclass(frozen=True)
class Decision:
    value: Any
    source: Source
    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.source, Source):  # a string source ("env") is a mistake
            raise TypeError(f"Decision source must be a Source, not {self.source!r}")

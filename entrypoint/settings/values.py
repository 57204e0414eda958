"""The value types knobs declare: each turns one raw value (a string from the environment or
argv, a bool or number from a settings file) into the typed value, or says what is wrong (pure).

The messages are pydantic's wording for the same lax conversions (`Input should be ...`), which
`run` printed when it validated through pydantic; tests/settings/test_values.py holds the two
side by side. Standard library only: importing pydantic was the largest single cost of
`run --dry-run` (docs/benchmarks.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
BOOL_WORDS_HELP = "true/false, 1/0, yes/no or on/off"

_SIZE_SUFFIX = {"k": 1000, "m": 1000**2, "g": 1000**3, "K": 1024, "M": 1024**2, "G": 1024**3}
# pydantic-core's text forms: an int may carry `_` between digits and a `.0` tail; a float is
# Rust's float syntax (inf, nan, 5., .5, 1e3), with `_` between digits allowed as a fallback.
_INT_TEXT = re.compile(r"[+-]?([0-9](?:_?[0-9])*)(?:\.0+)?")
_FLOAT_TEXT = re.compile(r"[+-]?(?:inf|infinity|nan|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
                         r"(?:e[+-]?[0-9]+)?)", re.IGNORECASE)
_MAX_INT_DIGITS = 4300  # Python's and pydantic's bound on int(str)


class Invalid(ValueError):
    """What is wrong with a value, as one phrase (the caller names the input)."""


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid(f"expected {BOOL_WORDS_HELP}")


def parse_token_count(raw: Any) -> int:
    """An int, or vLLM's human-readable form: 32k = 32000, 32K = 32768 (as vLLM reads them)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgKMG])", text)
    if match:
        count = float(match.group(1)) * _SIZE_SUFFIX[match.group(2)]
        if count == float("inf"):  # float() of a huge number; int() would raise OverflowError
            raise Invalid("the number is far too large")
        return int(count)
    if re.fullmatch(r"[+-]?\d+", text):
        if len(text.lstrip("+-")) > _MAX_INT_DIGITS:  # int() itself refuses these
            raise Invalid("the number is far too large")
        return int(text)
    raise Invalid("expected a whole number such as 8192 or 32k")


def _to_int(raw: Any) -> int:
    if isinstance(raw, (bool, int)):
        return int(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise Invalid("Input should be a finite number")
        if not raw.is_integer():
            raise Invalid("Input should be a valid integer, got a number with a fractional part")
        return int(raw)
    if not isinstance(raw, str):
        raise Invalid("Input should be a valid integer")
    match = _INT_TEXT.fullmatch(raw.strip())
    if match and len(match.group(1)) > _MAX_INT_DIGITS:
        raise Invalid("Unable to parse input string as an integer, exceeded maximum size")
    if not match:
        raise Invalid("Input should be a valid integer, unable to parse string as an integer")
    return int(match.group(0).partition(".")[0])


def _to_float(raw: Any) -> float:
    if isinstance(raw, (bool, int, float)):
        return float(raw)
    if not isinstance(raw, str):
        raise Invalid("Input should be a valid number")
    text = raw.strip()
    if not _FLOAT_TEXT.fullmatch(text):
        text = raw.replace("_", "") if re.fullmatch(r"[^_]+(?:_[^_]+)*", raw) else ""
        if not _FLOAT_TEXT.fullmatch(text):
            raise Invalid("Input should be a valid number, unable to parse string as a number")
    return float(text)


@dataclass(frozen=True)
class Text:
    def __call__(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise Invalid("Input should be a valid string")
        return raw


@dataclass(frozen=True)
class Choice:
    choices: tuple[str, ...]

    def __call__(self, raw: Any) -> str:
        if not isinstance(raw, str) or raw not in self.choices:
            *most, last = (repr(c) for c in self.choices)
            raise Invalid(f"Input should be {', '.join(most)} or {last}")
        return raw


@dataclass(frozen=True)
class Bool:
    def __call__(self, raw: Any) -> bool:
        return parse_bool(raw)


@dataclass(frozen=True)
class Number:
    """An int or a float within bounds; checked in pydantic's order (le, ge, gt)."""

    kind: type = int
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    parse: Any = None  # a parser run first (TokenCount's 32k), else the kind's lax conversion

    def __call__(self, raw: Any) -> int | float:
        value = self.parse(raw) if self.parse else (
            _to_int(raw) if self.kind is int else _to_float(raw))
        if self.le is not None and not value <= self.le:
            raise Invalid(f"Input should be less than or equal to {self.le}")
        if self.ge is not None and not value >= self.ge:
            raise Invalid(f"Input should be greater than or equal to {self.ge}")
        if self.gt is not None and not value > self.gt:
            raise Invalid(f"Input should be greater than {self.gt}")
        return value


def Int(**bounds: float) -> Number:  # noqa: N802 - reads as a type in the declarations
    return Number(int, **bounds)


def Float(**bounds: float) -> Number:  # noqa: N802
    return Number(float, **bounds)


TokenCount = Number(int, gt=0, parse=parse_token_count)

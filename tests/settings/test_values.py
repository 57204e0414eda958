"""The knob value types give pydantic's values and messages without importing pydantic."""

import random
import re
from typing import Annotated, Literal

import pytest

from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.values import Bool, Choice, Float, Int, Invalid, Text, TokenCount


def outcome(parse, raw):
    try:
        value = parse(raw)
    except Invalid as error:
        return "error", str(error)
    return "value", value, type(value).__name__


@pytest.mark.parametrize("kind, raw, expected", [
    (Int(ge=1), " 7 ", ("value", 7, "int")),
    (Int(ge=1), "1_000", ("value", 1000, "int")),
    (Int(ge=1), "5.0", ("value", 5, "int")),
    (Int(ge=1), 2.0, ("value", 2, "int")),
    (Int(ge=1), True, ("value", 1, "int")),
    (Int(ge=1), "two", ("error", "Input should be a valid integer, unable to parse string as an "
                                  "integer")),
    (Int(ge=1), "5.", ("error", "Input should be a valid integer, unable to parse string as an "
                                "integer")),
    (Int(ge=1), 2.5, ("error", "Input should be a valid integer, got a number with a fractional "
                               "part")),
    (Int(ge=1), float("inf"), ("error", "Input should be a finite number")),
    (Int(ge=1), [1], ("error", "Input should be a valid integer")),
    (Int(ge=1), "0", ("error", "Input should be greater than or equal to 1")),
    (Int(ge=1, le=65535), "65536", ("error", "Input should be less than or equal to 65535")),
    (Float(gt=0, le=1), ".5", ("value", 0.5, "float")),
    (Float(gt=0, le=1), "1", ("value", 1.0, "float")),
    (Float(gt=0, le=1), "nan", ("error", "Input should be less than or equal to 1")),
    (Float(gt=0, le=1), "0", ("error", "Input should be greater than 0")),
    (Float(gt=0, le=1), "1 000", ("error", "Input should be a valid number, unable to parse "
                                           "string as a number")),
    (Float(gt=0), "inf", ("value", float("inf"), "float")),
    (TokenCount, "32K", ("value", 32768, "int")),
    (TokenCount, "-5", ("error", "Input should be greater than 0")),
    (TokenCount, "lots", ("error", "expected a whole number such as 8192 or 32k")),
    (TokenCount, "9" * 5000, ("error", "the number is far too large")),  # int() would raise
    (Choice(("ray", "mp", "uni")), "RAY", ("error", "Input should be 'ray', 'mp' or 'uni'")),
    (Text(), 5, ("error", "Input should be a valid string")),
    (Bool(), " TRUE ", ("value", True, "bool")),
])
def test_values_and_messages(kind, raw, expected):
    assert outcome(kind, raw) == expected


# pydantic-core reads "0__1" as 1 and "0-5" as -5 (leading zeros swallow what follows them);
# run refuses both as not a number.
PYDANTIC_QUIRK = re.compile(r"\s*[+-]?0[0_]*[_-].*")


def pydantic_reference(kind):
    """The pydantic type each value type stands in for, as knobs.py declared them before."""
    pydantic = pytest.importorskip("pydantic")
    if isinstance(kind, Text):
        target = str
    elif isinstance(kind, Choice):
        target = Literal[kind.choices]
    elif isinstance(kind, Bool):
        target = Annotated[bool, pydantic.BeforeValidator(kind)]
    else:
        bounds = {k: getattr(kind, k) for k in ("ge", "gt", "le") if getattr(kind, k) is not None}
        steps = [pydantic.BeforeValidator(kind.parse)] if kind.parse else []
        target = Annotated[(kind.kind, *steps, pydantic.Field(**bounds))]
    adapter = pydantic.TypeAdapter(target)

    def parse(raw):
        try:
            return adapter.validate_python(raw)
        except pydantic.ValidationError as error:
            raise Invalid(error.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return parse


CORPUS = ["", " ", "0", "-1", "+5", " 7 ", "5.0", "5.5", "1e3", "1_000", "_1", "1__0", "0x10",
          "２", "32k", "32K", "1.5k", "9+k", "9" * 30, "inf", "-Infinity", "NaN", ".5", "5.",
          "1E2", "\t3\n", "true", "Yes", "off", "maybe", "auto", "Auto", "bfloat16", "ray", "mp",
          "huggingface", "/data/model", True, False, 0, 1, -1, 65536, 2.0, 2.5, 0.5, 1.5,
          float("inf"), float("nan"), 10**30, [1], {"a": 1}]


@pytest.mark.parametrize("name", sorted(KNOBS))
def test_same_as_pydantic(name):
    kind = KNOBS[name].kind
    reference = pydantic_reference(kind)
    rng = random.Random(name)
    fuzz = ["".join(rng.choice("0123456789+-._ eE\tkKinfaN") for _ in range(rng.randint(0, 6)))
            for _ in range(400)]
    for raw in CORPUS + [s for s in fuzz if not PYDANTIC_QUIRK.fullmatch(s)]:
        assert outcome(kind, raw) == outcome(reference, raw), raw

"""Split `run`'s argv into the knobs `run` owns and the vLLM flags it passes through (pure).

Pass-through flags are checked against the installed vLLM's option table, so a flag vLLM would
reject is caught here, before a long model load, and `--flag=false` becomes vLLM's `--no-flag`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from entrypoint.catalogs import legacy_flag_table
from entrypoint.errors import UserError
from entrypoint.settings.knobs import FLAG_NAMES, Knob
from entrypoint.settings.provenance import Source
from entrypoint.settings.values import BOOL_WORDS_HELP, FALSE_WORDS, TRUE_WORDS, parse_bool
from entrypoint.settings.vllm_options import VllmOptions

RUN_FLAGS = {"--dry-run": "dry_run", "--json": "json", "--help": "help", "-h": "help"}
_NUMBER = re.compile(r"-\d+(\.\d+)?")


@dataclass(frozen=True)
class PassFlag:
    """One vLLM flag as it will be emitted: the option string vLLM registers, then its values."""

    option: str
    values: tuple[str, ...] = ()
    # Where it came from, for the plan: the command line unless a file or profile added it.
    source: Source = field(default=Source.CLI, compare=False)
    reason: str = field(default="passed through to vLLM", compare=False)

    def tokens(self) -> list[str]:
        return [self.option, *self.values]


@dataclass
class ParsedArgv:
    given: dict[str, object] = field(default_factory=dict)  # knob name -> raw value
    given_as: dict[str, str] = field(default_factory=dict)  # knob name -> flag as typed
    passthrough: list[PassFlag] = field(default_factory=list)
    unknown: list[PassFlag] = field(default_factory=list)  # flags the installed vLLM lacks
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    json: bool = False
    help: bool = False

    def passes(self, *options: str) -> bool:
        return any(flag.option in options for flag in self.passthrough)

    def value(self, *options: str) -> str | None:
        """The value vLLM will use for a passed flag: the last one given (argparse's rule)."""
        given = [flag.values[0] for flag in self.passthrough
                 if flag.option in options and flag.values]
        return given[-1] if given else None


def _is_option(token: str) -> bool:
    return token.startswith("-") and token != "-" and not _NUMBER.fullmatch(token)


def _owned_bool(option: str) -> tuple[Knob, bool] | None:
    """`--x`, `--no-x`, and `--disable-y` for a knob declared as `--enable-y`."""
    dashed = option.replace("_", "-") if option.startswith("--") else option
    knob = FLAG_NAMES.get(dashed)
    if knob and knob.is_bool:
        return knob, True
    for prefix, replacement in (("--no-", "--"), ("--disable-", "--enable-")):
        if dashed.startswith(prefix):
            knob = FLAG_NAMES.get(replacement + dashed[len(prefix):])
            if knob and knob.is_bool:
                return knob, False
    return None


def _owned_value(option: str) -> Knob | None:
    dashed = option.replace("_", "-") if option.startswith("--") else option
    knob = FLAG_NAMES.get(dashed)
    return knob if knob and not knob.is_bool else None


def _bool_word(flag: str, raw: str) -> bool:
    try:
        return parse_bool(raw)
    except ValueError:
        raise UserError(f"{flag}={raw} is not a boolean: use {BOOL_WORDS_HELP}.") from None


class _Cursor:
    """Walks the tokens; helpers consume the values that belong to the flag just read."""

    def __init__(self, tokens: list[str]):
        self.tokens, self.i = tokens, 0

    def pop(self) -> str:
        self.i += 1
        return self.tokens[self.i - 1]

    def more(self) -> bool:
        return self.i < len(self.tokens)

    def pop_bool_word(self) -> bool | None:
        if self.more() and self.tokens[self.i].lower() in TRUE_WORDS | FALSE_WORDS:
            return parse_bool(self.pop())
        return None

    def pop_values(self, option: str, inline: str | None, how_many: str) -> tuple[str, ...]:
        if inline is not None:
            return (inline,)
        values: list[str] = []
        while self.more() and not _is_option(self.tokens[self.i]):
            values.append(self.pop())
            if how_many == "one":
                break
        if not values and how_many == "one":
            raise UserError(f"{option} needs a value.")
        return tuple(values)


def parse_argv(argv: list[str], options: VllmOptions) -> ParsedArgv:
    parsed = ParsedArgv()
    cursor = _Cursor(list(argv))
    while cursor.more():
        token = cursor.pop()
        if token == "--":
            continue
        if not _is_option(token):
            _positional(token, parsed)
            continue
        option, has_inline, inline_text = token.partition("=")
        inline = inline_text if has_inline else None
        if option in RUN_FLAGS:
            setattr(parsed, RUN_FLAGS[option], True)
        elif owned := _owned_bool(option):
            knob, positive = owned
            word = _bool_word(option, inline) if inline is not None else cursor.pop_bool_word()
            parsed.given[knob.name] = positive if word is None else word == positive
            parsed.given_as[knob.name] = option
        elif knob := _owned_value(option):
            parsed.given[knob.name] = cursor.pop_values(option, inline, "one")[0]
            parsed.given_as[knob.name] = option
        else:
            _pass_through(option, inline, cursor, options, parsed)
    return parsed


def _positional(token: str, parsed: ParsedArgv) -> None:
    if "model" in parsed.given:
        raise UserError(
            f"Unexpected argument {token!r}: the model is already {parsed.given['model']!r}; "
            "put each value right after its flag."
        )
    parsed.given["model"], parsed.given_as["model"] = token, "positional model argument"


def _pass_through(option: str, inline: str | None, cursor: _Cursor, options: VllmOptions,
                  parsed: ParsedArgv) -> None:
    canonical = options.canonical(option)
    if canonical is None:
        parsed.unknown.append(PassFlag(option, _unknown_values(option, inline, cursor)))
        return
    kind = options.kinds[canonical]
    if kind in ("bool+", "bool-", "switch"):
        word = _bool_word(option, inline) if inline is not None else cursor.pop_bool_word()
        _emit_bool(canonical, kind, True if word is None else word, options, parsed)
        return
    how_many = {"multi": "many", "append": "one", "value": "one"}.get(kind, "optional")
    parsed.passthrough.append(PassFlag(canonical, cursor.pop_values(canonical, inline, how_many)))


def _unknown_values(option: str, inline: str | None, cursor: _Cursor) -> tuple[str, ...]:
    """A legacy flag takes what it took in old vLLM (so `--use-v2-block-manager /model` keeps
    the model); any other unknown flag takes the values that follow it."""
    takes = legacy_flag_table.takes(option)
    if inline is not None:
        return (inline,)
    if takes == "none":
        return ()
    if takes == "bool":
        word = cursor.pop_bool_word()
        return () if word is None else (str(word).lower(),)
    return cursor.pop_values(option, None, takes)


def _emit_bool(canonical: str, kind: str, apply: bool, options: VllmOptions,
               parsed: ParsedArgv) -> None:
    """`apply` False means the user gave the flag as false: emit its opposite form."""
    if apply:
        parsed.passthrough.append(PassFlag(canonical))
        return
    if kind == "switch":
        parsed.notes.append(f"{canonical}=false dropped: it is an on-only switch, off by default.")
        return
    opposite = _opposite(canonical, options)
    parsed.passthrough.append(PassFlag(opposite))
    parsed.notes.append(f"{canonical} given as false: passed to vLLM as {opposite}.")


def _opposite(canonical: str, options: VllmOptions) -> str:
    if canonical.startswith("--no-") and options.kinds.get("--" + canonical[5:]) == "bool+":
        return "--" + canonical[5:]
    negation = options.negation(canonical)
    if negation is None:
        raise UserError(f"{canonical} cannot be turned off on vLLM {options.version}.")
    return negation


def suggest(option: str, options: VllmOptions) -> str:
    close = difflib.get_close_matches(option, list(options.kinds), n=1, cutoff=0.75)
    return f" Did you mean {close[0]}?" if close else ""

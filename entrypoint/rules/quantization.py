"""QUANTIZATION names: which exist, and what the replaced image's names run as (pure rules).

The catalog (catalogs/quantization.py) holds the names; these rules check a name and emit the one
the installed vLLM knows: `ifq` and `ifq_nf4` of the replaced platform image map to current
online methods, and deprecated aliases (`fp8`) become their current names.
"""

from __future__ import annotations

from entrypoint.catalogs import quantization as catalog
from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide, warn


def check_known(ctx: Context) -> None:
    """A refusal or nothing: an unknown QUANTIZATION name stops here."""
    method = ctx.value("quantization")
    if method is None:
        return
    if method not in catalog.methods():
        label = ctx.label("quantization")
        valid = ", ".join(name for group in catalog.GROUPS for name in catalog.names(group))
        raise UserError(f"{label}={method!r} is not a known quantization method; use one of: "
                        f"{valid}.")


def version_tuple(version: str) -> tuple[int, ...]:
    """'0.32.0+cpu' -> (0, 32, 0); enough to compare vLLM releases."""
    parts = []
    for piece in version.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _current_name(name: str, ctx: Context) -> str:
    rename = catalog.renames().get(name)
    if rename and version_tuple(ctx.vllm_version) >= version_tuple(rename.since):
        return rename.to
    return name


def map_names(ctx: Context) -> Outcome | None:
    """Emit the name the installed vLLM knows: the replaced image's names and deprecated aliases.

    Runs after the hardware gates, so it sees the method they kept (None when a pre-quantized
    checkpoint made them drop it); what each name needs from the GPU (compute capability, float16
    for ifq_nf4) is the gates' and the dtype rule's, from the same catalog.
    """
    method = ctx.value("quantization")
    if method is None:
        return None
    decision = ctx.decided["quantization"]
    label = ctx.label("quantization")
    mapped = catalog.methods().get(method)
    if mapped is None or mapped.runs_as is None:
        current = _current_name(method, ctx)
        if current == method:
            return None
        why = catalog.renames()[method].why
        return (decide("quantization", current, decision.source,
                       f"{label}={method}: emitted as {current} ({why})")
                + warn(f"{label}={method} passed to vLLM as {current}: the same online "
                       f"quantization; {why}."))
    target = _current_name(mapped.runs_as, ctx)
    return (decide("quantization", target, decision.source,
                   f"{label}={method} ({mapped.was}) maps to {target}")
            + warn(f"{label}={method} is the replaced image's name: running {target}, "
                   f"{mapped.note}."))

"""Every QUANTIZATION decision (pure rules): the name, the checkpoint, the GPU, the name emitted.

The catalog (catalogs/quantization.py) holds the names and what each needs; these rules check a
name, weigh it against a checkpoint that is already quantized and against the GPUs' compute
capability, and emit the name the installed vLLM knows: `ifq` and `ifq_nf4` of the replaced
platform image map to current online methods, deprecated aliases (`fp8`) become their current
names. The memory estimate (rules.memory) and the dtype (rules.sizing) read the same catalog.
"""

from __future__ import annotations

from entrypoint.catalogs import quantization as catalog
from entrypoint.catalogs.quantization import needs as quant_needs
from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.gates import cap_text
from entrypoint.rules.outcome import Outcome, decide, fact, warn
from entrypoint.settings.provenance import Source

SUGGESTED = ("fp8", "ifq", "ifq_nf4", "bitsandbytes")  # names users know, as ways out


def check_known(ctx: Context) -> None:
    """A refusal or nothing: an unknown QUANTIZATION name stops here."""
    method = ctx.settings.quantization
    if method is None:
        return
    if method not in catalog.methods():
        label = ctx.label("quantization")
        valid = ", ".join(name for group in catalog.GROUPS for name in catalog.names(group))
        raise UserError(f"{label}={method!r} is not a known quantization method; use one of: "
                        f"{valid}.")


def check_prequantized(ctx: Context) -> Outcome | None:
    """A quantized checkpoint plus an online QUANTIZATION: vLLM refuses the mismatch, or (for a
    method of the checkpoint's family) loads the checkpoint's own method instead."""
    found = ctx.model.quantization
    if not found:
        return None
    method = found.method
    out = fact("checkpoint quantization", f"{method} ({found.source})")
    chosen = ctx.settings.quantization
    if chosen is None:
        return out
    needs = quant_needs().get(chosen)
    where = ctx.label("quantization")
    gate = "gate: quantization vs checkpoint"
    if needs and method in needs.family:
        if chosen == method or needs.online:  # vLLM loads the checkpoint's own method
            out += decide("quantization", None, Source.MODEL,
                          f"the checkpoint is already {method}-quantized; vLLM reads it from "
                          f"{found.source}")
        return out + fact(gate, f"pass: {chosen} loads {method}")
    if ctx.user_set("quantization", via=Source.ENV):
        return out + decide(
            "quantization", None, Source.MODEL,
            f"{where}={chosen} dropped: the checkpoint is already {method}-quantized") + warn(
            f"{where}={chosen} ignored: the checkpoint is already quantized ({method}, "
            f"declared in {found.source}) and vLLM refuses a second method; unset {where} for "
            f"this model.") + fact(gate, f"dropped {chosen}: checkpoint is {method}")
    raise UserError(
        f"{where}={chosen} cannot be applied: the checkpoint is already quantized ({method}, "
        f"declared in {found.source}) and vLLM refuses a second method; remove {where}.")


def check_checkpoint_quantized(ctx: Context) -> None:
    """A pre-quantized method (awq, gptq, ...) loads a checkpoint quantized that way: vLLM fails
    on a model without that quantization_config after loading for seconds."""
    chosen = ctx.settings.quantization
    needs = quant_needs().get(chosen) if chosen else None
    if needs is None or needs.online or ctx.model.quantization_config:
        return
    where = ctx.label("quantization")
    raise UserError(
        f"{where}={chosen} loads a checkpoint already quantized with {chosen}, but the model "
        f"{ctx.model.path} is not quantized (no quantization_config in its config.json); unset "
        f"{where}, serve a checkpoint quantized with {chosen}, or use an online method such as "
        f"fp8.")


def check_quantization_capability(ctx: Context) -> Outcome:
    gate = "gate: quantization"
    method = ctx.settings.quantization
    asked = f"{ctx.label('quantization')}={method}"
    checkpoint = ctx.model.quantization
    if method is None and checkpoint:
        method = checkpoint.method
        asked = f"The checkpoint's {method} quantization (declared in {checkpoint.source})"
    if not method:
        return fact(gate, "pass: no quantization")
    needs = quant_needs().get(method)
    capability = ctx.hardware.lowest_capability
    if needs is None or capability is None:
        return fact(gate, f"not checked: {'no GPU' if needs else 'no data for ' + method}")
    gpu = min(ctx.hardware.gpus, key=lambda g: g.capability).name
    if capability < needs.min_capability:
        usable = [n for n in SUGGESTED if quant_needs()[n].min_capability <= capability]
        instead = (f"use {' or '.join(usable)} instead, or unset it" if usable else "unset it")
        if asked.startswith("The checkpoint"):
            instead = "deploy an unquantized checkpoint or a newer GPU"
        raise UserError(
            f"{asked} needs compute capability "
            f"{cap_text(needs.min_capability)} or newer, but {gpu} has {cap_text(capability)}; "
            f"{instead}.")
    if needs.full_speed_capability and capability < needs.full_speed_capability:
        note = (f"{asked} on {gpu} (compute capability "
                f"{cap_text(capability)}) quantizes the weights only (W8A16): weight memory halves "
                f"but compute does not speed up (W8A8 needs {cap_text(needs.full_speed_capability)}"
                f" or newer).")
        return warn(note) + fact(gate, f"pass, weight-only: {method} on compute capability "
                                       f"{cap_text(capability)}")
    return fact(gate, f"pass: {method} on compute capability {cap_text(capability)}")


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
    method = ctx.settings.quantization
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

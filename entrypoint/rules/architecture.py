"""Will the engine load this model? config.json `architectures` against the table of the vLLM in
use (catalogs/architectures.py, generated from vLLM's own registry), before a long model load.

A model the engine cannot load stops here with the architecture, the family, the last vLLM release
that had it and what serves it instead. One that only vLLM's Transformers backend serves is
planned with `--model-impl transformers` and a warning that it is slower.
"""

from __future__ import annotations

from entrypoint.catalogs import architectures as arch
from entrypoint.catalogs.families import by_architecture
from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.custom_code_fit import unfit
from entrypoint.rules.gates import V100_VARIANT, image_variant
from entrypoint.rules.outcome import Outcome, fact, warn
from entrypoint.rules.remote_code import custom_code
from entrypoint.settings.provenance import Source

GATE = "gate: architecture"
# The older-engine image variant (image/Dockerfile.v100; its pin is image/constraints-v100.txt).
OLDER_ENGINE_VLLM = "0.19.1"
OLDER_ENGINE = (f"the older-engine image variant (image/Dockerfile.v100, vLLM {OLDER_ENGINE_VLLM}, "
                "kernels for V100 and every newer GPU)")
# Kinds in the order the gate prefers them when config.json lists several architectures.
RANK = (arch.NATIVE, arch.BACKEND, arch.FALLBACK, arch.PREVIOUS, arch.PLUGIN, arch.UNKNOWN)


def named(ctx: Context, architecture: str) -> str:
    family = by_architecture(architecture)
    what = family.family if family else f"model_type {ctx.model.model_type or 'unset'}"
    return f"config.json names architecture {architecture} ({what})"


def older_engine_has(ctx: Context, architecture: str, table: arch.ArchTable) -> bool:
    older = arch.for_version(OLDER_ENGINE_VLLM)
    return (older is not None and table.version != OLDER_ENGINE_VLLM
            and image_variant(ctx) != V100_VARIANT and older.loads(architecture))


def refuse_dropped(ctx: Context, architecture: str, last: str, table: arch.ArchTable) -> None:
    model = named(ctx, architecture)
    if older_engine_has(ctx, architecture, table):
        raise UserError(
            f"{model}, which vLLM dropped after {last}, so this image's vLLM {table.version} "
            f"cannot load it; serve it with {OLDER_ENGINE}, which still has it.")
    raise UserError(
        f"{model}, which vLLM dropped after {last}, so this image's vLLM {table.version} cannot"
        f" load it, vLLM's Transformers backend cannot serve it (transformers "
        f"{table.transformers}) and no image variant here has it; serve it with vLLM {last} or "
        f"older, or deploy a model with a supported architecture.")


def refuse_unknown(ctx: Context, architecture: str, table: arch.ArchTable) -> Outcome:
    model = named(ctx, architecture)
    if not custom_code(ctx):
        raise UserError(
            f"{model}, which neither vLLM {table.version}'s registry nor its Transformers "
            f"backend (transformers {table.transformers}) has; deploy a model with a supported "
            f"architecture, or install the vLLM plugin that registers it.")
    if not ctx.settings.trust_remote_code:
        raise UserError(
            f"{model}, which vLLM {table.version}'s registry does not have; set "
            f"TRUST_REMOTE_CODE=true to let vLLM try the model's own code through its "
            f"Transformers backend (slower), or deploy a model with a supported architecture.")
    if ctx.model.code and (why := unfit(ctx.model.code)) is not None:
        route = (f"serve it with {OLDER_ENGINE}, whose registry has it"
                 if older_engine_has(ctx, architecture, table) else
                 "no image variant here has it in its registry either; deploy a model with a "
                 "supported architecture")
        raise UserError(f"{model}, which vLLM {table.version}'s registry does not have, and "
                        f"{why}, so vLLM cannot load it; {route}.")
    return warn(
        f"{model}, which vLLM {table.version}'s registry does not have: vLLM will try the "
        f"model's own code (auto_map) through its Transformers backend, which loads only code "
        f"written for Transformers' attention interface and is slower than a native one.") + fact(
        GATE, f"not in the registry: {architecture}, trying the model's own code")


def plan_transformers_backend(ctx: Context, architecture: str, table: arch.ArchTable) -> Outcome:
    slower = (f"{architecture} has no native implementation in vLLM {table.version}: it is "
              f"served through vLLM's Transformers backend (--model-impl transformers), which is "
              f"slower.")
    gate = fact(GATE, f"pass: {architecture} through the Transformers backend")
    return warn(slower) + gate + ctx.flag(
        "--model-impl", ("transformers",), source=Source.MODEL,
        reason=f"{architecture} is not in vLLM {table.version}'s registry; "
               f"transformers {table.transformers} has a class vLLM can wrap")


def check_loadable(ctx: Context) -> Outcome:
    names = ctx.model.architectures
    table = arch.for_version(ctx.vllm_version)
    if not names or table is None:
        why = "config.json names no architectures" if not names else (
            f"no architecture table for vLLM {ctx.vllm_version}")
        return fact(GATE, f"not checked: {why}")
    found = sorted(((table.status(n), n) for n in names), key=lambda s: RANK.index(s[0].kind))
    status, name = found[0]
    if status.kind == arch.NATIVE:
        return fact(GATE, f"pass: {name} is native in vLLM {table.version}")
    if status.kind == arch.BACKEND:
        return fact(GATE, f"pass: vLLM {table.version} serves {name} through its Transformers "
                          f"backend (slower than a native implementation)")
    if status.kind == arch.FALLBACK:
        return plan_transformers_backend(ctx, name, table)
    if status.kind == arch.PREVIOUS:
        refuse_dropped(ctx, name, status.detail, table)
    if status.kind == arch.PLUGIN:
        raise UserError(
            f"{named(ctx, name)}, which vLLM {table.version} serves only through the plugin at "
            f"{status.detail}; install that plugin into the image, or deploy another model.")
    return refuse_unknown(ctx, name, table)

"""From what the rules decided to the plan: the vLLM argv, its environment, the secrets to mask.

The last step of deriving: `plan/` holds only the value, so launch reads a `Plan` and never
reaches the rules.
"""

from __future__ import annotations

from entrypoint.plan.plan import Plan, is_secret_knob
from entrypoint.rules import page_copy
from entrypoint.rules.context import Context
from entrypoint.settings.knobs import KNOBS, is_secret_name
from entrypoint.settings.provenance import Decision


def knob_flags(name: str, decision: Decision) -> list[str]:
    """How one decided knob reaches vLLM: `--x v`, `--x` / `--no-x`, or nothing when unset."""
    knob = KNOBS[name]
    if not knob.vllm or decision.value is None or name == "model":
        return []
    if knob.is_bool:
        return [knob.flag if decision.value else "--no-" + knob.flag[2:]]
    return [knob.flag, str(decision.value)]


def build(ctx: Context, launcher: list[str]) -> Plan:
    """The plan, whole: argv, environment, settings, facts, steps, secrets, and the page's copy
    (the one place a plan is made)."""
    argv = [*launcher, str(ctx.settings.model)]
    settings = dict(ctx.decided)
    for name, decision in ctx.decided.items():
        argv += knob_flags(name, decision)
    for flag, decision in ctx.extra_flags:
        argv += flag.tokens()
        name = flag.option[2:].replace("-", "_")
        settings[name] = joined(settings[name], decision) if name in settings else decision
    for flag in (f for f in ctx.argv.passthrough if f.option not in ctx.dropped_flags):
        argv += flag.tokens()
        value = " ".join(flag.values) or True
        settings.setdefault(flag.option.lstrip("-").replace("-", "_"),
                            Decision(value, flag.source, flag.reason))
    env = {name: Decision(str(d.value), d.source, d.reason) for name, d in ctx.env.items()}
    plan = Plan(argv=argv, env_settings=env, settings=settings, warnings=list(ctx.warnings),
                facts=facts(ctx), files=dict(ctx.files), secret_values=secret_values(ctx),
                steps=list(ctx.steps), multinode=ctx.multinode)
    page_copy.attach(plan)  # last: the page shows the finished plan
    return plan


def facts(ctx: Context) -> dict[str, str]:
    """What --dry-run shows beside the settings: where the model came from, the GPUs, the gates."""
    inventory, location = ctx.hardware, ctx.location
    return {
        "model": str(ctx.model.path),
        **({"model source": "; ".join(location.how)} if location and location.how else {}),
        "gpus": inventory.describe(),
        **({"gpu devices": inventory.device_list()} if inventory.source != "assumed" else {}),
        "vllm": ctx.options.origin,
        **({"profile": ctx.inputs.profile} if ctx.inputs.profile else {}),
        **ctx.facts,
        "cluster": ctx.cluster.describe(),
    }


def joined(first: Decision, then: Decision) -> Decision:
    """A flag given more than once (`--middleware` by several rules): one row, every value with
    its own reason, the source of the highest-ranking one."""
    values = first.value if isinstance(first.value, list) else [first.value]
    reason = first.reason if isinstance(first.value, list) else f"{first.value}: {first.reason}"
    source = min(first.source, then.source, key=lambda s: s.rank)
    return Decision([*values, then.value], source, f"{reason}; {then.value}: {then.reason}")


def secret_values(ctx: Context) -> tuple[str, ...]:
    """Every value that must never be printed: secret knobs, secret-named variables (HF_TOKEN)."""
    found = [*ctx.secrets]
    for name, decision in ctx.decided.items():
        if is_secret_knob(name) and decision.value:
            found += [str(decision.value), *str(decision.value).split(",")]
    # Secret-looking names (HF_TOKEN, MODELSCOPE_API_TOKEN) also match settings such as
    # TOKENIZERS_PARALLELISM=false: only values long enough to be real tokens are masked, so
    # ordinary words stay readable.
    found += [value for name, value in ctx.environ.items()
              if is_secret_name(name) and len(value.strip()) >= 8]
    # Longest first, so a key list is masked whole before its parts.
    return tuple(sorted({v.strip() for v in found if len(v.strip()) >= 4}, key=len, reverse=True))


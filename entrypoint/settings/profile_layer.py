"""A tuned profile (`run tune`'s winning settings) as a settings layer, when it was made for this
start (pure: the profile was read by facts/profile.py).

Its values rank below what the user gave (flags, environment, Triton's model.json) and above what
`run` derives from the model and the hardware: knobs `run` owns become `Given` entries of source
`profile`, other engine arguments become pass-through flags of source `profile`, unless the user
passes the same flag (or its negation). A profile made for another model, GPU or vLLM is ignored
with one warning saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from entrypoint.facts.profile import Profile, ProfileKey, mismatch
from entrypoint.settings.argv import ParsedArgv, PassFlag, parse_argv
from entrypoint.settings.given import Given, flag_layer
from entrypoint.settings.provenance import Source
from entrypoint.settings.triton_file import engine_args_to_argv
from entrypoint.settings.vllm_options import VllmOptions


@dataclass
class Applied:
    settings: dict[str, Given] = field(default_factory=dict)  # knobs, merged below the user's
    flags: list[PassFlag] = field(default_factory=list)  # engine arguments for vLLM
    fact: str = ""  # the plan's `profile` line
    warnings: list[str] = field(default_factory=list)


def stem(option: str) -> str:
    """One name for a flag and its negations: --no-enable-x, --disable-x, --enable-x -> enable-x."""
    bare = option.lstrip("-").removeprefix("no-")
    return "enable-" + bare.removeprefix("disable-") if bare.startswith("disable-") else bare


def measured_text(profile: Profile) -> str:
    answer = profile.measured.get("answer")
    return f": {answer}" if isinstance(answer, str) and answer else ""


def apply(profile: Profile, here: ProfileKey, parsed: ParsedArgv,
          options: VllmOptions) -> Applied:
    why_not = mismatch(profile.key, here)
    if why_not is not None:
        line = f"Profile {profile.path} ignored: {why_not}; run `run tune` here to make one."
        return Applied(fact=f"ignored: {why_not}", warnings=[line])
    from_file = parse_argv(engine_args_to_argv(profile.settings), options)
    if from_file.unknown:
        key = from_file.unknown[0].option[2:].replace("-", "_")
        line = (f"Profile {profile.path} ignored: \"{key}\" is not an engine argument vLLM "
                f"{options.version} accepts; run `run tune` again.")
        return Applied(fact=f"ignored: {key} unknown to this vLLM", warnings=[line])
    keys = {name: label[2:].replace("-", "_") for name, label in from_file.given_as.items()}
    settings = flag_layer(from_file.given, keys, Source.PROFILE, prefix=f"profile {profile.path} ")
    reason = f"tuned profile {profile.path}"
    mine = {stem(flag.option) for flag in parsed.passthrough}
    flags = [replace(flag, source=Source.PROFILE, reason=reason)
             for flag in from_file.passthrough if stem(flag.option) not in mine]
    shown = ", ".join(f"{k}={v}" for k, v in profile.settings.items()) or "run's defaults"
    return Applied(settings, flags, f"applied {profile.path} ({shown}){measured_text(profile)}")

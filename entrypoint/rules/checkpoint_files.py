"""Weight files cut short (or grown) since they were written, refused at plan time (pure).

vLLM finds such a file only when the engine loads it, after half a minute to many minutes, and
says "incomplete metadata, file not fully covered" without naming the file. The sizes are read in
`facts.safetensors_header`; `--dry-run` refuses the same folder.
"""

from __future__ import annotations

from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome

SHOWN = 3


def check_complete(ctx: Context) -> Outcome | None:
    site = ctx.site
    found = site.weights if site else None
    if found is None or not found.mismatched:
        return None
    shown = "; ".join(m.says() for m in found.mismatched[:SHOWN])
    more = len(found.mismatched) - SHOWN
    more_text = f" (and {more} more)" if more > 0 else ""
    raise UserError(f"MODEL={ctx.model.path}: a weight file is incomplete: {shown}{more_text}; "
                    f"most often an interrupted download or copy; download or copy it again.")

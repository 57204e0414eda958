"""The user's home folder, read without `Path.home()` (which raises when HOME starts with `~`
or when the user has no password entry, as under an arbitrary container UID)."""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from pathlib import Path


def home(environ: Mapping[str, str]) -> str:
    """HOME when it is an absolute path; else this user's password entry; else /."""
    given = environ.get("HOME") or ""
    if given.startswith("/"):
        return given
    try:
        return pwd.getpwuid(os.getuid()).pw_dir or "/"
    except KeyError:
        return "/"


def cache_home(environ: Mapping[str, str]) -> Path:
    """Where user caches go by the XDG convention the hub libraries follow too."""
    return Path(environ.get("XDG_CACHE_HOME") or Path(home(environ)) / ".cache")


def problem(environ: Mapping[str, str]) -> str | None:
    """One sentence when HOME is set but not an absolute path; None otherwise.

    vLLM, Triton, torch and the hub libraries expand `~` to HOME as it is, so a relative HOME
    (`~`, `~0`, `cache`) makes them write caches under the working folder, in folders named after
    it.
    """
    given = environ.get("HOME") or ""
    if not given or given.startswith("/"):
        return None
    shown = given if len(given) <= 40 else given[:40] + "..."
    return (f"HOME={shown!r} is not an absolute path, so vLLM and the hub would keep their caches "
            f"in a folder of that name under the working folder; set HOME to an absolute folder "
            f"(such as /home/serve) or unset it.")

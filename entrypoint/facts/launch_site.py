"""What the launch will meet on this host, read before run writes its files (read step).

The folders run writes to, the port the server binds, and the weight files vLLM will load: read
here (lstat, a probe file created and removed at once, a bind that is closed at once, a listing),
decided in `rules.launch_site`, so that `--dry-run` refuses what the launch would fail on.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

from entrypoint.facts.home import cache_home
from entrypoint.facts.safetensors_header import Mismatch, mismatches
from entrypoint.facts.weights import INDEX

# vLLM's --load-format -> the weight files that format loads (its default loader's patterns).
LOAD_FORMAT_FILES = {
    "auto": (".safetensors", ".bin", ".pt"),
    "safetensors": (".safetensors",),
    "fastsafetensors": (".safetensors",),
    "pt": (".bin", ".pt"),
    "npcache": (".bin",),
    "mistral": (".safetensors",),
}
NOT_LOADED = ("dummy",)  # formats that read no weight files


def fallback_run_dir(environ) -> str:
    """Where run's files go when the default under a shared /tmp is not ours: the user's cache."""
    return str(cache_home(environ) / "llm-serve-run")


def page_plan_file(run_dir: str, port: int) -> str:
    """The plan the page at / shows, one file per port (two servers on one host keep theirs)."""
    return f"{run_dir}/page-{port}.json"


@dataclass(frozen=True)
class Weights:
    load_format: str
    checked: bool  # False: a format whose files this step does not know (gguf, tensorizer, ...)
    files: tuple[str, ...] = ()  # weight files of the format, by name
    unreadable: tuple[str, ...] = ()
    missing_shards: tuple[str, ...] = ()  # named by the safetensors index, absent (or a dead link)
    mismatched: tuple[Mismatch, ...] = ()  # safetensors files whose size their header contradicts


@dataclass(frozen=True)
class LaunchSite:
    """None for a problem = fine; the text otherwise says what is wrong."""

    folders: dict[str, str | None] = field(default_factory=dict)  # path -> problem
    port: int | None = None
    host: str = ""
    port_problem: str | None = None
    weights: Weights | None = None  # None: not checked (a download or merge makes the folder)
    blocked: dict[str, str] = field(default_factory=dict)  # file run writes -> why it cannot


PROBE = ".run-write-probe"


def write_problem(folder: str) -> str | None:
    """Create and remove a probe file in `folder`: the one test that holds for root, read-only
    mounts, ACLs and sandboxes alike (os.access answers from mode bits and can be wrong)."""
    probe = os.path.join(folder, f"{PROBE}-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        if error.errno == errno.EROFS:
            return "is on a read-only file system"
        return f"is not writable by this user ({error.strerror or error})"
    os.close(fd)
    os.unlink(probe)
    return None


def file_problem(path: str) -> str | None:
    """Why run could not put its file at `path` (by rename into the folder), if it exists."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return f"{path} is a folder, where run writes a file"
    folder = os.stat(os.path.dirname(path) or ".")
    if folder.st_mode & stat.S_ISVTX and info.st_uid != os.geteuid():
        return f"{path} belongs to another user in a folder only owners may replace files in"
    return None


def _existing_ancestor(path: Path) -> Path:
    for parent in path.parents:
        if os.path.lexists(parent) or os.path.isfile(parent):
            return parent
    return Path("/")


def folder_problem(path: str, private: bool = False) -> str | None:
    """Why `path` cannot be (or become) a folder run writes to; None when it can.

    private: the folder must be ours alone (a default under a shared /tmp): no symbolic link,
    owned by this user, not writable by others.
    """
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        ancestor = _existing_ancestor(Path(path))
        if not ancestor.is_dir():
            return f"cannot be created: {ancestor} is not a folder"
        problem = write_problem(str(ancestor))
        return f"cannot be created: {ancestor} {problem}" if problem else None
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        if private:
            return f"is a symbolic link (to {os.readlink(path)}) that run did not make"
        try:
            info = os.stat(path)
        except OSError:
            return "is a broken symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if private and info.st_uid != os.geteuid():
        return f"belongs to another user (uid {info.st_uid})"
    if private and info.st_mode & 0o022:
        return f"is writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return write_problem(path)


def port_problem(host: str, port: int) -> str | None:
    """Bind host:port as vLLM will (SO_REUSEADDR), then close: None when it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"port {port} is already in use on this host"
        if error.errno == errno.EACCES:
            return f"port {port} needs privileges this user lacks"
        if error.errno == errno.EADDRNOTAVAIL:
            return f"--host {host} is not an address of this machine"
        return f"{host or '*'}:{port} cannot be bound ({error.strerror or error})"
    return None


def _index_shards(model_dir: Path) -> set[str]:
    try:
        data = json.loads((model_dir / INDEX).read_text(encoding="utf-8"))
        return {str(name) for name in data["weight_map"].values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return set()


def weights(model_dir: Path, load_format: str) -> Weights:
    suffixes = LOAD_FORMAT_FILES.get(load_format)
    if suffixes is None:
        return Weights(load_format, checked=False)
    try:
        names = sorted(entry.name for entry in os.scandir(model_dir)
                       if entry.name.endswith(suffixes) and entry.is_file())
    except OSError:
        names = []
    unreadable = tuple(n for n in names if not os.access(model_dir / n, os.R_OK))
    missing, mismatched = (), ()
    if ".safetensors" in suffixes:
        missing = tuple(sorted(s for s in _index_shards(model_dir) if s not in names))
        mismatched = mismatches(model_dir, tuple(n for n in names if n not in unreadable))
    return Weights(load_format, True, tuple(names), unreadable, missing, mismatched)

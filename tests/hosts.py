"""Test hosts on this machine: network namespaces joined by a bridge, each with its own address.

Every namespace and link is created by the test that uses it and removed afterwards, even when the
test fails; processes started in a host run in their own session and are killed with it. Needs
root (`ip netns`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.231.0"  # exists only inside the namespaces made here


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def can_make_hosts() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@dataclass
class Host:
    name: str  # the namespace
    address: str
    interface: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, argv: list[str], env: dict[str, str], log: Path,
              cwd: Path | None = None) -> subprocess.Popen:
        """A process on this host, in its own session, output to `log`."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *argv], env=env, cwd=cwd,
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes.append(process)
        return process

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 60,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)

    def kill_all(self) -> None:
        """The host dies: every process in its namespace, whoever started it."""
        for _ in range(5):
            listed = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                                    text=True).stdout.split()
            if not listed:
                break
            for pid in listed:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.2)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


@contextlib.contextmanager
def hosts(count: int) -> Iterator[list[Host]]:
    """`count` hosts 10.231.0.1, .2, ... on one bridge (itself in a namespace of its own)."""
    tag = f"mn{os.getpid() % 100000}{int(time.monotonic() * 1000) % 1000}"
    switch = f"{tag}sw"
    made: list[str] = []
    members: list[Host] = []
    try:
        ip("netns", "add", switch)
        made.append(switch)
        ip("-n", switch, "link", "add", "br0", "type", "bridge")
        ip("-n", switch, "link", "set", "br0", "up")
        for index in range(count):
            name = f"{tag}h{index}"
            ip("netns", "add", name)
            made.append(name)
            inside, outside = f"{tag}a{index}", f"{tag}b{index}"
            ip("link", "add", inside, "type", "veth", "peer", "name", outside)
            ip("link", "set", inside, "netns", name)
            ip("link", "set", outside, "netns", switch)
            ip("-n", switch, "link", "set", outside, "master", "br0")
            ip("-n", switch, "link", "set", outside, "up")
            address = f"{SUBNET}.{index + 1}"
            ip("-n", name, "addr", "add", f"{address}/24", "dev", inside)
            ip("-n", name, "link", "set", inside, "up")
            ip("-n", name, "link", "set", "lo", "up")
            members.append(Host(name=name, address=address, interface=inside))
        yield members
    finally:
        for host in members:
            host.kill_all()
        for name in reversed(made):
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("netns", "del", name)


@contextlib.contextmanager
def short_tmpdir() -> Iterator[Path]:
    """Ray's socket paths must stay under 108 characters: pytest's tmp_path is too deep."""
    path = Path(tempfile.mkdtemp(prefix="mn", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

"""Which node of which group this start is (read step: parsing and socket look-ups, no decisions).

Platforms describe a multi-node group through environment variables, each in its own dialect.
Every dialect is one small JSON file under `platform/conventions/`: which variables mark it, and
which hold the node count, this node's rank and the head's address. The first convention (lowest
priority number) whose marker variables are all set describes this start; none means one node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from entrypoint.errors import UserError

CONVENTIONS_DIR = Path(__file__).resolve().parents[2] / "platform" / "conventions"
RAY_HEAD_PORT = 6379


@dataclass(frozen=True)
class Convention:
    name: str
    title: str
    priority: int
    detect: tuple[str, ...]
    nodes: tuple[str, ...]
    rank: tuple[str, ...]
    head_address: tuple[str, ...]
    head_port: tuple[str, ...]
    ray_address: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """This node's side of the path to the head: the address peers reach it at, and its NIC."""

    address: str
    interface: str


@dataclass(frozen=True)
class ClusterSpec:
    convention: str  # a convention name, or "none"
    title: str
    nodes: int = 1
    rank: int = 0
    head_address: str | None = None
    head_port: int | None = None
    ray_address: str | None = None  # an existing Ray cluster to drive (KubeRay)
    read: tuple[tuple[str, str], ...] = ()  # the variables this was read from, for the log
    head_from: str | None = None  # the variable that named the head (for messages)
    route: Route | None = None
    route_problem: str | None = None  # why `route` is unknown (a head name not resolvable yet)

    @property
    def multi_node(self) -> bool:
        return self.nodes > 1 or self.ray_address is not None

    @property
    def is_head(self) -> bool:
        return self.rank == 0

    def describe(self) -> str:
        if not self.multi_node:
            found = f" ({self.title}: 1 node)" if self.convention != "none" else ""
            return f"single node{found}"
        shown = ", ".join(f"{name}={value}" for name, value in self.read)
        if self.ray_address:
            return f"driver of the Ray cluster at {self.ray_address} [{self.title}: {shown}]"
        port = f":{self.head_port}" if self.head_port else ""
        return (f"rank {self.rank} of {self.nodes} nodes, head {self.head_address}{port} "
                f"[{self.title}: {shown}]")


SINGLE_NODE = ClusterSpec(convention="none", title="no multi-node variables")


def load_conventions(directory: Path = CONVENTIONS_DIR) -> list[Convention]:
    if not directory.is_dir():
        raise UserError(f"The platform conventions folder {directory} is missing; install run "
                        "from its source tree (it ships platform/ beside entrypoint/).")
    conventions = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        conventions.append(Convention(
            name=data["name"], title=data["title"], priority=data["priority"],
            detect=tuple(data["detect"]), nodes=tuple(data["nodes"]), rank=tuple(data["rank"]),
            head_address=tuple(data["head_address"]), head_port=tuple(data["head_port"]),
            ray_address=tuple(data.get("ray_address", ())),
        ))
    return sorted(conventions, key=lambda c: c.priority)


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _whole(found: tuple[str, str], convention: Convention, least: int) -> int:
    name, value = found
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        raise UserError(f"{name}={value!r} ({convention.title}) is not valid: expected a whole "
                        f"number of at least {least}.")
    return number


def detect(environ: Mapping[str, str],
           conventions: list[Convention] | None = None) -> ClusterSpec:
    """The group this start belongs to, from the environment alone (pure)."""
    for convention in conventions if conventions is not None else load_conventions():
        if all(environ.get(name, "").strip() for name in convention.detect):
            return _read(environ, convention)
    return SINGLE_NODE


def _read(environ: Mapping[str, str], convention: Convention) -> ClusterSpec:
    read: list[tuple[str, str]] = []

    def take(names: tuple[str, ...]) -> tuple[str, str] | None:
        found = _first(environ, names)
        if found:
            read.append(found)
        return found

    nodes_found = take(convention.nodes)
    nodes = _whole(nodes_found, convention, 1) if nodes_found else 1
    rank_found = take(convention.rank)
    rank = _whole(rank_found, convention, 0) if rank_found else 0
    if rank >= nodes:
        raise UserError(f"{rank_found[0]}={rank} ({convention.title}) is not valid: ranks of a "
                        f"{nodes}-node group run from 0 to {nodes - 1}; check "
                        f"{nodes_found[0] if nodes_found else 'the node count'}.")
    ray_found = take(convention.ray_address)
    head_found = take(convention.head_address)
    port_found = take(convention.head_port)
    port = _whole(port_found, convention, 1) if port_found else None
    if port is not None and port > 65535:
        raise UserError(f"{port_found[0]}={port} ({convention.title}) is not a port number.")
    if nodes > 1 and not head_found and not ray_found:
        names = " or ".join(convention.head_address) or "the head address"
        raise UserError(f"{nodes} nodes ({convention.title}) but no head address: set {names}.")
    head = head_found[1] if head_found else None
    if nodes == 1 and not ray_found:
        return ClusterSpec(convention=convention.name, title=convention.title, read=tuple(read))
    return ClusterSpec(
        convention=convention.name, title=convention.title, nodes=nodes, rank=rank,
        head_address=head, head_port=port, ray_address=ray_found[1] if ray_found else None,
        read=tuple(read), head_from=(ray_found or head_found)[0],
    )


def resolve(host: str) -> str | None:
    """The host's IPv4 address (or IPv6 when it has none); None while DNS does not know it."""
    import ipaddress  # here and below: multi-node only, kept off a single node's start
    import socket

    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return infos[0][4][0] if infos else None


def route_to(host: str) -> Route | None:
    """The local address the kernel would use to reach `host`, and the interface holding it."""
    import socket

    import psutil

    address = resolve(host)
    if address is None:
        return None
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((address, 9))  # UDP connect sends nothing; it only picks the route
        except OSError:
            return None
        local = probe.getsockname()[0]
    for interface, addresses in psutil.net_if_addrs().items():
        if any(entry.address.split("%")[0] == local for entry in addresses):
            return Route(address=local, interface=interface)
    return None


def head_of(spec: ClusterSpec) -> str | None:
    """The host a node talks to: the head, or the existing Ray cluster's address."""
    if spec.ray_address:
        host = spec.ray_address.removeprefix("ray://").rsplit(":", 1)[0]
        return None if host == "auto" else host
    return spec.head_address


def read(environ: Mapping[str, str]) -> ClusterSpec:
    """`detect`, plus the route toward the head when the head's name resolves already."""
    spec = detect(environ)
    host = head_of(spec)
    if not spec.multi_node or host is None:
        return spec
    route = route_to(host)
    problem = None if route else f"no route to the head {host} yet (name not resolvable?)"
    return replace(spec, route=route, route_problem=problem)

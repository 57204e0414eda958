"""Two test hosts on one machine without iproute2: network namespaces rh/rw joined by a veth.

python3 scripts/gpu/netns.py up|down|kill NS  (root; pyroute2 carried as a wheel)
"""

import contextlib
import os
import signal
import sys

sys.path.insert(0, "/tmp/site")
from pyroute2 import IPRoute, NetNS, netns  # noqa: E402

HOSTS = {"rh": ("vh", "10.88.0.1"), "rw": ("vw", "10.88.0.2")}
# vLLM copies the head's NCCL_SOCKET_IFNAME/GLOO_SOCKET_IFNAME to Ray workers, so like real
# clusters (eth0 everywhere) both hosts name their interface the same.
INTERFACE = "eth1"


def up() -> None:
    for name in HOSTS:
        netns.create(name)
    with IPRoute() as ip:
        ip.link("add", ifname="vh", kind="veth", peer="vw")
        for name, (link, _) in HOSTS.items():
            ip.link("set", index=ip.link_lookup(ifname=link)[0], net_ns_fd=name)
    for name, (link, address) in HOSTS.items():
        with NetNS(name) as ns:
            index = ns.link_lookup(ifname=link)[0]
            ns.link("set", index=index, ifname=INTERFACE)
            ns.addr("add", index=index, address=address, prefixlen=24)
            ns.link("set", index=index, state="up")
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")


def pids_in(name: str) -> list[int]:
    target = os.stat(f"/var/run/netns/{name}").st_ino
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == target:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def kill(name: str) -> None:
    for pid in pids_in(name):
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(pid, signal.SIGKILL)


def down() -> None:
    for name in HOSTS:
        if os.path.exists(f"/var/run/netns/{name}"):
            kill(name)
            netns.remove(name)


if __name__ == "__main__":
    {"up": up, "down": down, "kill": lambda: kill(sys.argv[2])}[sys.argv[1]]()

#!/usr/bin/env python3
"""Start what an image holds as a container would, where `podman run` cannot (no cgroup
controllers in this VM): the image's root filesystem (`podman image mount`) under a throwaway
overlay, new mount, PID, network and UTS namespaces, its ENTRYPOINT + CMD as PID 1, as its USER,
with exactly its ENV, in its WORKDIR. Root only; stdlib only.

    scripts/image_run.py [-v HOST:DIR]... [-e KEY=VALUE]... IMAGE [ARG...]
    scripts/image_run.py --healthcheck PID IMAGE     (the image's HEALTHCHECK, in that container)

ARGs replace CMD, -e adds to ENV, -v binds a host folder, as with `docker run`. The network is
the container's own (loopback only): reach it with `nsenter -t PID -n CMD`, where PID (printed
on stderr and written to --pid-file) is the container's PID 1 seen from the host.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PODMAN = [str(Path(__file__).resolve().parent / "podman.sh")]


def config(image: str) -> dict:
    """ENTRYPOINT, CMD, ENV, USER, WORKDIR and HEALTHCHECK as the image records them."""
    out = subprocess.run([*PODMAN, "image", "inspect", image], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"image_run: no image {image} in this store: {out.stderr.strip()}")
    (info,) = json.loads(out.stdout)
    cfg = info.get("Config") or {}
    health = info.get("Healthcheck") or info.get("HealthCheck") or cfg.get("Healthcheck") or {}
    return {"entrypoint": cfg.get("Entrypoint") or [], "cmd": cfg.get("Cmd") or [],
            "env": cfg.get("Env") or [], "user": cfg.get("User") or "0",
            "workdir": cfg.get("WorkingDir") or "/", "healthcheck": health.get("Test") or []}


def user_ids(root: Path, user: str) -> tuple[int, int]:
    """uid and primary gid of USER (a name or a number, optionally NAME:GROUP), read from the
    image's /etc/passwd as the container runtime does."""
    name, _, group = user.partition(":")
    uid, gid = None, 0
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if name in (fields[0], fields[2]):
            uid, gid = int(fields[2]), int(fields[3])
    if uid is None:
        if not name.isdigit():
            sys.exit(f"image_run: USER {name} is not in the image's /etc/passwd")
        uid = int(name)
    return uid, int(group) if group.isdigit() else gid


def mount_image(image: str) -> Path:
    out = subprocess.run([*PODMAN, "image", "mount", image], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"image_run: podman image mount {image} failed: {out.stderr.strip()}")
    return Path(out.stdout.strip())


def setup_script(lower: Path, scratch: Path, volumes: list[str], shm: str) -> str:
    """Shell run as PID 1 of the new namespaces before it becomes the image's entrypoint."""
    merged = scratch / "root"
    lines = ["set -e", "mount --make-rprivate /"]
    for sub in ("upper", "work", "root"):
        (scratch / sub).mkdir()
    lines.append(f"mount -t overlay overlay -o lowerdir={lower},upperdir={scratch}/upper,"
                 f"workdir={scratch}/work {merged}")
    lines += [f"mount -t proc proc {merged}/proc",
              f"mount -t sysfs -o ro sysfs {merged}/sys",
              f"mount --rbind /dev {merged}/dev",
              f"mkdir -p {merged}/dev/shm && mount -t tmpfs -o size={shm} shm {merged}/dev/shm",
              f"mount -t tmpfs tmpfs {merged}/tmp && chmod 1777 {merged}/tmp",
              "hostname container && ip link set lo up",
              f"printf '127.0.0.1 localhost container\\n::1 localhost\\n' > {merged}/etc/hosts"]
    for volume in volumes:
        host, _, inside = volume.partition(":")
        inside, _, mode = inside.partition(":")
        lines.append(f"mkdir -p {merged}{inside} && mount --bind {shlex.quote(host)} "
                     f"{merged}{inside}" + (f" && mount -o remount,bind,ro {merged}{inside}"
                                            if mode == "ro" else ""))
    return "\n".join(lines)


def container_argv(cfg: dict, root: Path, env: list[str], args: list[str],
                   entrypoint: list[str] | None = None) -> list[str]:
    uid, gid = user_ids(root, cfg["user"])
    if entrypoint is not None:  # like `docker run --entrypoint`: CMD no longer applies
        command = [*entrypoint, *args]
    else:
        command = [*cfg["entrypoint"], *(args or cfg["cmd"])]
    if not command:
        sys.exit("image_run: the image has neither ENTRYPOINT nor CMD")
    return ["chroot", f"--userspec={uid}:{gid}", f"--groups={gid}", str(root),
            "/usr/bin/env", "-i", "-C", cfg["workdir"], *cfg["env"], *env, *command]


@dataclass
class Container:
    process: subprocess.Popen  # unshare, which exits with PID 1's status
    pid: int  # the container's PID 1, seen from the host
    scratch: Path  # the overlay's writable layer: the container's changes, removed by remove()

    def remove(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


def start(image: str, args: list[str], env: list[str], volumes: list[str], shm: str = "4g",
          stdout=None, entrypoint: list[str] | None = None) -> Container:
    cfg = config(image)
    lower = mount_image(image)
    scratch = Path(tempfile.mkdtemp(prefix="image-run-"))
    script = setup_script(lower, scratch, volumes, shm)
    argv = container_argv(cfg, lower, env, args, entrypoint)
    argv[3] = str(scratch / "root")
    process = subprocess.Popen(
        ["unshare", "--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "--kill-child",
         "sh", "-c", script + '\nexec "$@"', "container", *argv],
        stdout=stdout, stderr=subprocess.STDOUT if stdout else None)
    return Container(process, pid1(process), scratch)


def pid1(process: subprocess.Popen, limit: float = 10) -> int:
    """The host PID of unshare's child: the container's PID 1."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{process.pid}/task").glob("*"):
            children = (task / "children").read_text().split()
            if children:
                return int(children[0])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit(f"image_run: the container did not start (unshare exited {process.poll()})")


def healthcheck(pid: int, image: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """The image's HEALTHCHECK command, run as Docker runs it: inside the container (its root,
    namespaces, user, working directory and ENV)."""
    cfg = config(image)
    test = cfg["healthcheck"]
    if not test or test[0] == "NONE":
        sys.exit(f"image_run: {image} has no HEALTHCHECK")
    command = test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]
    uid, gid = user_ids(Path(f"/proc/{pid}/root"), cfg["user"])
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "-n", "-p", "-u", "-i", "-r", "-w", "-S", str(uid),
         "-G", str(gid), "/usr/bin/env", "-i", *cfg["env"], *command],
        capture_output=True, text=True, timeout=timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--volume", action="append", default=[], help="HOST:DIR[:ro]")
    parser.add_argument("-e", "--env", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--shm-size", default="4g")
    parser.add_argument("--pid-file")
    parser.add_argument("--healthcheck", type=int, metavar="PID")
    parser.add_argument("image")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("image_run: needs root (mount and PID namespaces, chroot)")
    if opts.healthcheck:
        result = healthcheck(opts.healthcheck, opts.image)
        sys.stdout.write(result.stdout + result.stderr)
        return result.returncode
    container = start(opts.image, opts.args, opts.env, opts.volume, opts.shm_size)
    print(f"image_run: container PID 1 is host PID {container.pid}", file=sys.stderr)
    if opts.pid_file:
        Path(opts.pid_file).write_text(f"{container.pid}\n")
    try:
        return container.process.wait()
    except KeyboardInterrupt:
        os.kill(container.pid, signal.SIGTERM)
        return container.process.wait()
    finally:
        container.remove()


if __name__ == "__main__":
    sys.exit(main())

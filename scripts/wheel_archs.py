"""Which GPU architectures a published vLLM (or torch) wheel carries kernels for.

    python scripts/wheel_archs.py vllm 0.19.1 vllm/_C.abi3.so
    python scripts/wheel_archs.py torch 2.10.0 torch/lib/libtorch_cuda.so 120

Reads one shared library out of the wheel on PyPI with HTTP range requests (no full download),
inflates it as a stream and reads every CUDA fatbin container in it (magic 0xBA55ED50): each
entry's kind (1 = PTX, 2 = SASS) and its sm number. A wheel "ships sm_70 kernels" when its
libraries hold SASS for 70 (PTX for an older arch would JIT as well; none of the wheels read so
far has any). The optional last argument stops after that many MiB of compressed data (the
fatbins of libtorch_cuda.so sit near its start). docs/images.md has the figures this gave.
"""

from __future__ import annotations

import io
import json
import re
import struct
import sys
import urllib.request
import zipfile
import zlib

FATBIN_MAGIC = struct.pack("<I", 0xBA55ED50)
SIMPLE = "https://pypi.org/simple/{project}/"
CHUNK = 8 << 20


class RemoteFile(io.RawIOBase):
    """A seekable read-only file over HTTP range requests."""

    def __init__(self, url: str):
        self.url, self.pos = url, 0
        head = urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=60)
        self.size = int(head.headers["Content-Length"])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buffer) -> int:
        if self.pos >= self.size or not len(buffer):
            return 0
        end = min(self.size, self.pos + len(buffer)) - 1
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{end}"})
        data = urllib.request.urlopen(request, timeout=300).read()
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def fatbin_entries(buf: bytes, at: int):
    """(kind, sm) of each entry of the fatbin container starting at `at`."""
    _, _, header_size, body_size = struct.unpack_from("<IHHQ", buf, at)
    pos, end = at + header_size, min(len(buf), at + header_size + body_size)
    while pos + 32 <= end:
        kind, _, entry_header_size, payload_size = struct.unpack_from("<HHIQ", buf, pos)
        if kind not in (1, 2) or not 32 <= entry_header_size <= 4096:
            return
        sm = struct.unpack_from("<I", buf, pos + 28)[0]
        yield ("ptx" if kind == 1 else "sass"), sm
        pos += entry_header_size + payload_size


def scan_stream(chunks) -> dict[str, set[int]]:
    """Architectures in every fatbin container of a stream of decompressed bytes."""
    found: dict[str, set[int]] = {"sass": set(), "ptx": set()}
    tail = b""
    for chunk in chunks:
        buf = tail + chunk
        at = buf.find(FATBIN_MAGIC)
        while at != -1 and at + 16 <= len(buf):
            for kind, sm in fatbin_entries(buf, at):
                found[kind].add(sm)
            at = buf.find(FATBIN_MAGIC, at + 4)
        tail = buf[-(1 << 16):]
    return found


def wheel_url(project: str, version: str) -> str:
    request = urllib.request.Request(SIMPLE.format(project=project),
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    files = json.load(urllib.request.urlopen(request, timeout=60))["files"]
    pattern = rf"{project}-{re.escape(version)}-.*(cp312|abi3).*manylinux.*x86_64\.whl$"
    return next(f["url"] for f in files if re.match(pattern, f["filename"]))


def member_chunks(url: str, member: str, limit_mib: int | None):
    raw = RemoteFile(url)
    info = zipfile.ZipFile(io.BufferedReader(raw, buffer_size=1 << 20)).getinfo(member)
    raw.seek(info.header_offset)
    name_len, extra_len = struct.unpack_from("<HH", raw.read(30), 26)
    pos = info.header_offset + 30 + name_len + extra_len
    end = pos + info.compress_size
    inflate = zlib.decompressobj(-15)
    while pos < end and (limit_mib is None or pos - info.header_offset < limit_mib << 20):
        raw.seek(pos)
        data = raw.read(min(CHUNK, end - pos))
        pos += len(data)
        yield inflate.decompress(data)


def main(argv: list[str]) -> None:
    project, version, member, *limit = argv
    found = scan_stream(member_chunks(wheel_url(project, version), member,
                                      int(limit[0]) if limit else None))
    print(f"{project} {version} {member}: SASS {sorted(found['sass'])} PTX {sorted(found['ptx'])}")


if __name__ == "__main__":
    main(sys.argv[1:])

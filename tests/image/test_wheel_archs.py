"""The fatbin reader behind the V100 image's choice of vLLM, on fatbins built here byte by byte."""

import importlib.util
import struct

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("wheel_archs", REPO / "scripts" / "wheel_archs.py")
wheel_archs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wheel_archs)


def entry(kind: int, sm: int, payload: bytes) -> bytes:
    header = struct.pack("<HHIQ", kind, 0x0101, 64, len(payload))
    header += struct.pack("<IIHHI", 0, 0, 0, 0, sm).ljust(64 - len(header), b"\0")
    return header + payload


def container(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return struct.pack("<IHHQ", 0xBA55ED50, 1, 16, len(body)) + body


def test_reads_sass_and_ptx_archs_across_containers_and_chunk_borders():
    blob = (b"\x7fELF" + b"x" * 1000
            + container(entry(2, 70, b"s" * 300), entry(2, 80, b"s" * 50), entry(1, 80, b"p"))
            + b"y" * 5000 + container(entry(2, 90, b"z" * 10)))
    cut = blob.index(struct.pack("<I", 0xBA55ED50)) + 40  # a chunk ends inside an entry header
    found = wheel_archs.scan_stream([blob[:cut], blob[cut:]])
    assert found == {"sass": {70, 80, 90}, "ptx": {80}}


def test_stops_at_an_entry_that_is_not_one():
    blob = container(entry(2, 75, b"a")) + b"\0" * 64
    broken = blob[:16] + struct.pack("<HH", 7, 0) + blob[20:]  # kind 7 is no fatbin entry
    assert wheel_archs.scan_stream([broken]) == {"sass": set(), "ptx": set()}

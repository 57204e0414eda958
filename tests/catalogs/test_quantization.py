"""The one quantization catalog: names, GPU needs, and the replaced image's names resolved."""

import json

import pytest

from entrypoint.catalogs import quantization

ROWS = json.loads(quantization.CATALOG.read_text())["methods"]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_row_inherits_every_need_of_what_it_runs_as(name):
    """A replaced image's name is its target renamed: every need (GPU generations, weight bytes,
    checkpoint family, weight-only range, dtype) comes from the target unless the row says it."""
    row, method = ROWS[name], quantization.methods()[name]
    assert method.group in quantization.GROUPS
    if method.runs_as is None:
        assert method.family == tuple(row.get("family", [name]))
        return
    target = quantization.methods()[method.runs_as]
    assert target.runs_as is None and target.group != "legacy"
    for field in quantization.INHERITED:
        if field not in row:
            assert getattr(method, field) == getattr(target, field), (name, field)
    assert set(quantization.INHERITED) >= {"full_speed_capability", "family", "online"}


def test_ifq_needs_what_fp8_marlin_needs_and_nf4_what_bitsandbytes_needs():
    """vLLM's source: the online FP8 configs and FP8 Marlin start at 75, bitsandbytes at 70."""
    needs = quantization.needs()
    assert needs["ifq"].min_capability == needs["fp8_per_tensor"].min_capability == (7, 5)
    assert needs["ifq_nf4"].min_capability == needs["bitsandbytes"].min_capability == (7, 0)
    assert needs["ifq_nf4"].dtype == "float16"


def test_every_name_has_a_group_and_renames_point_at_known_names():
    methods = quantization.methods()
    assert {m.group for m in methods.values()} == set(quantization.GROUPS)
    for name, rename in quantization.renames().items():
        assert name in methods and rename.to in methods

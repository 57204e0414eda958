"""The one quantization catalog: names, GPU needs, and the replaced image's names resolved."""

from entrypoint.catalogs import quantization


def test_a_replaced_image_name_has_the_needs_of_what_it_runs_as():
    methods = quantization.methods()
    for method in (m for m in methods.values() if m.group == "legacy"):
        target = methods[method.runs_as]
        assert target.group != "legacy" and target.runs_as is None
        for field in quantization.INHERITED:
            assert getattr(method, field) == getattr(target, field), (method.name, field)


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

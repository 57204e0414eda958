"""Generated docs: the quantization tables and the settings table's `derived` column."""

import pytest

from entrypoint.devtools import docs
from entrypoint.rules.table import RULES
from entrypoint.settings.knobs import KNOBS
from entrypoint.settings.provenance import Source
from tests.rules.builder import derived


@pytest.mark.parametrize("page", [docs.GUIDE_DOC, docs.SIZING_DOC])
def test_quantization_tables_are_fresh(page):
    assert page not in docs.stale_pages(), f"{page.name} is stale: run `make docs`"


# Inputs under which each derived setting is left unset and the rules fill it in.
SCENARIOS = [{}, {"gpus": "2xA10"}, {"gpus": "1xV100", "env": {"RUN_IMAGE_VARIANT": "v100"}}]


@pytest.mark.parametrize("name", [k.name for k in KNOBS.values() if k.derived_by])
def test_derived_by_names_the_rule_that_derives_it(name):
    rules = {f"{rule.__module__.rsplit('.', 1)[-1]}.{rule.__name__}" for rule in RULES}
    assert KNOBS[name].derived_by in rules
    sources = {derived(**scenario).decided[name].source for scenario in SCENARIOS}
    assert sources & {Source.MODEL, Source.HARDWARE}
    assert f"| derived | {KNOBS[name].help} |" in docs.README.read_text()

"""The rule shape: a rule reads the frozen inputs and the decisions so far and returns an Outcome;
the table folds outcomes in order. A rule test is data in, a value out."""

from __future__ import annotations

import dataclasses

import pytest

from entrypoint.rules import gates, page, sizing
from entrypoint.rules.context import Context, Draft
from entrypoint.rules.outcome import NOTHING, Outcome, decide, env, fact, warn
from entrypoint.rules.table import derive, fold
from entrypoint.settings.provenance import Decision, Source
from tests.rules.builder import LLAMA_8B, derived, inputs


def test_a_rule_is_a_value_from_data():
    out = sizing.max_model_len(Context(inputs(config=LLAMA_8B)))
    assert out == decide("max_model_len", 8192, Source.MODEL, out.settings["max_model_len"].reason)
    assert "capped at 8192" in out.settings["max_model_len"].reason


def test_a_rule_cannot_write_what_it_reads():
    ctx = Context(inputs())
    with pytest.raises(TypeError):
        ctx.decided["dtype"] = Decision("float16", Source.HARDWARE, "no")
    with pytest.raises(AttributeError):
        ctx.warnings.append("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        warn("x").warnings = ()
    with pytest.raises(TypeError):
        decide("dtype", "half", Source.MODEL, "x").settings["dtype"] = None


def test_outcomes_join_in_order_later_settings_win():
    first = decide("dtype", "float16", Source.HARDWARE, "a") + warn("one") + fact("f", "1")
    both = first + decide("dtype", "bfloat16", Source.MODEL, "b") + warn("two") + None
    assert both.settings["dtype"].value == "bfloat16"
    assert both.warnings == ("one", "two") and both.facts == {"f": "1"}
    assert None + NOTHING == NOTHING and first + NOTHING == first


def test_the_fold_keeps_the_users_own_variable_but_always_sets_runs_own():
    draft = Draft()
    mine = Decision("/tmp/plan.json", Source.DEFAULT, "the page's plan")
    fold(draft, env("CUDA_VISIBLE_DEVICES", "GPU-1", "pinned") + env("A", "1", "derived")
         + Outcome(own_env={"ENTRYPOINT_PAGE_PLAN": mine}),
         {"CUDA_VISIBLE_DEVICES": "0", "ENTRYPOINT_PAGE_PLAN": "/elsewhere"})
    assert set(draft.env) == {"A", "ENTRYPOINT_PAGE_PLAN"}
    assert draft.env["ENTRYPOINT_PAGE_PLAN"] is mine


def test_a_string_source_is_refused():
    with pytest.raises(TypeError, match="must be a Source"):
        Decision(1, "env", "a string where a Source belongs")


def test_user_set_through_one_question():
    ctx = derived(env={"QUANTIZATION": "fp8"})
    assert ctx.user_set("quantization") and ctx.user_set("quantization", via=Source.ENV)
    assert not ctx.user_set("quantization", via=Source.CLI)
    assert not ctx.user_set("dtype") and ctx.left_default("api_key")


def test_rules_can_be_folded_alone():
    ctx = derive(inputs(gpus="1xV100", env={"RUN_IMAGE_VARIANT": "v100"}),
                 rules=(gates.prefix_caching,))
    assert ctx.decided["enable_prefix_caching"].value is False
    assert page.serve_page(Context(inputs(env={"UI": "false"}))) is None


def test_the_precedence_order_is_said_from_source_everywhere():
    from entrypoint.cli import help_text
    from entrypoint.devtools.docs import README
    from entrypoint.settings.provenance import PRECEDENCE, precedence_text

    assert [s.says for s in PRECEDENCE]  # every source has its words (a new one needs them too)
    assert precedence_text().index("settings file") < precedence_text().index("from the model")
    assert precedence_text() in help_text()
    assert f"Precedence, highest first: {precedence_text()}." in README.read_text()


def test_every_setting_is_a_typed_attribute():
    from entrypoint.settings import values
    from entrypoint.settings.decided import Settings
    from entrypoint.settings.knobs import KNOBS

    def type_text(knob):
        kind = knob.kind
        text = ("bool" if isinstance(kind, values.Bool) else
                kind.kind.__name__ if isinstance(kind, values.Number) else "str")
        return text + (" | None" if knob.default is None else "")

    assert Settings.__annotations__ == {name: type_text(k) for name, k in KNOBS.items()}
    ctx = derived(env={"MAX_MODEL_LEN": "4096"})
    assert ctx.settings.max_model_len == 4096 and ctx.settings.ui is True
    with pytest.raises(AttributeError):
        ctx.settings.max_model_len = 1

"""The page at / in the plan: on by default, one switch turns it off, its copy holds no secret."""

from __future__ import annotations

import json

import pytest

from entrypoint.cli import make_plan
from entrypoint.errors import UserError
from entrypoint.facts.hardware import NO_GPU
from entrypoint.serve.names import PAGE as MIDDLEWARE
from entrypoint.serve.names import PLAN_ENV

KEYS = "sk-page-first-1a2b3c,sk-page-second-4d5e6f"


def plan_for(model_dir, argv=(), env=None):
    plan, _ = make_plan([str(model_dir), *argv], env or {}, inventory=NO_GPU)
    return plan


def test_on_by_default_with_a_plan_file_per_port(llama_dir, tmp_path):
    plan = plan_for(llama_dir, ["--port", "8600", "--served-model-name", "m1"],
                    {"RUN_DIR": str(tmp_path)})
    path = plan.env[PLAN_ENV]
    assert path == f"{tmp_path}/page-8600.json"
    assert MIDDLEWARE in plan.argv
    page = json.loads(plan.files[path])
    assert page["settings"]["ui"] == {"value": True, "source": "default",
                                      "reason": "run's default"}
    assert page["summary"]["served_name"] == "m1"
    assert page["summary"]["model"] == str(llama_dir)
    assert page["summary"]["family_reason"]  # matched or not, the page says why
    assert page["argv"] == plan.to_json()["argv"]


@pytest.mark.parametrize("argv, env", [(["--ui", "false"], {}), ([], {"UI": "off"}),
                                       (["--ui=no"], {"UI": "on"})])
def test_one_switch_turns_it_off(llama_dir, argv, env):
    plan = plan_for(llama_dir, argv, env)
    assert MIDDLEWARE not in plan.argv
    assert PLAN_ENV not in plan.env
    assert not any(path.endswith(".json") and "page-" in path for path in plan.files)


def test_bad_switch_is_one_sentence(llama_dir):
    with pytest.raises(UserError) as error:
        plan_for(llama_dir, env={"UI": "maybe"})
    assert "UI" in str(error.value) and "\n" not in str(error.value)


def test_page_copy_never_holds_a_secret(llama_dir):
    env = {"API_KEYS": KEYS, "API_KEY": "sk-page-third-7g8h9i", "HF_TOKEN": "hf_pageSecret123"}
    plan = plan_for(llama_dir, ["--api-key", "sk-page-cli-0z9y8x"], env)
    text = plan.files[plan.env[PLAN_ENV]]
    for secret in [*KEYS.split(","), "sk-page-third", "hf_pageSecret123", "sk-page-cli"]:
        assert secret not in text
    page = json.loads(text)
    assert page["settings"]["api_key"]["value"] == "***"
    assert "entrypoint.serve.api_keys.ApiKeyMiddleware" in page["argv"]

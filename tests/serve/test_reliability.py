"""Reliability and security decisions, without a server: keys, drain time, remote code, errors."""

from __future__ import annotations

import asyncio
import json

import pytest

from entrypoint import cli
from entrypoint.errors import UserError
from entrypoint.facts import hardware
from entrypoint.serve.api_keys import ApiKeyMiddleware
from entrypoint.serve.names import API_KEYS as KEYS_MIDDLEWARE
from entrypoint.serve.names import DIGESTS_ENV
from entrypoint.serve.names import ENGINE_WATCH as WATCH_MIDDLEWARE
from tests.conftest import LLAMA_8B, run_cli, write_model_dir

KEYS = ["sk-unit-alpha-1111", "sk-unit-beta-2222", "sk-unit-gamma-3333"]


def plan_for(argv, environ, model):
    plan, _ = cli.make_plan([str(model), *argv], environ, hardware.NO_GPU)
    return plan


def shown(plan) -> str:
    return plan.render_text() + json.dumps(plan.to_json())


def test_keys_from_env_and_flag_reach_the_middleware_not_argv(llama_dir):
    plan = plan_for(["--api-key", KEYS[2]], {"API_KEY": KEYS[0], "API_KEYS": f" {KEYS[1]},"},
                    llama_dir)
    assert "--api-key" not in plan.argv
    assert KEYS_MIDDLEWARE in plan.argv and WATCH_MIDDLEWARE in plan.argv
    assert len(plan.env[DIGESTS_ENV].split(",")) == 3
    assert not any(key in shown(plan) or key in plan.env[DIGESTS_ENV] for key in KEYS)
    assert "3 API key(s)" in shown(plan)


def test_no_keys_no_key_middleware(llama_dir):
    plan = plan_for([], {}, llama_dir)
    assert KEYS_MIDDLEWARE not in plan.argv and DIGESTS_ENV not in plan.env
    assert plan.to_json()["settings"]["api_key"]["value"] is None  # unset is not masked


def test_vllm_api_key_alongside_ours_is_refused(llama_dir):
    with pytest.raises(UserError, match="unset VLLM_API_KEY"):
        plan_for([], {"API_KEY": KEYS[0], "VLLM_API_KEY": KEYS[1]}, llama_dir)


def test_dry_run_process_hides_keys_and_tokens(llama_dir):
    result = run_cli("--dry-run", str(llama_dir), "--api-key", KEYS[2],
                     env={"API_KEYS": KEYS[0], "HF_TOKEN": "hf_unit_token_abcdef"})
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert not any(secret in output for secret in [*KEYS, "hf_unit_token_abcdef"])
    assert "***" in output


def test_drain_time_defaults_below_the_grace_period(llama_dir):
    argv = plan_for([], {}, llama_dir).argv
    timeout = int(argv[argv.index("--shutdown-timeout") + 1])
    assert 0 < timeout < 30
    argv = plan_for([], {"SHUTDOWN_TIMEOUT": "0"}, llama_dir).argv
    assert argv[argv.index("--shutdown-timeout") + 1] == "0"
    with pytest.raises(UserError, match="SHUTDOWN_TIMEOUT='-5'"):
        plan_for([], {"SHUTDOWN_TIMEOUT": "-5"}, llama_dir)


def test_plan_says_when_model_code_will_run(tmp_path):
    config = {**LLAMA_8B, "auto_map": {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}}
    model = write_model_dir(tmp_path / "custom", config)
    reason = plan_for([], {}, model).settings["trust_remote_code"].reason
    assert "WILL run" in reason and "modeling_x.XForCausalLM" in reason
    plan = plan_for([], {"TRUST_REMOTE_CODE": "false"}, model)
    assert any("ships its own code" in w for w in plan.warnings)


def test_plain_model_says_no_custom_code(llama_dir):
    assert "no custom code" in plan_for([], {}, llama_dir).settings["trust_remote_code"].reason


@pytest.mark.parametrize("text, expected", [
    ('{"max_position_embeddings": NaN}', None),
    ('{"max_position_embeddings": Infinity}', None),
    ('{"max_position_embeddings": 1e999, "seq_length": 4096}', "4096"),
])
def test_non_finite_context_is_ignored(tmp_path, text, expected):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(text)
    (model / "model.safetensors").touch()
    argv = plan_for([], {}, model).argv
    assert (argv[argv.index("--max-model-len") + 1] if "--max-model-len" in argv else None) \
        == expected


def test_huge_token_count_is_bad_input(llama_dir):
    with pytest.raises(UserError, match=r"MAX_MODEL_LEN='9+[.]{3}' is not valid: the number"):
        plan_for([], {"MAX_MODEL_LEN": "9" * 400 + "k"}, llama_dir)


def test_deeply_nested_config_is_bad_input(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("[" * 100000)
    with pytest.raises(UserError, match="nested too deeply"):
        plan_for([], {}, model)


def test_overlong_model_path_is_bad_input():
    with pytest.raises(UserError, match="cannot be opened"):
        cli.make_plan([], {"MODEL": "/" + "a" * 5000}, hardware.NO_GPU)


def test_error_messages_stay_on_one_line():
    assert str(UserError("Flag --x\ny is unknown")) == "Flag --x\\ny is unknown"


# --- the key middleware, driven through the ASGI interface ------------------------------------
async def _call(app, path, headers=(), method="GET"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}
    await app(scope, receive, send)
    return sent[0]["status"]


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_middleware_accepts_each_key_and_leaves_probes_open(llama_dir, monkeypatch):
    plan = plan_for([], {"API_KEYS": ",".join(KEYS)}, llama_dir)
    monkeypatch.setenv(DIGESTS_ENV, plan.env[DIGESTS_ENV])
    app = ApiKeyMiddleware(_ok)

    def status(path, headers=(), method="GET"):
        return asyncio.run(_call(app, path, headers, method))

    assert status("/v1/models") == 401
    assert status("/v1/models", [("Authorization", "Bearer nope")]) == 401
    assert status("/v1/models", [("Authorization", f"Basic {KEYS[0]}")]) == 401
    assert all(status("/v1/chat/completions", [("Authorization", f"Bearer {k}")]) == 200
               for k in KEYS)
    assert status("/health") == 200 and status("/metrics") == 200
    assert status("/v1/models", method="OPTIONS") == 200  # CORS preflight carries no key
    assert status("/tokenize") == 401 and status("/invocations") == 401


def test_middleware_without_digests_refuses_to_start(monkeypatch):
    monkeypatch.delenv(DIGESTS_ENV, raising=False)
    with pytest.raises(RuntimeError):
        ApiKeyMiddleware(_ok)


def test_model_of_an_unknown_users_home_is_one_sentence(tmp_path):
    """Found by the long fuzz run (issue 20): MODEL='~0' raised RuntimeError (expanduser)."""
    with pytest.raises(UserError):
        plan_for([], {"MODEL": "~0"}, "~0")

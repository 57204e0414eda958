"""Tuned profiles (`run tune`'s output) at the next start: applied with source `profile` where
made for this model, GPU and vLLM, ranked below the user's settings; ignored with one line
otherwise; a damaged one is one sentence and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from entrypoint import cli
from entrypoint.catalogs import gpus
from entrypoint.errors import UserError
from entrypoint.facts import profile
from entrypoint.facts.hardware import NO_GPU
from entrypoint.rules import page_copy
from entrypoint.settings import vllm_options
from entrypoint.settings.profile_layer import stem
from tests.conftest import LLAMA_8B, write_model_dir
from tests.launch.test_compat_launch import OPTIONS_033, value_of

H100 = gpus.assumed("1xH100-80GB")
SETTINGS = {"max_num_seqs": 48, "max_num_batched_tokens": 2048, "enable_chunked_prefill": True,
            "enable_prefix_caching": False}


@pytest.fixture(autouse=True)
def on_033(monkeypatch):
    monkeypatch.setattr(vllm_options, "load", lambda: OPTIONS_033)
    monkeypatch.setattr(vllm_options, "installed_version", lambda: ("vllm", "0.33.0"))


def write_profile(path: Path, model: Path, inventory=H100, vllm=("vllm", "0.33.0"),
                  settings=None) -> Path:
    key = profile.key_for(model, [g.name for g in inventory.gpus], vllm)
    made = profile.Profile(path, key, dict(SETTINGS if settings is None else settings),
                           {"answer": "holds 48 users at once"})
    path.write_text(json.dumps(made.to_json()))
    return path


def plan(model, argv=(), env=None, inventory=H100):
    made, _ = cli.make_plan([str(model), *argv], env or {}, inventory=inventory)
    return made


@pytest.fixture
def model(tmp_path):
    return write_model_dir(tmp_path / "m", LLAMA_8B)


def test_matching_profile_under_cache_dir_applies_with_source_profile(tmp_path, model):
    write_profile(tmp_path / "run-profile.json", model)
    made = plan(model, env={"CACHE_DIR": str(tmp_path)})
    assert value_of(made.argv, "--max-num-seqs") == "48"
    assert value_of(made.argv, "--max-num-batched-tokens") == "2048"
    assert "--enable-chunked-prefill" in made.argv and "--no-enable-prefix-caching" in made.argv
    for name in SETTINGS:
        assert made.settings[name].source == "profile", name
    assert made.facts["profile"].startswith(f"applied {tmp_path / 'run-profile.json'}")
    assert "holds 48 users" in made.facts["profile"]
    assert made.to_json()["settings"]["max_num_seqs"]["source"] == "profile"  # the page's data


def test_the_page_shows_the_profile(tmp_path, model):
    write_profile(tmp_path / "run-profile.json", model)
    made = plan(model, env={"CACHE_DIR": str(tmp_path)})
    page = json.loads(page_copy.page_json(made))
    assert page["summary"]["profile"] == made.facts["profile"]
    assert page["settings"]["max_num_seqs"] == {
        "value": "48", "source": "profile",
        "reason": f"tuned profile {tmp_path / 'run-profile.json'}"}
    script = (Path(page_copy.__file__).parents[1] / "serve/static/page.js").read_text()
    assert '["Tuned profile", s.profile]' in script


def test_user_settings_win_over_the_profile(tmp_path, model):
    path = write_profile(tmp_path / "p.json", model)
    made = plan(model, ["--max-num-seqs", "4", "--enable-prefix-caching", "--profile", str(path)])
    assert made.argv.count("--max-num-seqs") == 1 and value_of(made.argv, "--max-num-seqs") == "4"
    assert made.settings["enable_prefix_caching"].source == "cli"
    assert "--enable-prefix-caching" in made.argv
    assert made.settings["max_num_batched_tokens"].source == "profile"


def test_a_negated_flag_of_the_user_keeps_the_profile_value_out(tmp_path, model):
    path = write_profile(tmp_path / "p.json", model)
    made = plan(model, ["--no-enable-chunked-prefill"], env={"RUN_PROFILE": str(path)})
    assert "--enable-chunked-prefill" not in made.argv
    assert "--no-enable-chunked-prefill" in made.argv


def test_profile_ranks_above_derived_values(tmp_path, model):
    path = write_profile(tmp_path / "p.json", model, settings={"max_model_len": 4096})
    made = plan(model, env={"RUN_PROFILE": str(path)})
    assert made.settings["max_model_len"].value == 4096
    assert made.settings["max_model_len"].source == "profile"
    env_wins = plan(model, env={"RUN_PROFILE": str(path), "MAX_MODEL_LEN": "2048"})
    assert env_wins.settings["max_model_len"].value == 2048


@pytest.mark.parametrize(("made_on", "vllm", "why"), [
    (gpus.assumed("2xH100-80GB"), ("vllm", "0.33.0"), "made on 2x H100-80GB, this start has 1x"),
    (NO_GPU, ("vllm", "0.33.0"), "made on no GPU, this start has 1x H100-80GB"),
    (H100, ("vllm", "0.26.0"), "made with vllm 0.26.0, this start has vllm 0.33.0"),
])
def test_profile_for_other_hardware_or_vllm_is_ignored_with_one_line(tmp_path, model, made_on,
                                                                     vllm, why):
    path = write_profile(tmp_path / "p.json", model, inventory=made_on, vllm=vllm)
    made = plan(model, env={"RUN_PROFILE": str(path)})
    assert "--max-num-seqs" not in made.argv
    ignored = [w for w in made.warnings if "ignored" in w]
    assert len(ignored) == 1 and why in ignored[0] and "\n" not in ignored[0]
    assert made.facts["profile"].startswith("ignored:")


def test_profile_for_another_model_is_ignored(tmp_path, model):
    other = write_model_dir(tmp_path / "other", {**LLAMA_8B, "num_hidden_layers": 16})
    path = write_profile(tmp_path / "p.json", other)
    made = plan(model, env={"RUN_PROFILE": str(path)})
    assert "--max-num-seqs" not in made.argv
    assert any("made for the model other" in w for w in made.warnings)


def test_none_turns_a_profile_off(tmp_path, model):
    write_profile(tmp_path / "run-profile.json", model)
    made = plan(model, env={"CACHE_DIR": str(tmp_path), "RUN_PROFILE": "none"})
    assert "--max-num-seqs" not in made.argv and "profile" not in made.facts


def test_no_profile_no_line(tmp_path, model):
    made = plan(model, env={"CACHE_DIR": str(tmp_path)})
    assert "profile" not in made.facts and made.settings["profile"].value is None


@pytest.mark.parametrize(("content", "says"), [
    ("{", "is not valid JSON"),
    ("[1, 2]", "is not a run profile"),
    ('{"format": "run-profile/1", "key": {}, "settings": {}}', "damaged run profile"),
    ('{"format": "run-profile/1", "settings": {}, "key": {"model": "m", "model_config": "x",'
     ' "gpu": "none", "gpu_count": "one", "vllm": "v"}}', "wrong types"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_damaged_profile_is_one_sentence(tmp_path, model, content, says):
    path = tmp_path / "run-profile.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError) as raised:
        plan(model, env={"CACHE_DIR": str(tmp_path)})
    assert says in str(raised.value) and "run tune" in str(raised.value)


def test_damaged_profile_exits_2_without_traceback(tmp_path, model, capsys, monkeypatch):
    (tmp_path / "run-profile.json").write_text("{")
    monkeypatch.setenv("CACHE_DIR", str(tmp_path))
    assert cli.main([str(model), "--dry-run", "--assume-gpus", "1xH100-80GB"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "not valid JSON" in err


def test_named_profile_that_is_missing(tmp_path, model):
    with pytest.raises(UserError, match="is not a file"):
        plan(model, ["--profile", str(tmp_path / "nope.json")])


def test_unknown_engine_argument_ignores_the_profile(tmp_path, model):
    path = write_profile(tmp_path / "p.json", model, settings={"warp_drive": True})
    made = plan(model, env={"RUN_PROFILE": str(path)})
    assert any("warp_drive" in w and "ignored" in w for w in made.warnings)


def test_stem_joins_a_flag_and_its_negations():
    assert {stem("--enable-chunked-prefill"), stem("--no-enable-chunked-prefill"),
            stem("--disable-chunked-prefill")} == {"enable-chunked-prefill"}
    assert stem("--max-num-seqs") == "max-num-seqs"

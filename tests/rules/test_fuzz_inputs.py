"""Fuzzing every input of the decision path: environment, CLI flags, the model dir's files.

Invariant: `make_plan` returns a plan that renders (text and JSON) or raises `UserError` with one
line; nothing else escapes, nothing is written, and no secret reaches the rendered plan.
Examples per test: FUZZ_EXAMPLES (default 1000); FUZZ_SEED=any for fresh random cases. The long
run outside CI is `scripts/fuzz.sh` (5 properties x FUZZ_EXAMPLES, plus real processes).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from entrypoint import cli
from entrypoint.errors import UserError
from entrypoint.facts import hardware
from entrypoint.settings.knobs import ENV_NAMES, FLAG_NAMES, KNOBS
from entrypoint.settings.vllm_options import load
from tests.conftest import LLAMA_8B, run_cli

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize="FUZZ_SEED" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MODEL_FILES = ("config.json", "tokenizer_config.json", "generation_config.json",
               "adapter_config.json", "ti_model_config.json", "model.json")  # model.json: Triton
SECRET = "sk-fuzz-secret-7f3a9c"  # must never appear in a rendered plan

# --- values: what a web console or a pasted command can contain --------------------------------
printable = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
words = st.sampled_from(["", " ", "0", "1", "-1", "true", "False", "yes", "off", "auto", "none",
                         "null", "nan", "inf", "-inf", "1e999", "8k", "32K", "1.5", "0.0", "2g",
                         "9" * 30, "9" * 400 + "k", "9" * 5000, "fp8", "awq", "bfloat16", "[]",
                         "{}", "{\"a\": 1}", "--", "-", "=", "/", "../..", "é漢字"])
numbers = st.one_of(st.integers(-(2**70), 2**70).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))
# Bytes as the OS hands them over: Python keeps the ones that are not UTF-8 as lone surrogates.
raw_bytes = st.binary(max_size=24).filter(lambda b: b"\x00" not in b).map(os.fsdecode)
raw_value = st.one_of(words, numbers, st.text(printable, max_size=24), raw_bytes)

env_names = sorted(ENV_NAMES) + ["VLLM_API_KEY", "HF_TOKEN", "MAX_MODLE_LEN", "TP_SIZE", "HOME"]
# Secrets the platform may hold, ASCII or not; when drawn they must be masked in every line.
secret_env = st.sampled_from([{}, {"HF_TOKEN": SECRET}, {"API_KEY": SECRET},
                              {"API_KEYS": f"{SECRET}-a, {SECRET}-b,"},
                              {"API_KEY": f"{SECRET}-clé"}, {"API_KEYS": f"{SECRET}-a,{SECRET}-ü"},
                              {"HF_TOKEN": f"{SECRET}-é"}])
# Paths a platform or a typo hands over: FILE and FOLDER become a regular file and a folder of
# the case's own temporary folder (`with_paths`), so folder settings meet a file.
path_value = st.sampled_from(["FILE", "FILE/sub", "FOLDER", "FOLDER/new/run", "/dev/null",
                              "/proc/none", "~", "~0", "~nobody/x", "relative/dir", "/"])
path_env = st.dictionaries(st.sampled_from(["HOME", "RUN_DIR", "CACHE_DIR", "XDG_CACHE_HOME",
                                            "HF_HOME"]), path_value, max_size=3)
# Ports as platforms set them (PORT, Vertex AI's AIP_HTTP_PORT, SageMaker's), good and bad.
port_env = st.dictionaries(st.sampled_from(["PORT", "AIP_HTTP_PORT", "SAGEMAKER_BIND_TO_PORT"]),
                           st.one_of(st.integers(-5, 70000).map(str), raw_value), max_size=2)
environments = st.builds(lambda env, paths, ports, secrets: {**env, **paths, **ports, **secrets},
                         st.dictionaries(st.sampled_from(env_names), raw_value, max_size=6),
                         path_env, port_env, secret_env)
# Only what a platform sets, every other input valid: these cases reach the launch itself.
platform_environments = st.builds(lambda paths, ports, secrets: {**paths, **ports, **secrets},
                                  path_env, port_env, secret_env)


def with_paths(environ: dict[str, str], tmp: str) -> dict[str, str]:
    """FILE and FOLDER in drawn values made real inside `tmp` (a file, and a folder)."""
    file, folder = Path(tmp) / "a-file", Path(tmp) / "a-folder"
    file.write_text("x")
    folder.mkdir(exist_ok=True)
    return {name: value.replace("FOLDER", str(folder)).replace("FILE", str(file))
            if isinstance(value, str) and value.startswith(("FILE", "FOLDER")) else value
            for name, value in environ.items()}

options = load()
vllm_flags = sorted(options.kinds)
flag_names = st.one_of(
    st.sampled_from(sorted(FLAG_NAMES) + vllm_flags
                    + ["--dry-run", "--json", "--api-key", "--no-trust-remote-code",
                       "--disable-prefix-caching", "--max_model_len", "--bogus-flag"]),
    st.text(printable, max_size=12).map(lambda t: "--" + t),
)


@st.composite
def argv_tokens(draw) -> list[str]:
    tokens: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        flag = draw(flag_names)
        form = draw(st.sampled_from(["bare", "value", "inline", "two"]))
        if form == "bare":
            tokens.append(flag)
        elif form == "inline":
            tokens.append(f"{flag}={draw(raw_value)}")
        else:
            tokens += [flag] + [draw(raw_value) for _ in range(1 if form == "value" else 2)]
    if draw(st.booleans()):
        tokens.insert(0, draw(st.sampled_from(["-", "--", "extra-model-arg", "-5"])))
    return [t for t in tokens if t != "--help" and t != "-h"]


# --- model files: missing, empty, truncated, wrong types, huge numbers, not UTF-8, unreadable ---
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80),
                         st.floats(allow_nan=True, allow_infinity=True),
                         st.text(printable, max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.text(printable, max_size=8), inner, max_size=3),
), max_leaves=8)
interesting_keys = sorted({*LLAMA_8B, "text_config", "llm_config", "quantization_config",
                           "auto_map", "model_max_length", "seq_length", "n_positions",
                           "max_sequence_length", "eos_token_id", "bos_token_id", "chat_template",
                           "torch_dtype", "dtype", "base_model_name_or_path", "r", "lora_alpha",
                           "target_modules", "rope_scaling", "sliding_window", "num_experts",
                           "quant_method", "bits", "group_size", "model_type", "architectures",
                           # Triton model.json engine arguments
                           "model", "enforce_eager", "max_model_len", "tensor_parallel_size",
                           "gpu_memory_utilization", "disable_log_requests", "quantization",
                           "max_num_seqs", "served_model_name"})
shaped_objects = st.builds(
    lambda base, changes: {**base, **changes},
    st.sampled_from([{}, LLAMA_8B]),
    st.dictionaries(st.sampled_from(interesting_keys), json_values, max_size=6),
)


def _dump(value) -> str:
    return json.dumps(value, allow_nan=True)


file_contents = st.one_of(
    st.just(None),  # missing
    st.just(b""),
    shaped_objects.map(lambda o: _dump(o).encode()),
    shaped_objects.map(lambda o: _dump(o).encode()).flatmap(
        lambda data: st.integers(0, max(len(data) - 1, 0)).map(lambda cut: data[:cut])),
    json_values.map(lambda v: _dump(v).encode()),
    st.sampled_from([b"\xff\xfe{}", b"[" * 50000, b"1" * 5000, b'{"max_position_embeddings": '
                     + b"9" * 4400 + b"}", b"NaN", b'{"a": Infinity}', b"<dir>", b"<unreadable>"]),
)
model_dirs = st.fixed_dictionaries({name: file_contents for name in MODEL_FILES})

inventories = st.one_of(st.just(hardware.NO_GPU), st.builds(
    lambda n, name, cap, mem: hardware.Inventory(
        tuple(hardware.Gpu(name, cap, mem) for _ in range(n)), "assumed"),
    st.integers(1, 8), st.sampled_from(["NVIDIA H100 80GB HBM3", "Tesla T4", "NVIDIA L4", ""]),
    st.sampled_from([(7, 5), (8, 0), (8, 6), (8, 9), (9, 0), (10, 0)]),
    st.sampled_from([0, 16 * 2**30, 24 * 2**30, 80 * 2**30, 2**60]),
))


def materialize(folder: Path, files: dict[str, bytes | None]) -> None:
    folder.mkdir()
    for name, content in files.items():
        path = folder / name
        if content is None:
            continue
        if content == b"<dir>":
            path.mkdir()
        elif content == b"<unreadable>":
            path.write_text(_dump(LLAMA_8B))
            path.chmod(0)  # unreadable unless we run as root
        else:
            path.write_bytes(content)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): None if p.is_dir() else p.stat().st_size
            for p in sorted(folder.rglob("*"))}


def check_outcome(argv: list[str], environ: dict[str, str], inventory, model: Path) -> str:
    """The invariant; returns "plan" or "refused" so callers can see the mix."""
    before = snapshot(model.parent)
    try:
        plan, parsed = cli.make_plan(argv, environ, inventory)
    except UserError as error:
        message = str(error)
        assert message and "\n" not in message, repr(message)
        assert SECRET not in message, message
        outcome = "refused"
    else:
        # the page's copy of the plan (a file written at launch) too
        rendered = plan.render_text() + json.dumps(plan.to_json()) + "".join(plan.files.values())
        assert SECRET not in rendered, rendered
        assert all(isinstance(arg, str) for arg in plan.argv)
        outcome = "plan"
    assert snapshot(model.parent) == before, "the decision path wrote files"
    return outcome


@FUZZ
@given(environ=environments, argv=argv_tokens(), inventory=inventories)
def test_env_and_flags_give_a_plan_or_one_sentence(environ, argv, inventory):
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        materialize(model, {"config.json": _dump(LLAMA_8B).encode(), "model.safetensors": b""})
        environ = with_paths(environ, tmp)
        check_outcome(argv, {"MODEL": str(model), **environ}, inventory, model)


@FUZZ
@given(files=model_dirs, environ=environments, inventory=inventories)
def test_model_files_give_a_plan_or_one_sentence(files, environ, inventory):
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        materialize(model, {**files, "model.safetensors": b""})
        environ = {k: v for k, v in with_paths(environ, tmp).items() if k != "MODEL"}
        check_outcome([str(model)], environ, inventory, model)


@FUZZ
@given(model=st.one_of(raw_value, st.sampled_from(["", "/", "/proc/self/mem", "/dev/null",
                                                     "a" * 5000, "/etc/passwd", "/root"])))
def test_model_path_gives_a_plan_or_one_sentence(model):
    with tempfile.TemporaryDirectory() as tmp:
        anchor = Path(tmp) / "model"
        anchor.mkdir()
        check_outcome(["--model", model] if model else [], {"MODEL": model}, hardware.NO_GPU,
                      anchor)


@FUZZ
@given(keys=st.lists(st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                           blacklist_characters=","), min_size=1, max_size=20),
                     min_size=1, max_size=4), argv=argv_tokens())
def test_api_keys_never_rendered(keys, argv):
    """Any API keys (env or --api-key) stay out of argv, env and every rendered line."""
    keys = [f"{SECRET}-{k}" for k in keys]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        materialize(model, {"config.json": _dump(LLAMA_8B).encode(), "model.safetensors": b""})
        environ = {"MODEL": str(model), "API_KEYS": ",".join(keys[1:]), "API_KEY": keys[0]}
        check_outcome([*argv, "--api-key", *keys], environ, hardware.NO_GPU, model)


def test_each_knob_is_fuzzed():
    fuzzed_env = set(env_names)
    assert {k.env for k in KNOBS.values() if k.env} <= fuzzed_env


# --- the launch path, up to the one seam where vLLM is exec'd -----------------------------------
class Execed(Exception):
    """Raised in place of os.execvpe: the launch got as far as starting vLLM."""


def exec_seam(file, args, env):
    assert all(isinstance(a, str) for a in args) and all(isinstance(v, str) for v in env.values())
    for text in (*args, *env.values()):
        os.fsencode(text)  # what the real exec does with every string
    raise Execed


@FUZZ
@given(environ=st.one_of(environments, platform_environments), argv=argv_tokens())
def test_launch_path_ends_in_exec_or_one_sentence(environ, argv):
    """`run` without --dry-run: files written, steps run, then exec; or exit 2 in one line."""
    import contextlib
    import io
    from unittest import mock

    from entrypoint.launch import process

    argv = [a for a in argv if a not in ("--dry-run", "--help", "-h")]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        materialize(model, {"config.json": _dump(LLAMA_8B).encode(), "model.safetensors": b""})
        env = {"RUN_DIR": str(Path(tmp) / "run"), "HOME": tmp,
               **{k: v for k, v in with_paths(environ, tmp).items() if k != "MODEL"},
               "MODEL": str(model), "DISABLE_MEM_CACHE": "true", "HF_HUB_OFFLINE": "1"}
        err = io.StringIO()
        # in tmp: a relative RUN_DIR or CACHE_DIR is created there, not in the checkout
        with mock.patch.dict(os.environ, env, clear=True), contextlib.chdir(tmp), \
                mock.patch.object(process.os, "execvpe", exec_seam), \
                mock.patch.object(process, "raise_open_files_limit", lambda: None), \
                contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = cli.main(argv)
            except Execed:
                status = "exec"
        event(f"launch: {status}")
        if status != "exec":
            lines = err.getvalue().splitlines()
            # 4 (a launch failure) would be an input the plan let through
            assert status == 2 and lines[-1].startswith("run: "), (status, err.getvalue())
            assert SECRET not in err.getvalue()


# --- a few real processes: the same invariant through `run --dry-run` -------------------------
@settings(max_examples=max(6, EXAMPLES // 200), deadline=None, database=None,
          derandomize="FUZZ_SEED" not in os.environ)
@given(files=model_dirs, environ=environments, argv=argv_tokens())
def test_run_process_exits_0_or_2_without_traceback(files, environ, argv):
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        materialize(model, files)
        environ = with_paths(environ, tmp)
        env = {"MODEL": str(model), **{k: v for k, v in environ.items() if k != "MODEL"}}
        try:
            result = run_cli("--dry-run", *argv, env=env)
        except ValueError:  # a value the OS cannot put in an environment (a NUL byte)
            return
        assert result.returncode in (0, 2), result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert SECRET not in result.stdout + result.stderr
        if result.returncode == 2:
            assert result.stderr.startswith("run: ") and result.stderr.count("\n") == 1


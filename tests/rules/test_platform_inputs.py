"""Inputs a platform hands over that slipped through (issue 28 item 4): HOME, RUN_DIR, API keys
and the port variables. Each was a traceback, a wrong exit or a silent no-op before."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from entrypoint import cli
from entrypoint.errors import UserError
from entrypoint.facts import hardware, home
from entrypoint.facts import launch_site as facts
from entrypoint.healthcheck import health_url
from entrypoint.serve.api_keys import DIGESTS_ENV, ApiKeyMiddleware
from tests.conftest import REPO, free_port, run_cli


def plan(llama_dir, env, *argv):
    return cli.make_plan([str(llama_dir), *argv], env, hardware.NO_GPU)[0]


# --- HOME ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["~", "~0", "~nobody/x"])
def test_home_that_is_not_absolute_is_one_sentence_not_a_traceback(llama_dir, value):
    result = run_cli("--dry-run", str(llama_dir), env={"HOME": value})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"run: HOME={value!r} is not an absolute path")
    assert result.stderr.count("\n") == 1


def test_home_unset_without_a_password_entry_is_slash(monkeypatch):
    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(home.pwd, "getpwuid", no_entry)
    assert home.home({}) == "/"
    assert home.home({"HOME": "/home/serve"}) == "/home/serve"
    assert home.problem({}) is None and home.problem({"HOME": ""}) is None


# --- RUN_DIR ------------------------------------------------------------------------------
def test_run_dir_that_is_a_file_is_refused_at_plan_time(llama_dir, tmp_path):
    file = tmp_path / "file"
    file.write_text("x")
    result = run_cli("--dry-run", str(llama_dir), env={"RUN_DIR": str(file)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"run: RUN_DIR={file} is not a folder")


def test_page_file_that_is_a_folder_is_refused(llama_dir, tmp_path):
    port = free_port()
    (tmp_path / f"page-{port}.json").mkdir()
    with pytest.raises(UserError, match=rf"RUN_DIR={tmp_path} holds a file .*page-{port}.json "
                                        "is a folder"):
        plan(llama_dir, {"RUN_DIR": str(tmp_path)}, "--port", str(port))


def test_write_problem_tries_a_probe_file_and_leaves_nothing(tmp_path):
    assert facts.write_problem(str(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []
    assert facts.write_problem(str(tmp_path / "missing")).startswith("is not writable")


READ_ONLY_DRY_RUN = """
set -e
mount -t tmpfs -o ro tmpfs "$1"
exec "$2" -m entrypoint --dry-run "$3" --port "$4"
"""


def test_read_only_mount_is_refused_naming_run_dir(llama_dir, tmp_path):
    """A real read-only mount (a tmpfs in a private mount namespace), as the image meets it."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) here")
    mount = tmp_path / "ro"
    mount.mkdir()
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "ro", "tmpfs",
                            str(mount)], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here: {probe.stderr.decode().strip()}")
    env = {k: v for k, v in os.environ.items() if k not in ("RUN_DIR", "PORT")}
    env.update(RUN_DIR=str(mount / "run"), PYTHONPATH=str(REPO))
    result = subprocess.run(["unshare", "-rm", "sh", "-c", READ_ONLY_DRY_RUN, "sh", str(mount),
                             sys.executable, str(llama_dir), str(free_port())],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"run: RUN_DIR={mount}/run cannot be created: {mount} is on "
                                    "a read-only file system"), result.stderr


# --- API keys -----------------------------------------------------------------------------
@pytest.mark.parametrize("env", [{"API_KEY": "clé-secrète"}, {"API_KEYS": "good-key,sk ü"}])
def test_keys_no_http_client_can_send_are_refused_without_showing_them(llama_dir, env):
    with pytest.raises(UserError, match="not visible ASCII") as refused:
        plan(llama_dir, env)
    assert "clé" not in str(refused.value) and "ü" not in str(refused.value)


def test_middleware_compares_the_header_bytes_with_the_keys_utf8_bytes(monkeypatch):
    key = "clé"
    monkeypatch.setenv(DIGESTS_ENV, hashlib.sha256(key.encode("utf-8")).hexdigest())
    guard = ApiKeyMiddleware(app=None)

    def scope(token: bytes) -> dict:
        return {"type": "http", "method": "GET", "path": "/v1/models",
                "headers": [(b"authorization", b"Bearer " + token)]}

    assert guard.allows(scope(key.encode("utf-8")))
    assert not guard.allows(scope(key.encode("latin-1")))


# --- the port -----------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "argv", "port", "label"), [
    ({"PORT": "9000"}, [], 9000, "PORT"),
    ({"AIP_HTTP_PORT": "9100"}, [], 9100, "AIP_HTTP_PORT"),
    ({"SAGEMAKER_BIND_TO_PORT": "9200"}, [], 9200, "SAGEMAKER_BIND_TO_PORT"),
    ({"PORT": "9000", "AIP_HTTP_PORT": "9100"}, [], 9000, "PORT"),
    ({"PORT": "9000"}, ["--port", "9300"], 9300, "--port"),
])
def test_port_variables_are_honoured_flag_first_and_shown(llama_dir, env, argv, port, label):
    made = plan(llama_dir, env, *argv)
    at = made.argv.index("--port")
    assert made.argv[at + 1] == str(port)
    assert f"set by {label}" in made.render_text()


def test_bad_port_variable_is_one_sentence_naming_it(llama_dir):
    with pytest.raises(UserError, match="AIP_HTTP_PORT='http' is not valid"):
        plan(llama_dir, {"AIP_HTTP_PORT": "http"})


def test_healthcheck_follows_the_port_variables():
    assert health_url({}) == "http://127.0.0.1:8501/health"
    assert health_url({"AIP_HTTP_PORT": "8080"}) == "http://127.0.0.1:8080/health"
    assert health_url({"PORT": "bad"}) == "http://127.0.0.1:8501/health"

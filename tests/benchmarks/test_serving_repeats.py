"""The serving suite alternates configurations over its rounds, so ratios have repeated runs."""

import contextlib

from benchmarks import serving


class Running:
    base = "http://127.0.0.1:1"

    def wait_healthy(self) -> float:
        return 1.5


def test_rounds_alternate_the_configurations(monkeypatch, tmp_path):
    started, driven = [], []

    @contextlib.contextmanager
    def start(model_dir, args, log, env):
        started.append(args[-1])
        yield Running()

    def run_target(suite, config, base, model_dir, datasets, out, repeat):
        driven.append((config, repeat))
        return [{"config": config, "repeat": repeat}]

    monkeypatch.setattr(serving.server, "through_run", start)
    monkeypatch.setattr(serving.server, "plain_vllm", start)
    monkeypatch.setattr(serving, "run_target", run_target)
    suite = {"repeats": 2, "server_args": [],
             "configs": {"a": {"server": "run", "args": ["--a"], "datasets": ["random"]},
                         "b": {"server": "run", "args": ["--b"], "datasets": ["random"]}}}
    servers = {}
    runs = serving.run_suite(suite, "model", tmp_path, servers=servers)
    assert started == ["--a", "--b", "--a", "--b"]
    assert driven == [("a", 0), ("b", 0), ("a", 1), ("b", 1)] and len(runs) == 4
    assert servers["a"]["ready_all_s"] == [1.5, 1.5]

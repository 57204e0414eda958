"""The serving suite alternates configurations over its rounds, so ratios have repeated runs."""

import contextlib

import pytest

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


def test_running_servers_are_driven_in_alternated_rounds(monkeypatch, tmp_path):
    driven = []

    def run_target(suite, config, base, model_dir, datasets, out, repeat):
        driven.append((config, base, tuple(datasets), repeat))
        return [{"config": config, "repeat": repeat}]

    monkeypatch.setattr(serving, "run_target", run_target)
    suite = {"repeats": 2, "datasets": {"rag": {}},
             "configs": {"off": {"server": "run", "args": [], "datasets": ["rag"]},
                         "on": {"server": "run", "args": ["--use-lookahead"], "datasets": ["rag"]}}}
    urls = {"off": "http://127.0.0.1:1", "on": "http://127.0.0.1:2"}
    runs = serving.run_running(suite, urls, "model", tmp_path)
    assert [(c, r) for c, _, _, r in driven] == [("off", 0), ("on", 0), ("off", 1), ("on", 1)]
    assert driven[1][1:3] == ("http://127.0.0.1:2", ("rag",)) and len(runs) == 4


def test_urls_name_configurations_of_the_suite():
    from benchmarks.cli import BadInput, parse_urls

    suite = {"configs": {"off": {}, "on": {}}}
    assert parse_urls("on=http://h:2/,off=http://h:1", suite) == {"on": "http://h:2",
                                                                  "off": "http://h:1"}
    with pytest.raises(BadInput, match="'other=http://h:3' is not CONFIG=URL"):
        parse_urls("other=http://h:3", suite)


def test_no_round_begins_that_would_end_after_stop_after(monkeypatch, tmp_path):
    clock = iter(range(0, 1000, 10))  # each call of the clock: 10 s later
    monkeypatch.setattr(serving.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(serving, "run_target", lambda *args: [{"repeat": args[-1]}])
    suite = {"repeats": 5, "datasets": {"rag": {}}, "configs": {"off": {"datasets": ["rag"]}}}
    runs = serving.run_running(suite, {"off": "http://h:1"}, "model", tmp_path, stop_after=55)
    assert [run["repeat"] for run in runs] == [0, 1]

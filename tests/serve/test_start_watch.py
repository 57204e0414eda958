"""The start watch (issue 28): a SIGTERM or an engine failure during the start ends it soon,
whatever vLLM does with the signal. The end to end proof is tests/e2e/test_failing_start.py."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from entrypoint.serve import group, start_watch
from entrypoint.serve.start_watch import AFTER_FAILURE_S, Ending, StartWatch

STOPPED, FAILED = (0, "stopped"), (1, "failed")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watch(clock: Clock, serving: bool = False, budget: float = 15.0) -> StartWatch:
    ending = Ending(lambda status, sentence: None)
    return StartWatch(ending, lambda: serving, budget, STOPPED, FAILED, clock=clock)


@pytest.mark.parametrize("argv, seconds", [
    (["m", "--shutdown-timeout", "20"], 20.0), (["m", "--shutdown-timeout=7.5"], 7.5),
    (["m"], 0.0), (["m", "--shutdown-timeout", "soon"], 0.0), (["m", "--shutdown-timeout"], 0.0),
])
def test_shutdown_timeout_is_read_from_vllms_flags(argv, seconds):
    assert start_watch.shutdown_timeout(argv) == seconds


def test_the_budget_leaves_time_to_end_inside_the_timeout():
    assert start_watch.stop_budget(20) == 15 and start_watch.stop_budget(0) == 1.0


def test_nothing_is_due_before_a_stop_or_a_failure():
    clock = Clock()
    way, wait = watch(clock).due()
    assert way is None and 0 < wait <= start_watch.NUDGE_EVERY_S


def test_a_failure_line_ends_the_start_a_moment_later():
    clock = Clock()
    w = watch(clock)
    w.observe("(EngineCore pid=7) INFO loading")
    assert w.failed_at is None
    w.observe("(Worker pid=9) ERROR 12-06 [multiproc_executor.py:953] WorkerProc failed to start.")
    assert w.due()[0] is None
    clock.now += AFTER_FAILURE_S
    assert w.due()[0] == FAILED


def test_a_stop_ends_the_start_at_the_budget_unless_vllm_ends_it_first():
    clock = Clock()
    w = watch(clock, budget=15)
    w.stop_requested()
    clock.now += 14
    assert w.due()[0] is None
    clock.now += 1
    assert w.due()[0] == STOPPED


def test_a_requested_stop_wins_over_a_failure_and_comes_as_soon():
    clock = Clock()
    w = watch(clock, budget=15)
    w.stop_requested()
    w.observe("EngineCore failed to start.")
    clock.now += AFTER_FAILURE_S
    assert w.due()[0] == STOPPED


def test_failure_lines_and_stops_while_serving_are_not_the_watchs_business():
    """A SIGTERM while serving is a drain, bounded by the supervision middleware (a first version
    of the watch cut a drain short after 1 s)."""
    w = watch(Clock(), serving=True)
    w.observe("EngineCore failed to start.")
    w.stop_requested()
    assert w.failed_at is None and w.stop_at is None and w.due()[0] is None


def test_the_ending_runs_once_whoever_comes_first():
    calls = []
    ending = Ending(lambda status, sentence: calls.append((status, sentence)))
    assert ending.finish(0, "a") and not ending.finish(1, "b")
    assert calls == [(0, "a")] and ending.begun


def ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # not reaped yet
    except psutil.NoSuchProcess:
        return True


def test_a_process_deaf_to_sigterm_is_killed_at_once():
    """multiprocessing's resource tracker ignores SIGTERM: the group's end no longer waits the
    whole grace for it."""
    deaf = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                             "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True);"
                             " time.sleep(60)"], stdout=subprocess.PIPE)
    hearing = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deaf.stdout.readline()  # its handler is in place
        assert not group.hears_sigterm(deaf.pid) and group.hears_sigterm(hearing.pid)
        began = time.monotonic()
        group.end_descendants(grace=30)
        took = time.monotonic() - began
        assert ended(deaf.pid) and ended(hearing.pid)
        assert took < 15, took  # the deaf one was not given the 30 s grace
        print(f"ended in {took:.2f} s (grace 30 s)")
    finally:
        for process in (deaf, hearing):
            if process.poll() is None:
                process.kill()

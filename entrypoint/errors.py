"""The one error type a user ever sees: a sentence naming the input and the fix, exit code 2."""

# Every exit status of `run` (docs/reliability.md lists them; the serve shim's own are in
# entrypoint.serve.vllm_serve and entrypoint.serve.supervision, which import nothing of ours).
EXIT_STOPPED = 0  # stopped on request (SIGTERM: drained, or during the start)
EXIT_VLLM_FAILED = 1  # vLLM failed to start (or stopped with an error); one sentence says why
EXIT_BAD_INPUT = 2  # refused before anything was written or started
EXIT_ENGINE_FAILED = 3  # the engine died while serving
EXIT_LAUNCH_FAILED = 4  # run could not write, spawn or prepare on this host


class UserError(Exception):
    """Bad input or an impossible launch, explained in one sentence.

    `cli.main` prints the message (no traceback) and exits with EXIT_BAD_INPUT.
    """

    def __init__(self, message: str):
        # Messages quote user input; a newline or control character in it must not break the
        # one-line contract (or forge extra log lines), so those are shown escaped.
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class LaunchError(Exception):
    """An effect of the launch failed on this host (write, spawn): one sentence, exit 4."""

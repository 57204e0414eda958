"""The one error type a user ever sees: a sentence naming the input and the fix, exit code 2."""

EXIT_BAD_INPUT = 2


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

"""The error type CLI handlers raise for a clean one-line failure."""


class CLIError(Exception):
    """A user-facing failure: printed as ``error: <message>``; exits with ``exit_code``."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

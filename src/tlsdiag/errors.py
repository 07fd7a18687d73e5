"""Errors that end a command with exit status 2 and a one-line message."""


class InputError(Exception):
    """An input path that cannot be used at all; the message names path and reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class KnowledgeBaseError(Exception):
    """A signature file that is malformed; the message names file, line and reason."""

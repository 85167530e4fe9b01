"""The one exception type for mistakes a user can fix; the CLI prints its message on one line."""


class QAError(Exception):
    """A user-facing error: bad input, missing or mismatched index, unreadable file."""

"""The one exception type a request handler raises for a client-visible failure.

Every error the server answers is JSON `{"error": "<one line>", "status": <code>}`: the
message is written for the client, never a stack trace, and the same line is logged.
"""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error with a one-line message and optional extra headers (Retry-After)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = " ".join(str(message).split())
        self.headers = headers or {}

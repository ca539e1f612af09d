"""What stops a close command (the CLI prints `str(e)` on one line):

CloseError(message, reference, close_id)   a close cannot go on (exit 1)
 ├── CloseRefused                          bad input: an unknown or expired close id, an
 │                                         unknown reference, a reference already used,
 │                                         a close not in the state the command needs (exit 2)
 └── CloseBusy                             another commit or reopen of it is running (exit 1)
"""

from __future__ import annotations


class CloseError(Exception):
    def __init__(
        self, message: str, *, reference: str | None = None, close_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.reference = reference
        self.close_id = close_id


class CloseRefused(CloseError):
    pass


class CloseBusy(CloseError):
    pass

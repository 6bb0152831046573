"""Domain rejections: the shell turns them into HTTP answers, never into a 500."""

from __future__ import annotations


class DomainError(Exception):
    """A command the rules refuse; `field` names the input at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    @property
    def kind(self) -> str:
        """How shells name it: Conflict (409), Forbidden (403) or InvalidInput (422)."""
        if isinstance(self, Forbidden):
            return "Forbidden"
        return "InvalidInput" if isinstance(self, InvalidInput) else "Conflict"


class Conflict(DomainError):
    """The command is well formed but the cooperation's state refuses it (HTTP 409)."""


class Forbidden(Conflict):
    """The actor may see the cooperation but not do this (HTTP 403).

    A subclass of Conflict so that a shell that only knows Conflict still answers 409
    rather than 500.
    """


class InvalidInput(DomainError):
    """The command names something that does not exist or cannot be (HTTP 422)."""

"""Errors a user can cause and fix; the CLI prints them as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a user: a file, an option, a value. The message says what and where."""


class ValidationFailed(UserError):
    """Records failed validation; `problems` holds every problem found, not only the first."""

    def __init__(self, problems: list, message: str | None = None) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if getattr(p, "severity", "error") == "error"]
        first = errors[0] if errors else (self.problems[0] if self.problems else None)
        summary = message or f"{len(errors)} validation error(s)"
        if first is not None:
            summary += f"; first: {first}"
        super().__init__(summary)

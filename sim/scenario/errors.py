"""The one error type of scenario files: file, line, field path, expectation and finding."""

from __future__ import annotations

import os


def normal_path(file: str) -> str:
    """Return ``file`` without ``./`` and ``dir/../`` parts (``<string>`` stays as it is)."""
    if not file or file.startswith("<"):
        return file
    return os.path.normpath(file)


class ScenarioError(ValueError):
    """An invalid scenario: carries the file, line, field path, expectation and finding.

    ``others`` holds further errors of the same file (sorted by line); the message stays the first
    error's one line, and ``errors`` gives them all (the command line prints one line each).
    """

    def __init__(
        self,
        file: str,
        line: int | None,
        field: str,
        expected: str,
        found: str,
        others: tuple[ScenarioError, ...] = (),
    ) -> None:
        self.file, self.line, self.field = normal_path(file), line, field
        self.expected, self.found = expected, found
        self.others = tuple(others)
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(_one_line(f"{where}: field '{field}': expected {expected}; found {found}"))

    @property
    def errors(self) -> tuple[ScenarioError, ...]:
        """Every error of the file: this one and the others."""
        return (self, *self.others)


def _one_line(text: str) -> str:
    """Escape newlines and other control characters so a message stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

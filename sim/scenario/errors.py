"""The one error type of scenario files: file, line, field path, expected and found."""

from __future__ import annotations


class ScenarioError(ValueError):
    """An invalid scenario: carries the file, line, field path, expectation and finding."""

    def __init__(self, file: str, line: int | None, field: str, expected: str, found: str) -> None:
        self.file, self.line, self.field = file, line, field
        self.expected, self.found = expected, found
        where = f"{file}:{line}" if line else file
        super().__init__(_one_line(f"{where}: field '{field}': expected {expected}; found {found}"))


def _one_line(text: str) -> str:
    """Escape newlines and other control characters so a message stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

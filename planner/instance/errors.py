"""The instance layer's error: :class:`InstanceError`, one ``(path, message)`` pair per
problem, and how a value is shown in a message (printable, clipped, never a screenful)."""

from __future__ import annotations

import datetime
import reprlib
from typing import Any


#: Most problems an :class:`InstanceError` shows (the rest are counted), and the longest
#: line it prints: an error message always fits on a screen.
MAX_SHOWN_PROBLEMS = 10
MAX_LINE_CHARS = 300
MAX_MESSAGE_CHARS = 1500


class InstanceError(Exception):
    """An instance that cannot be used; ``problems`` lists ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        """One line per problem, control characters escaped, each at most
        :data:`MAX_LINE_CHARS` long after the file name; at most :data:`MAX_SHOWN_PROBLEMS`
        lines and :data:`MAX_MESSAGE_CHARS` characters, then how many more: an error
        always fits on a screen."""
        where = f"{clip(printable(self.source), 200)}: " if self.source else ""
        lines: list[str] = []
        for path, msg in self.problems[:MAX_SHOWN_PROBLEMS]:
            field = ".".join(clip(printable(part), 40) for part in str(path).split(".")) if path else ""
            line = where + clip(f"{field}: {printable(msg)}" if path else printable(msg), MAX_LINE_CHARS)
            if lines and sum(len(shown) + 1 for shown in lines) + len(line) > MAX_MESSAGE_CHARS:
                break
            lines.append(line)
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(f"{where}... and {hidden} more problem{'s' if hidden > 1 else ''}")
        return "\n".join(lines)


def printable(text: Any) -> str:
    """``text`` on one line: control characters (newlines, tabs, ...) escaped."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def describe(value: Any) -> str:
    """How a value of the wrong type reads in an error message (in YAML's terms)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, str):
        return f"text {show(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    return show(value)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 8


def show(value: Any) -> str:
    """A short repr: never walks a whole large (or alias-shared) structure."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - e.g. a whole number too long to print
        text = f"a {type(value).__name__}"
    return clip(printable(text), 60)

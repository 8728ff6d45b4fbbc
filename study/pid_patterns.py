"""Participant-id patterns, run by RE2: matching takes time linear in the id whatever the pattern, so a
researcher's pattern such as ``(a+)+$`` cannot let one anonymous request hold a web worker for seconds (Python's
re backtracks: 0.94 s for 22 characters, doubling with each more). A pattern RE2 cannot run (back-references,
look-arounds) is refused when the study is saved, with the reason."""
from __future__ import annotations

from functools import lru_cache

import re2
from django.core.exceptions import ValidationError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is a ValidationError, not a line on stderr

#: Patterns a researcher may pick rather than write (help text and docs name them).
PRESETS = {
    "Prolific (24 hexadecimal characters)": r"[0-9a-f]{24}",
    "Any panel: letters, digits, - and _ (1 to 64)": r"[A-Za-z0-9_-]{1,64}",
}


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    return re2.compile(pattern, _OPTIONS)


def validate_pid_pattern(pattern: str) -> None:
    try:
        _compiled(pattern)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ValidationError(
            f"Not a pattern participant ids can be checked with ({reason}). Use plain character classes and "
            f"repeats, without back-references or look-arounds; e.g. {PRESETS['Prolific (24 hexadecimal characters)']}."
        ) from error


def pid_matches(pattern: str, pid: str) -> bool:
    """Whether ``pid`` matches ``pattern`` in full (a pattern RE2 cannot run matches nothing)."""
    try:
        return _compiled(pattern).fullmatch(pid) is not None
    except re2.error:
        return False

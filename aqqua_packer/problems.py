"""Errors as values the user can act on.

Inside the core, anything wrong with the *input* becomes a ``Problem`` (collected into reports) or
a ``UserError`` (which stops the operation).  Both name the file, row, field and value.  The CLI
and the GUI show ``str(UserError)``; no traceback reaches a user.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, precise enough to find and fix it.

    kind: a short stable code ("missing", "unparseable", "out_of_range", "default_position",
          "sentinel", "image_without_row", "row_without_image", "duplicate_id", "unreadable_image",
          "set_aside", "bad_table", "bad_file", ...).
    severity: "error" (the image cannot be packed), "warning" (packed, but look at it), "info".
    """

    kind: str
    message: str
    file: str | None = None
    row: int | None = None  # 1-based line/row number in ``file`` as a person counts it
    field: str | None = None
    value: str | None = None
    severity: str = "error"

    def __post_init__(self) -> None:
        # a file name that is not UTF-8 is named readably (and can be written to any file)
        for name in ("message", "file", "value"):
            v = getattr(self, name)
            if isinstance(v, str) and not v.isascii():
                object.__setattr__(self, name, shown(v))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        parts = [self.file] if self.file else []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(f"field {self.field}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        where = ", ".join(parts)  # never a leading ", " when no file is named
        return f"{where}: {self.message}" if where else self.message


class UserError(Exception):
    """An error caused by the input or the environment, with a message a biologist can act on.

    Raise it with the file (and row/field where known) in the message.  ``problems`` may carry the
    detailed list behind a summary.
    """

    def __init__(self, message: str, *, problems: list[Problem] | None = None, exit_code: int = 2):
        super().__init__(shown(message))
        self.problems = problems or []
        self.exit_code = exit_code


def shown(text: str) -> str:
    """A path or name for messages and files people read: bytes of a file name that are not
    UTF-8 (Python keeps them as surrogate escapes) are written ``%XX``, their hexadecimal value;
    ``latin\\xe9.png`` (latin-1 é) is shown ``latin%E9.png``.  Other text is returned unchanged."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    return "".join(f"%{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)

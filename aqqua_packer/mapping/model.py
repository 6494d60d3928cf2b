"""The mapping: for each field, where its value comes from, in which format and unit.

A mapping is saved as a JSON profile and reused on the next cruise::

    {"aqqua-profile": 1,
     "fields": {
        "image":      {"column": "img_file_name"},
        "latitude":   {"column": "object_lat", "format": "dms"},
        "pixel_size": {"constant": "10.6", "unit": "um"},
        "datetime":   {"pattern": "(\\d{8}-\\d{6})", "format": "%Y%m%d-%H%M%S"},
        "timezone":   {"constant": "UTC"}}}

Columns are named, never numbered, so an inserted column does not break a profile.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fields import BY_NAME
from ..problems import UserError

PROFILE_VERSION = 1


@dataclass
class FieldSpec:
    """Where one field's value comes from: exactly one of column, constant, pattern."""

    column: str | None = None
    constant: str | None = None
    pattern: str | None = None  # regex applied to the image name (or to ``column`` when both set)
    format: str | None = None  # parser hint: "dms", "ddmm", "iso", "%Y%m%d", "excel", "epoch", ...
    unit: str | None = None  # "m", "cm", "dbar", "um", "mm", "px/um", "dpi", ...
    origin: str = "given"  # "given" by the user or "suggested" by a reader / the matcher
    confidence: float | None = None  # for suggestions
    reason: str = ""  # why it was suggested: "column 'Lat' looks like latitude: 43.1, 43.2"

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: v
            for k, v in (
                ("column", self.column),
                ("constant", self.constant),
                ("pattern", self.pattern),
                ("format", self.format),
                ("unit", self.unit),
            )
            if v not in (None, "")
        }
        return d

    def describe(self) -> str:
        if self.pattern:
            src = f"pattern {self.pattern!r}" + (f" on column {self.column!r}" if self.column else " on the file name")
        elif self.column is not None:
            src = f"column {self.column!r}"
        else:
            src = f"constant {self.constant!r}"
        extra = ", ".join(x for x in (self.format and f"format {self.format}", self.unit and f"unit {self.unit}") if x)
        return f"{src} ({extra})" if extra else src

    @classmethod
    def from_dict(cls, d: dict[str, Any] | str, *, origin: str = "given") -> FieldSpec:
        if isinstance(d, str):
            return cls(column=d, origin=origin)
        known = {"column", "constant", "pattern", "format", "unit", "confidence", "reason"}
        spec = cls(**{k: (str(v) if k in ("column", "constant", "pattern", "format", "unit") and v is not None else v) for k, v in d.items() if k in known}, origin=origin)
        if spec.column is None and spec.constant is None and spec.pattern is None:
            raise UserError(f"mapping entry {d!r} has no column, constant or pattern")
        return spec


@dataclass
class Mapping:
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def to_profile(self) -> dict[str, Any]:
        return {"aqqua-profile": PROFILE_VERSION, "fields": {k: v.to_dict() for k, v in self.fields.items()}}

    @classmethod
    def from_profile(cls, data: dict[str, Any], *, origin: str = "given", where: str = "profile") -> Mapping:
        if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict):
            raise UserError(f"{where}: not a mapping profile (expected an object with 'fields')")
        out = cls()
        for name, spec in data.get("fields", {}).items():
            if name not in BY_NAME:
                raise UserError(f"{where}: unknown field {name!r}")
            out.fields[name] = FieldSpec.from_dict(spec, origin=origin)
        return out

    def merged(self, over: Mapping) -> Mapping:
        """This mapping with ``over``'s fields replacing same-named ones."""
        return Mapping({**self.fields, **over.fields})

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)


def load_profile(path: Path) -> Mapping:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the profile ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    return Mapping.from_profile(data, where=str(path))


def save_profile(mapping: Mapping, path: Path) -> None:
    """Write atomically (temp file, fsync, rename) so a crash never leaves half a profile."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".profile-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(mapping.to_profile(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def parse_cli_mapping(maps: list[str], sets: list[str]) -> Mapping:
    """``--map FIELD=COLUMN`` and ``--set FIELD=VALUE`` as a Mapping (given by the user)."""
    out = Mapping()
    for flag, items, key in (("--map", maps, "column"), ("--set", sets, "constant")):
        for item in items or []:
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or not name:
                raise UserError(f"{flag} {item!r}: write it as FIELD=VALUE, e.g. {flag} latitude=Lat")
            if name not in BY_NAME:
                raise UserError(f"{flag} {item!r}: unknown field {name!r}; known: {', '.join(BY_NAME)}")
            spec = out.fields.get(name) or FieldSpec()
            setattr(spec, key, value)
            out.fields[name] = spec
    return out

"""The mapping: for each field, where its value comes from, in which format and unit.

A mapping is saved as a JSON profile and reused on the next cruise::

    {"aqqua-profile": 1,
     "fields": {
        "image":      {"column": "img_file_name"},
        "latitude":   {"column": "object_lat", "format": "dms"},
        "pixel_size": {"constant": "10.6", "unit": "um"},
        "datetime":   {"pattern": "(\\d{8}-\\d{6})", "format": "%Y%m%d-%H%M%S"},
        "timezone":   {"constant": "UTC"}}}

Columns are named, never numbered, so an inserted column does not break a profile.  An entry
without column, constant or pattern (``{"format": "ddmm"}``) modifies the suggested source
instead of replacing it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..fields import BY_NAME
from ..problems import UserError

PROFILE_VERSION = 1


@dataclass
class FieldSpec:
    """Where one field's value comes from: one of column, constant, pattern (or none: a modifier
    that changes the format/unit/negate of the source suggested for the field)."""

    column: str | None = None
    constant: str | None = None
    pattern: str | None = None  # regex applied to the image name (or to ``column`` when both set)
    format: str | None = None  # parser hint: "dms", "ddmm", "iso", "%Y%m%d", "excel", "epoch", ...
    unit: str | None = None  # "m", "cm", "dbar", "um", "mm", "px/um", "dpi", ...
    origin: str = "given"  # "given" by the user or "suggested" by a reader / the matcher
    confidence: float | None = None  # for suggestions
    reason: str = ""  # why it was suggested: "column 'Lat' looks like latitude: 43.1, 43.2"
    negate: bool = False  # flip the sign (west-positive longitudes, negative depths)
    samples: list[str] = field(default_factory=list)  # values that justify a suggestion
    # why the values contradict the field although the name fits (a doubted suggestion is not
    # applied; it is shown, for the user to confirm or not)
    doubt: str = ""

    @property
    def has_source(self) -> bool:
        return self.column is not None or self.constant is not None or self.pattern is not None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
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
        if self.negate:
            d["negate"] = True
        return d

    def describe(self) -> str:
        if self.pattern:
            src = f"pattern {self.pattern!r}" + (
                f" on column {self.column!r}" if self.column else " on the file name"
            )
        elif self.column is not None:
            src = f"column {self.column!r}"
        elif self.constant is not None:
            src = f"constant {self.constant!r}"
        else:
            src = "(no source)"
        extra = ", ".join(
            x
            for x in (
                self.format and f"format {self.format}",
                self.unit and f"unit {self.unit}",
                self.negate and "negated",
            )
            if x
        )
        return f"{src} ({extra})" if extra else src

    def over(self, base: FieldSpec | None) -> FieldSpec:
        """This spec applied on top of ``base``: a source replaces it, a modifier adjusts it."""
        if self.has_source or base is None:
            return self
        return replace(
            base,
            format=self.format if self.format is not None else base.format,
            unit=self.unit if self.unit is not None else base.unit,
            negate=self.negate or base.negate,
            origin=self.origin,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any] | str, *, origin: str = "given") -> FieldSpec:
        if isinstance(d, str):
            return cls(column=d, origin=origin)
        if not isinstance(d, dict):
            raise UserError(f"mapping entry {d!r} is neither a column name nor an object")
        texts = ("column", "constant", "pattern", "format", "unit", "reason")
        kw: dict[str, Any] = {k: (None if d[k] is None else str(d[k])) for k in texts if k in d}
        if "reason" in kw and kw["reason"] is None:
            kw["reason"] = ""
        if d.get("confidence") is not None:
            try:
                kw["confidence"] = float(d["confidence"])
            except (TypeError, ValueError):
                raise UserError(f"mapping entry {d!r}: confidence must be a number") from None
        if "negate" in d:
            kw["negate"] = d["negate"] is True or str(d["negate"]).strip().lower() in (
                "1",
                "yes",
                "true",
                "y",
                "on",
            )
        if isinstance(d.get("samples"), list):
            kw["samples"] = [str(x) for x in d["samples"]]
        spec = cls(**kw, origin=origin)
        if not spec.has_source and spec.format is None and spec.unit is None and not spec.negate:
            raise UserError(f"mapping entry {d!r} has no column, constant or pattern")
        if spec.pattern is not None:
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                raise UserError(
                    f"mapping entry {d!r}: the pattern is not a valid regular expression ({exc})"
                ) from None
        return spec


@dataclass
class Mapping:
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    # Fields the user turned down: not mapped, whatever a reader or a column name suggests.
    unmapped: set[str] = field(default_factory=set)
    # Columns whose name fits a field but whose values contradict it: not applied, shown with
    # their FieldSpec.doubt so the user can map them on purpose.
    doubted: dict[str, FieldSpec] = field(default_factory=dict)
    # Suspicious kinds a person confirmed ("KIND" or "KIND:FIELD", see plausibility.py).
    accepted: list[str] = field(default_factory=list)

    def to_profile(self) -> dict[str, Any]:
        fields: dict[str, Any] = {k: v.to_dict() for k, v in self.fields.items()}
        fields.update({k: None for k in sorted(self.unmapped) if k not in self.fields})
        out: dict[str, Any] = {"aqqua-profile": PROFILE_VERSION, "fields": fields}
        if self.accepted:
            out["accepted"] = list(self.accepted)
        return out

    @classmethod
    def from_profile(
        cls, data: dict[str, Any], *, origin: str = "given", where: str = "profile"
    ) -> Mapping:
        if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict):
            raise UserError(f"{where}: not a mapping profile (expected an object with 'fields')")
        out = cls()
        for name, spec in data.get("fields", {}).items():
            if name not in BY_NAME:
                raise UserError(f"{where}: unknown field {name!r}")
            if spec is None:
                out.unmapped.add(name)
                continue
            out.fields[name] = FieldSpec.from_dict(spec, origin=origin)
        accepted = data.get("accepted") or []
        if not isinstance(accepted, list):
            raise UserError(f"{where}: 'accepted' must be a list such as [\"ship_speed\"]")
        from .plausibility import parse_accept

        out.accepted = [str(a) for a in parse_accept(str(a) for a in accepted)]
        return out

    def merged(self, over: Mapping) -> Mapping:
        """This mapping with ``over``'s fields replacing (or, for modifiers, adjusting) its own,
        and without the fields ``over`` turns down."""
        out = {k: v for k, v in self.fields.items() if k not in over.unmapped}
        for name, spec in over.fields.items():
            out[name] = spec.over(out.get(name))
        unmapped = (self.unmapped - set(over.fields)) | over.unmapped
        doubted = {k: v for k, v in {**self.doubted, **over.doubted}.items() if k not in out}
        accepted = list(dict.fromkeys([*self.accepted, *over.accepted]))
        return Mapping(out, unmapped, doubted, accepted)

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


_ATTRS = ("column", "constant", "pattern", "format", "unit", "negate")


def parse_cli_mapping(maps: list[str], sets: list[str]) -> Mapping:
    """``--map FIELD=COLUMN`` and ``--set FIELD=VALUE`` as a Mapping (given by the user).

    ``--set FIELD.ATTR=VALUE`` sets one part of a field: ``--set latitude.format=ddmm``,
    ``--set depth.unit=dbar``, ``--set longitude.negate=yes``, ``--set datetime.pattern=REGEX``.
    ``--map FIELD=`` (nothing after ``=``) turns a suggestion down: the field is not mapped.
    """
    out = Mapping()
    for flag, items, key in (("--map", maps, "column"), ("--set", sets, "constant")):
        for item in items or []:
            name, sep, value = item.partition("=")
            name = name.strip()
            attr = key
            if "." in name:
                name, _, attr = name.partition(".")
                attr = attr.strip().lower()
                if attr not in _ATTRS:
                    raise UserError(
                        f"{flag} {item!r}: unknown part {attr!r}; use one of {', '.join(_ATTRS)}"
                    )
            if not sep or not name:
                raise UserError(
                    f"{flag} {item!r}: write it as FIELD=VALUE, e.g. {flag} latitude=Lat"
                )
            if name not in BY_NAME:
                raise UserError(
                    f"{flag} {item!r}: unknown field {name!r}; known: {', '.join(BY_NAME)}"
                )
            if flag == "--map" and attr == "column" and not value.strip():
                out.unmapped.add(name)  # --map FIELD= : do not map it, whatever is suggested
                out.fields.pop(name, None)
                continue
            spec = out.fields.get(name) or FieldSpec()
            if attr == "negate":
                spec.negate = value.strip().lower() in ("1", "yes", "true", "y", "on")
            else:
                if attr == "pattern":
                    try:
                        re.compile(value)
                    except re.error as exc:
                        raise UserError(
                            f"{flag} {item!r}: not a valid regular expression ({exc})"
                        ) from None
                setattr(spec, attr, value)
            out.fields[name] = spec
    return out

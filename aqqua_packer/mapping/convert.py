"""Per-field conversion: one converter per kind of value, named by ``fields.Field.convert``.

A converter turns the text each item has for one field into values, a status per item and the
problems, through ``values.convert_values`` (each distinct value parsed once).  A new field of a
kind that exists (a length, a text, a number with a range) is one line in ``fields.py``; a new
kind is one function here and one line in ``CONVERTERS``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..fields import Field
from . import bulk, parsers
from .state import ScanState
from .suggest import column_dayfirst
from .values import Result, Source, convert_values, text_values

Converter = Callable[[Field, Source, ScanState], Result]


def dayfirst_of(s: Source) -> bool | None:
    """Whether the column writes the day before the month, when its format does not say."""
    if s.spec.format not in (None, "auto"):
        return None
    return column_dayfirst([v for v in pd.unique(s.raw) if isinstance(v, str)][:5000])


def _datetime(f: Field, s: Source, st: ScanState) -> Result:
    fmt, dayfirst, tz, now = s.spec.format, dayfirst_of(s), st.settings.tz, st.now
    return convert_values(
        f.name,
        [s],
        lambda v: parsers.parse_datetime(v, fmt, tz, dayfirst, now=now),
        "ns",
        severity=f.severity,
        report_missing=f.report_missing,
    )


def _coordinate(f: Field, s: Source, st: ScanState) -> Result:
    axis = "lat" if f.kind == "latitude" else "lon"
    fmt, neg = s.spec.format, s.spec.negate
    return convert_values(
        f.name,
        [s],
        lambda v: parsers.parse_coordinate(v, axis, fmt, neg),
        "float",
        severity=f.severity,
        report_missing=f.report_missing,
        fast=bulk.fast_coordinate(axis, fmt, neg),
    )


def _length(
    f: Field, s: Source, st: ScanState, check: Callable[[float], float], lo: float, hi: float
) -> Result:
    """A length in any unit, in metres, checked by ``check`` (``fast``: within ``lo..hi``)."""
    spec = s.spec
    # a stand-in's problems are warnings when the field it stands in for is mapped itself
    severity = "warning" if f.backs and st.src(f.backs) is not None else f.severity
    factor = parsers.LENGTH_UNITS.get((spec.unit or "m").lower())
    return convert_values(
        f.name,
        [s],
        lambda v: check(parsers.parse_length(v, spec.unit, negate=spec.negate)),
        "float",
        severity=severity,
        report_missing=f.report_missing,
        fast=bulk.fast_scaled(factor, lo, hi, negate=spec.negate),
    )


def _depth(f: Field, s: Source, st: ScanState) -> Result:
    """Depth is positive down (metres)."""
    return _length(f, s, st, parsers.check_depth, 0.0, 11_100.0)


def _check_altitude(a: float) -> float:
    if not -11_100 <= a <= 9_000:
        raise parsers.ParseError(
            "outside -11100..9000 m: check the unit or the sign", "out_of_range"
        )
    return a


def _altitude(f: Field, s: Source, st: ScanState) -> Result:
    """Altitude is negative below the sea surface (metres)."""
    return _length(f, s, st, _check_altitude, -11_100.0, 9_000.0)


def _pixel_size(f: Field, s: Source, st: ScanState) -> Result:
    unit, kind = s.spec.unit, st.scan.kind
    return convert_values(
        f.name,
        [s],
        lambda v: parsers.check_pixel_size(parsers.parse_pixel_size(v, unit), kind),
        "float",
        severity=f.severity,
        report_missing=f.report_missing,
        fast=bulk.fast_pixel_size(unit, kind),
    )


VOLUME_UNITS = {"l": 1.0, "ml": 0.001, "cl": 0.01, "m3": 1000.0, "ul": 1e-6, "µl": 1e-6}


def _volume(f: Field, s: Source, st: ScanState) -> Result:
    factor = VOLUME_UNITS.get((s.spec.unit or "l").lower().replace("³", "3"))

    def vol(v):
        if factor is None:
            raise parsers.ParseError("unknown volume unit (L, mL, m3, uL)")
        x = parsers.parse_number(v) * factor
        if x < 0:
            raise parsers.ParseError("a volume cannot be negative", "out_of_range")
        return x

    return convert_values(
        f.name, [s], vol, "float", severity=f.severity, report_missing=f.report_missing
    )


def _text(f: Field, s: Source, st: ScanState) -> Result:
    return text_values(s)


CONVERTERS: dict[str, Converter] = {
    "datetime": _datetime,
    "coordinate": _coordinate,
    "depth": _depth,
    "altitude": _altitude,
    "pixel_size": _pixel_size,
    "volume": _volume,
    "text": _text,
}

# The array type of each converter's values (a field nothing is mapped to gets an empty one).
DTYPES = {"datetime": "ns", "text": "obj"}


def dtype_of(f: Field) -> str:
    return DTYPES.get(f.convert or "", "float")

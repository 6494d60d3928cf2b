"""Bulk conversion of the plain values of a column, all at once.

Most cells are plain: ``12.5``, ``43°0 0``, ``111823``.  These functions convert many distinct
values in one pass and say which they accepted; everything else (and every value that would be a
problem) is left to ``parsers``, which explains what it refuses.  The results must equal the
parsers' exactly (tests/mapping/test_mapping_apply.py checks it on hundreds of values).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import parsers


def plain_numbers(u: np.ndarray) -> np.ndarray:
    """The distinct values that are plain numbers (``12.5``, ``-3``, ``1e3``) as floats, else nan."""
    num = pd.to_numeric(pd.Series(u, dtype=object), errors="coerce")
    v = np.array(num.to_numpy(dtype=float, na_value=np.nan), dtype=float)  # a writable copy
    v[np.isin(v, list(parsers.NUMBER_SENTINELS))] = np.nan
    return v


def fast_coordinate(axis: str, fmt: str | None, negate: bool):
    if (fmt or "auto").lower() not in ("auto", "decimal", "dms"):
        return None
    limit = 90.0 if axis == "lat" else 180.0

    def fast(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = plain_numbers(u)
        rest = ~np.isfinite(v)
        if rest.any():
            v[rest] = _dms_numbers(u[rest], axis)
        if negate:
            v = -v
        v = v + 0.0
        return v, np.isfinite(v) & (np.abs(v) <= limit)

    return fast


# Degrees, minutes, seconds as UVP and EcoTaxa write them (43°0 0, 43°30'15.5", 12°30.5'W); any
# other form goes to parsers.parse_coordinate, which this must agree with (tests check it does).
_DMS_FAST = (
    r"^([+-]?)(\d{1,3})°\s*(\d{1,2}(?:\.\d+)?)(?:(?:\s*['′]\s*|\s+)(\d{1,2}(?:\.\d+)?)(?:\s*(?:\"|″|''))?)?"
    r"\s*['′]?\s*([NSEWnsew]?)$"
)
_DMS_RX = re.compile(_DMS_FAST)


def _dms_numbers(u: np.ndarray, axis: str) -> np.ndarray:
    match = _DMS_RX.match
    wrong = "EW" if axis == "lat" else "NS"
    out = np.full(len(u), np.nan)
    for i, x in enumerate(u.tolist()):
        if not isinstance(x, str):
            continue
        m = match(x.strip())
        if m is None:
            continue
        sign, d, mins, secs, hemi = m.groups()
        hemi = hemi.upper()
        if hemi and hemi in wrong or (secs is not None and "." in mins):
            continue
        mi = float(mins)
        se = float(secs) if secs is not None else 0.0
        if mi >= 60 or se >= 60:
            continue
        v = float(d) + mi / 60 + (se / 3600 if secs is not None else 0.0)
        out[i] = -v if sign == "-" or hemi in ("S", "W") else v
    return out


def fast_scaled(
    factor: float | None, lo: float, hi: float, negate: bool = False, invert: bool = False
):
    """Plain numbers times a unit's factor (or factor / number), kept when within [lo, hi]."""
    if factor is None:
        return None

    def fast(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = plain_numbers(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = factor / v if invert else v * factor
        if negate:
            v = -v
        return v, np.isfinite(v) & (v >= lo) & (v <= hi)

    return fast


def fast_pixel_size(unit: str | None, kind: str | None):
    u = (unit or "um").lower().replace("pixel", "px").replace("micrometers", "um").replace(" ", "")
    lo, hi = parsers.PIXEL_SIZE_RANGES.get((kind or "").lower(), (0.001, 100_000))
    lo, hi = max(lo, 0.001), min(hi, 100_000)
    if u in parsers._PIXEL_UNITS:
        return fast_scaled(parsers._PIXEL_UNITS[u], lo, hi)
    if u in parsers._PER_LENGTH:
        return fast_scaled(parsers._PER_LENGTH[u], lo, hi, invert=True)
    return None


def fast_time(fmt: str | None, width: int | None):
    """Times written as digits (HMM, HHMM, HHMMSS without leading zeros), all at once."""
    f = (fmt or "auto").lower()
    if f not in ("auto", "hhmm", "hmm", "hhmmss"):
        return None
    fixed = {"hhmm": 4, "hmm": 4, "hhmmss": 6}.get(f) or width

    def fast(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        strs = pd.Series(u, dtype=object).map(lambda x: x.strip() if isinstance(x, str) else "")
        digits = strs.str.fullmatch(r"[0-9]{1,6}").fillna(False).to_numpy(dtype=bool)
        lens = strs.str.len().to_numpy()
        iv = np.zeros(len(u), dtype=np.int64)
        iv[digits] = strs[digits].astype(np.int64).to_numpy()
        w = np.full(len(u), fixed) if fixed else np.where(lens <= 4, 4, 6)
        six = w == 6
        h = np.where(six, iv // 10000, iv // 100)
        mi = np.where(six, iv // 100 % 100, iv % 100)
        sec = np.where(six, iv % 100, 0)
        ok = digits & (lens <= w) & (h < 24) & (mi < 60) & (sec < 60)
        return (h * 3600 + mi * 60 + sec).astype(float), ok

    return fast

"""The mapping an EcoTaxa table implies: columns, formats and units for every field.

EcoTaxa's own columns (``object_lat``, ``object_date``, ...) are documented in EcoTaxa's import
help ("Import: file format"); the pixel size and volume columns, in their instruments' units, are in
``ecotaxa_units``.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .ecotaxa_units import pixel_size_suggestion, volume_suggestion
from .suggested import col, samples, spec

_DMS_TEXT = re.compile(r"[°º]|^\s*-?\d+\s+\d")


def _date_format(vals: list[str]) -> str | None:
    if vals and all(re.fullmatch(r"\d{8}", v) for v in vals):
        return "%Y%m%d"
    if vals and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in vals):
        return "%Y-%m-%d"
    return None


def suggest(rows: pd.DataFrame) -> dict[str, Any]:
    """The mapping an EcoTaxa table implies: columns, formats and units for every field."""
    f: dict[str, Any] = {}
    if rows.empty:
        return {"fields": f}
    for field_name, names in (("latitude", ("object_lat",)), ("longitude", ("object_lon",))):
        c = col(rows, *names)
        if c:
            vals = samples(rows, c)
            fmt = "dms" if any(_DMS_TEXT.search(v) for v in vals) else None
            f[field_name] = spec(
                c,
                f"EcoTaxa's {c}: {', '.join(vals)}"
                + (" (degree-minute-second text)" if fmt else ""),
                format=fmt,
            )
    c = col(rows, "object_date")
    if c:
        vals = samples(rows, c)
        f["date"] = spec(c, f"EcoTaxa's {c}: {', '.join(vals)}", format=_date_format(vals))
    c = col(rows, "object_time")
    if c:
        f["time"] = spec(
            c,
            f"EcoTaxa's {c} (HHMMSS, HHMM or HH:MM:SS): {', '.join(samples(rows, c))}",
            format="auto",
        )
    for field_name, name in (("depth_min", "object_depth_min"), ("depth_max", "object_depth_max")):
        c = col(rows, name)
        if c:
            f[field_name] = spec(
                c, f"EcoTaxa's {c}, metres: {', '.join(samples(rows, c))}", unit="m"
            )
    px = pixel_size_suggestion(rows)
    if px:
        f["pixel_size"] = px
    vol = volume_suggestion(rows)
    if vol:
        f["volume_sampled"] = vol
    for field_name, names, conf in (
        ("object_id", ("object_id",), 0.9),
        ("label", ("object_annotation_category",), 0.8),
        ("sample_id", ("sample_id",), 0.9),
        ("station_id", ("sample_stationid", "sample_station", "sample_station_id"), 0.8),
    ):
        c = col(rows, *names)
        if c:
            f[field_name] = spec(
                c, f"EcoTaxa's {c}: {', '.join(samples(rows, c))}", confidence=conf
            )
    if "date" in f:
        f["timezone"] = {
            "constant": "UTC",
            "confidence": 0.6,
            "reason": "EcoTaxa asks for object_date and object_time in UTC; change it if your lab wrote local times",
        }
    return {"fields": f}


def sensor_of(rows: pd.DataFrame) -> str:
    c = col(rows, "acq_instrument")
    return samples(rows, c, 1)[0] if c else ""

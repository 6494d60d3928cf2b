"""What a column says beyond its name matching a field: the unit in its name, and values that
contradict the field (so that a column is not suggested on its name alone).

Used by ``suggest``; kept apart so that the list of names there stays readable.
"""

from __future__ import annotations

import re

from . import parsers

# Below the suggestion threshold: a doubted column is offered, never applied by itself.
DOUBTED_CONFIDENCE = 0.3

_VOLUME_WORDS = {
    "l": "l",
    "liter": "l",
    "liters": "l",
    "litre": "l",
    "litres": "l",
    "dm3": "l",
    "ml": "ml",
    "milliliter": "ml",
    "milliliters": "ml",
    "millilitre": "ml",
    "millilitres": "ml",
    "cm3": "ml",
    "cl": "cl",
    "ul": "ul",
    "microliter": "ul",
    "microliters": "ul",
    "m3": "m3",
}
_BRACKET = re.compile(r"[\[(]\s*([^\])]+?)\s*[\])]")


def volume_unit(name: str) -> str | None:
    """The volume unit a column's name gives: ``acq_volume_ml``, ``Volume [mL]``, ``vol_l``,
    ``image-volume-sampled-liters``, ``Volume [m**3]``; None when it gives none."""
    low = name.lower().replace("µ", "u").replace("μ", "u").replace("**", "").replace("³", "3")
    bracket = _BRACKET.search(low)
    tokens = [t for t in re.split(r"[^a-z0-9]+", bracket.group(1) if bracket else low) if t]
    if not bracket:
        tokens = tokens[1:]  # "l_sample" is not litres: a unit follows the name
    for t in reversed(tokens):
        if t in _VOLUME_WORDS:
            return _VOLUME_WORDS[t]
    return None


_INTEGER = re.compile(r"[+-]?\d{1,3}")
_DATE_ONLY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}|\d{8}")


def dates_only(sample: list[str]) -> bool:
    """Whether every value is a date without a time of day (Darwin Core's ``eventDate`` often)."""
    return bool(sample) and all(_DATE_ONLY.fullmatch(v.strip()) for v in sample)


def numbers(values) -> list[float]:
    out = []
    for v in values:
        try:
            out.append(parsers.parse_number(v))
        except parsers.ParseError:
            continue
    return out


def value_doubt(
    fname: str,
    col: str,
    sample: list[str],
    depth_range: tuple[float, float, list[str]] | None = None,
) -> str:
    """Why the column's values contradict the field although its name fits, in plain words; ""
    when they do not.  ``depth_range``: (top, bottom, columns) that the instrument's header gives
    (a depth range repeated on every row)."""
    if fname == "label" and sample and len(sample) <= 20:
        if all(_INTEGER.fullmatch(v.strip()) for v in sample):
            shown = ", ".join(sorted(sample, key=int)[:5])
            return (
                f"it holds only small whole numbers ({shown}): codes, not the names of taxa or "
                "categories; map it only if you know what each number means"
            )
    if fname in ("depth", "depth_min", "depth_max") and depth_range is not None:
        lo, hi, named = depth_range
        values = numbers(sample)
        if not values or col in named:
            return ""
        slack = max(10.0, 0.1 * (hi - lo))
        outside = sum(1 for v in values if v < lo - slack or v > hi + slack)
        if outside > len(values) / 2:
            return (
                f"its values ({min(values):g} to {max(values):g}) lie outside the depth range "
                f"{lo:g} to {hi:g} m that {' and '.join(repr(n) for n in named)} give: they are "
                "not depths (grey levels of the objects, perhaps)"
            )
    return ""


# Column names of the standards marine data comes in, normalised as ``suggest.normalise`` does
# (lower case, letters and digits only, units in brackets dropped), added to suggest.SYNONYMS.
# PANGAEA: parameter names of its data tables ("Depth water [m]", "DATE/TIME", "LATITUDE",
#   "Elevation [m]").  Darwin Core and OBIS: the terms of the Darwin Core standard (TDWG,
#   https://dwc.tdwg.org/terms/) that OBIS asks for, plus OBIS's verbatimDepth.  iFDO: the
#   image-* fields of the image FAIR Digital Object specification (iFDO v2: image-latitude,
#   image-altitude-meters, image-pixel-per-millimeter, ...; "image" is a prefix suggest strips).
#   SeaDataNet / ODV spreadsheets: "Latitude [degrees_north]", "Depth [m]", the time column named
#   by its format "yyyy-mm-ddThh:mm:ss.sss", and ODV's "mon/day/yr" and "hh:mm".
STANDARD_NAMES: dict[str, tuple[str, ...]] = {
    "latitude": ("latitudedegreesnorth",),
    "longitude": ("longitudedegreeseast",),
    "datetime": ("yyyymmddthhmmsssss", "yyyymmddthhmmss", "yyyymmddthhmm"),
    "date": ("mondayyr", "yyyymmdd"),
    "time": ("eventtime", "hhmm", "hhmmss"),
    "depth": ("depthwater", "waterdepth", "verbatimdepth"),
    "depth_min": ("minimumdepthinmeters", "minimumdepth", "depthwatermin", "depthminmeters"),
    "depth_max": ("maximumdepthinmeters", "maximumdepth", "depthwatermax", "depthmaxmeters"),
    "altitude": (
        "altitudemeters",
        "altitudemetres",
        "minimumelevationinmeters",
        "maximumelevationinmeters",
    ),
    "pixel_size": ("pixelpermillimeter", "pixelspermillimeter", "pixelsizemicrometer"),
    "volume_sampled": (
        "volumesampledliters",
        "sampledvolumeliters",
        "volumeliters",
        "volumelitres",
        "volumeml",
        "volumemilliliters",
    ),
    "sample_id": ("eventid", "materialsampleid", "parenteventid"),
    "station_id": ("locationid",),
    "object_id": ("occurrenceid", "catalognumber"),
}

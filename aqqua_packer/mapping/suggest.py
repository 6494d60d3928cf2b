"""Suggest a mapping: instrument presets first, then column names checked against their values.

A column is suggested for a field when its name looks like the field's (a synonym such as ``Lat``,
``LATITUDE``, ``object_lat``, ``gpsLatitude``, ``Breite``, or close to one) *and* its values parse
as that field.  Every suggestion carries the sample values that justify it and a confidence, so
the user can confirm or change it.  Nothing is suggested on a name alone when values disagree.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable

import pandas as pd

from ..fields import BY_NAME
from ..sources.base import Scan
from . import hints, parsers
from .model import FieldSpec, Mapping

# Normalised names (lower case, letters and digits only, umlauts spelled out).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "latitude": (
        "lat",
        "latitude",
        "lati",
        "latdeg",
        "latdd",
        "latdec",
        "decimallatitude",
        "gpslat",
        "gpslatitude",
        "breite",
        "breitengrad",
        "latitud",
        "latitudine",
        "ycoord",
        "startlat",
    ),
    "longitude": (
        "lon",
        "long",
        "lng",
        "longitude",
        "londeg",
        "londd",
        "londec",
        "decimallongitude",
        "gpslon",
        "gpslong",
        "gpslongitude",
        "laenge",
        "laengengrad",
        "lange",
        "longitud",
        "longitudine",
        "xcoord",
        "startlon",
    ),
    "datetime": (
        "datetime",
        "datetimeutc",
        "timestamp",
        "timestamputc",
        "utc",
        "eventdate",
        "acquisitiontime",
        "acquisitiondatetime",
        "sampletime",
        "sampledatetime",
        "objectdatetime",
        "zeitstempel",
        "fechahora",
        "dateheure",
        "isodatetime",
        "timeutc",
    ),
    "date": ("date", "datum", "fecha", "sampledate", "day", "dateutc", "eventday", "sampleday"),
    "time": ("time", "zeit", "uhrzeit", "hora", "heure", "timeofday", "sampletimeofday", "timeutc"),
    "depth": (
        "depth",
        "depthm",
        "meandepth",
        "sampledepth",
        "tiefe",
        "profondeur",
        "profundidad",
        "prof",
        "pressure",
        "pres",
        "press",
        "depthmeters",
        "depthmetres",
    ),
    "depth_min": (
        "depthmin",
        "mindepth",
        "depthfrom",
        "depthtop",
        "topdepth",
        "depthstart",
        "zmin",
    ),
    "depth_max": (
        "depthmax",
        "maxdepth",
        "depthto",
        "depthbottom",
        "bottomdepth",
        "depthend",
        "zmax",
    ),
    "altitude": ("altitude", "elevation", "alt", "altitudem", "hoehe", "altitud", "elev"),
    "pixel_size": (
        "pixelsize",
        "pixel",
        "pixelsizeum",
        "pixelsizemicrometers",
        "umperpixel",
        "micronsperpixel",
        "micrometersperpixel",
        "resolution",
        "calconst",
        "pixelum",
        "pxsize",
        "scale",
        "pixelsizeumpx",
    ),
    "volume_sampled": (
        "volume",
        "volumesampled",
        "sampledvolume",
        "vol",
        "volimage",
        "volumeimaged",
        "imagedvolume",
        "volumel",
    ),
    "label": (
        "label",
        "category",
        "taxon",
        "taxa",
        "class",
        "species",
        "annotationcategory",
        "annotation",
        "classification",
        "taxonomy",
        "scientificname",
    ),
    "sample_id": (
        "sampleid",
        "sample",
        "samplename",
        "cast",
        "castid",
        "profileid",
        "tow",
        "towid",
    ),
    "station_id": ("station", "stationid", "stationname", "site", "siteid", "stn"),
    "object_id": ("objectid", "id", "roi", "roiid", "particleid", "objid", "particle"),
    "image": (
        "imgfilename",
        "filename",
        "image",
        "imagename",
        "file",
        "imagefile",
        "imagefilename",
        "img",
        "imagepath",
        "path",
        "vignette",
    ),
}
# with the names of the standards: PANGAEA, Darwin Core, OBIS, iFDO, SeaDataNet (hints.py)
SYNONYMS = {k: v + hints.STANDARD_NAMES.get(k, ()) for k, v in SYNONYMS.items()}
# Prefixes instruments put before a field's name ("object_lat", "acq_pixel", "gpsLatitude").
PREFIXES = (
    "hdr",
    "object",
    "obj",
    "img",
    "image",
    "sample",
    "acq",
    "process",
    "gps",
    "ctd",
    "event",
    "station",
    "meta",
    "nav",
    "ship",
    "start",
    "mean",
)
# Settings and fields never guessed from column names.
NOT_GUESSED = {"timezone", "surface_altitude", "zero_position_confirmed"}

MIN_CONFIDENCE = 0.5
SAMPLE_SIZE = 200


_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue", "ß": "ss"}
)


@functools.lru_cache(maxsize=1024)
def _letters(s: str) -> Counter:
    return Counter(s)


@functools.lru_cache(maxsize=16384)
def normalise(name: str) -> str:
    """``gpsLatitude [°N]`` → ``gpslatitude``; ``Länge`` → ``laenge``; units in brackets dropped."""
    n = re.sub(r"[\[(][^\])]*[\])]", " ", name)
    n = n.translate(_UMLAUTS)
    n = unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", n.lower())


def unit_hint(name: str) -> str | None:
    """The unit a column's name gives: ``Depth [cm]``, ``pressure_dbar``, ``pixel_size_mm``, ``dpi``."""
    low = name.lower().replace("µ", "u").replace("μ", "u")
    # "pixel per millimeter" (iFDO image-pixel-per-millimeter), "pixels_per_um"
    per = re.search(
        r"(?:px|pix|pixels?)[^a-z]*per[^a-z]*(millimet|mm|micromet|um|micron|centimet|cm)", low
    )
    if per:
        return {"m": "px/mm", "c": "px/cm"}.get(per.group(1)[0], "px/um")
    bracket = re.search(r"[\[(]\s*([^\])]+?)\s*[\])]", low)
    tokens = re.split(r"[^a-z/]+", bracket.group(1) if bracket else low)
    tokens = [t for t in tokens if t]
    for t in reversed(tokens):
        t = t.replace("pixel", "px").replace("pix", "px")
        if t in (
            "um",
            "mm",
            "cm",
            "m",
            "km",
            "nm",
            "dbar",
            "db",
            "dpi",
            "ft",
            "ppi",
            "px/mm",
            "px/um",
            "um/px",
            "mm/px",
            "px/cm",
        ):
            return {"db": "dbar", "ppi": "dpi", "um/px": "um", "mm/px": "mm"}.get(t, t)
        if t in ("micron", "microns", "micrometers", "micrometres"):
            return "um"
    if re.search(r"(^|[^a-z])(pres|pressure)([^a-z]|$)", low):
        return "dbar"
    return None


@functools.lru_cache(maxsize=4096)
def name_score(field_name: str, column: str) -> tuple[float, str]:
    """How much a column's name looks like the field's: 1.0 exact synonym ... 0 unrelated."""
    n = normalise(column)
    if not n:
        return 0.0, ""
    syn = SYNONYMS.get(field_name, ())
    if n in syn:
        return 1.0, f"its name matches {field_name!r}"
    # up to two prefixes: "object_lat", "hdr:object_lat" (a reader's header column)
    for p in PREFIXES:
        if n.startswith(p):
            rest = n[len(p) :]
            if len(rest) < 3:  # "sample_id" is not an object id ("id")
                continue
            if rest in syn:
                return 0.95, f"its name without {p!r} matches {field_name!r}"
            for q in PREFIXES:
                if rest.startswith(q) and rest[len(q) :] in syn:
                    return 0.9, f"its name without {p + q!r} matches {field_name!r}"
    unitless = re.sub(
        r"(deg|dd|dec|m|cm|dbar|um|mm|utc|local|degn|dege|degrees|dpi|ppi|px|pxmm|pxum|umpx|mmpx|microns?|micrometers?|meters|metres|inmeters|liters|litres|ml|l|degreesnorth|degreeseast)$",
        "",
        n,
    )
    if unitless != n and unitless in syn:
        return 0.9, f"its name (without the unit) matches {field_name!r}"
    best = 0.0
    letters = None
    for s in syn:
        # a ratio of 0.85 needs lengths within about 15 % of each other: skip the rest cheaply
        if len(s) < 4 or 2 * min(len(s), len(n)) < 0.85 * (len(s) + len(n)):
            continue
        # and as many shared letters (SequenceMatcher.quick_ratio, without building a matcher:
        # that made a table of 5,000 columns take 10 s to suggest from)
        letters = letters or Counter(n)
        if 2 * sum((letters & _letters(s)).values()) < 0.85 * (len(s) + len(n)):
            continue
        best = max(best, difflib.SequenceMatcher(None, n, s).ratio())
    if best >= 0.85:
        return 0.75 * best, f"its name is close to {field_name!r}"
    return 0.0, ""


# --- checking values ----------------------------------------------------------------------------
def _distinct_sample(values: pd.Series, k: int = SAMPLE_SIZE) -> list[str]:
    """Up to ``k`` distinct non-empty values from the top of the column (or spread over it)."""
    out: dict[str, None] = {}
    n = len(values)
    for chunk in (values.iloc[: 20 * k], values.iloc[:: max(1, n // (20 * k))]):
        for v in chunk.tolist():
            if v is None or (isinstance(v, float) and v != v):
                continue
            t = str(v).strip()
            if t:
                out[t] = None
                if len(out) >= k:
                    return list(out)
        if out:
            break
    return list(out)


def _ok_fraction(sample: list[str], parse: Callable[[str], object]) -> float:
    ok = total = 0
    for v in sample:
        try:
            parse(v)
            ok += 1
            total += 1
        except parsers.ParseError as exc:
            if exc.kind == "ambiguous":  # the right column; the report asks for the format
                ok += 1
            if exc.kind not in ("sentinel", "missing"):
                total += 1
    return ok / total if total else 0.0


def _date_format(sample: list[str]) -> tuple[str | None, float]:
    """For a date column, the format that parses the most values, preferring the default."""
    df = _dayfirst(sample)
    return _best_format(
        sample,
        lambda f: lambda v: parsers.parse_date(v, f, dayfirst=df),
        [None, "doy", "excel"],
    )


# Numbers that plausibly are instants of sampling in each numeric format (epoch: 1973-2100,
# Excel: 1950-2100), so that 43866.47 is read as an Excel day, not as seconds after 1970.
_NUMERIC_RANGES = {"epoch": (1e8, 4.1e9), "epoch_ms": (1e11, 4.1e12), "excel": (18_264, 73_051)}


def _datetime_format(sample: list[str]) -> tuple[str | None, float]:
    df = _dayfirst(sample)

    def make(f):
        lo, hi = _NUMERIC_RANGES.get(f or "", (None, None))

        def parse(v):
            if lo is not None and not lo <= parsers.parse_number(v) <= hi:
                raise parsers.ParseError("not a plausible value in this format")
            return parsers.parse_datetime(v, f, dayfirst=df)

        return parse

    return _best_format(sample, make, [None, "epoch", "excel", "doy", "epoch_ms"])


def _best_format(sample: list[str], make, formats: list[str | None]) -> tuple[str | None, float]:
    """(format, fraction of values it reads); None is the automatic reading."""
    best, best_ok = None, 0.0
    for f in formats:
        ok = _ok_fraction(sample, make(f))
        if ok > best_ok + 1e-9:
            best, best_ok = f, ok
        if ok == 1.0:
            break
    return best, best_ok


_SLASH = re.compile(r"\s*(\d{1,2})[/-](\d{1,2})[/-]\d{4}")


def _dayfirst(sample: list[str]) -> bool | None:
    """Whether a column writes DD/MM (some first part > 12), MM/DD (some second > 12), or unknown."""
    first = second = False
    for v in sample:
        m = _SLASH.match(v)
        if m:
            first |= int(m.group(1)) > 12
            second |= int(m.group(2)) > 12
    if first and not second:
        return True
    if second and not first:
        return False
    return None


def column_dayfirst(values: list[str]) -> bool | None:
    return _dayfirst(values)


def _checker(
    field_name: str, column: str, kind: str, sample: list[str]
) -> tuple[Callable[[str], object], dict]:
    """A parse function for sample values, and the format/unit the column's name or values imply."""
    extra: dict = {}
    u = unit_hint(column)
    if field_name == "latitude":
        return (lambda v: parsers.parse_coordinate(v, "lat")), extra
    if field_name == "longitude":
        return (lambda v: parsers.parse_coordinate(v, "lon")), extra
    if field_name in ("depth", "depth_min", "depth_max", "altitude"):
        if u in parsers.LENGTH_UNITS and u != "m":
            extra["unit"] = u
        unit = extra.get("unit")
        if field_name == "altitude":
            return (lambda v: parsers.parse_length(v, unit)), extra
        return (lambda v: parsers.check_depth(parsers.parse_length(v, unit))), extra
    if field_name == "pixel_size":
        if u and u not in ("m", "km", "dbar", "ft", "um"):
            extra["unit"] = u
        unit = extra.get("unit")
        return (lambda v: parsers.check_pixel_size(parsers.parse_pixel_size(v, unit), kind)), extra
    if field_name == "volume_sampled":
        v = hints.volume_unit(column)
        if v is not None and v != "l":
            extra["unit"] = v
        return _non_negative, extra
    if field_name == "time":
        # clock times, or a spreadsheet's fraction of a day (0.4270833 = 10:15)
        fmt, _ = _best_format(sample, lambda f: lambda v: parsers.parse_time(v, f), [None, "excel"])
        if fmt:
            extra["format"] = fmt
        return (lambda v, f=fmt: parsers.parse_time(v, f)), extra
    return (lambda v: v), extra


def _non_negative(v: str) -> float:
    x = parsers.parse_number(v)
    if x < 0:
        raise parsers.ParseError("negative", "out_of_range")
    return x


def _sample_text(sample: list[str], n: int = 3) -> str:
    return ", ".join(repr(s) for s in sample[:n])


def suggest_columns(scan: Scan, *, skip: set[str] | None = None) -> Mapping:
    """Suggestions from column names and values only (no presets); ``skip`` fields are left out."""
    out = Mapping()
    rows = scan.rows
    if rows is None or rows.empty:
        return out
    columns = scan.columns
    skip = set(skip or ())
    used: set[str] = set()
    kind = scan.kind
    depth_range = _header_depth_range(rows, columns)
    # The image column is found by its values (sources.image_folder.suggest_image_column), never by name.
    order = [
        "datetime",
        "date",
        "time",
        "latitude",
        "longitude",
        "depth_min",
        "depth_max",
        "depth",
        "altitude",
        "pixel_size",
        "volume_sampled",
        "label",
        "sample_id",
        "station_id",
        "object_id",
    ]
    for fname in order:
        if fname in skip or fname in NOT_GUESSED or fname not in BY_NAME:
            continue
        candidates = []
        for col in columns:
            if col in used:
                continue
            score, why = name_score(fname, col)
            if 0 < score < 0.9 and _exactly_other(fname, col):
                continue  # "depth_m" is close to "depth_min" but is exactly "depth"
            if score > 0:
                candidates.append((score, col, why))
        best: tuple[float, FieldSpec] | None = None
        for score, col, why in sorted(candidates, reverse=True)[:4]:
            sample = _distinct_sample(rows[col])
            spec = FieldSpec(column=col, origin="suggested")
            if fname in ("datetime", "date"):
                fmt, ok = (_datetime_format if fname == "datetime" else _date_format)(sample)
                if sample and ok == 0:
                    continue  # e.g. a "time" column of clock times, not instants
                if (
                    fname == "datetime"
                    and hints.dates_only(sample)
                    and _has_time_column(columns, col)
                ):
                    continue  # Darwin Core eventDate + eventTime: a date, and a time beside it
                spec.format = fmt
            else:
                check, extra = _checker(fname, col, kind, sample)
                spec.unit = extra.get("unit")
                spec.format = extra.get("format")
                ok = _ok_fraction(sample, check) if sample else 0.0
            # An exact name is suggested even when its values are bad: the report then says why.
            conf = round(score * (0.5 + 0.5 * ok) if sample else score * 0.5, 2)
            if not sample:
                evidence = "the column is empty"
            else:
                evidence = f"{round(ok * 100)}% of {len(sample)} distinct values read as {fname}: {_sample_text(sample)}"
            spec.confidence = conf
            spec.samples = sample[:5]
            spec.reason = f"column {col!r}: {why}; {evidence}"
            doubt = hints.value_doubt(fname, col, sample, depth_range)
            if doubt:
                spec.doubt = doubt
                spec.confidence = round(min(conf, hints.DOUBTED_CONFIDENCE), 2)
                if fname not in out.doubted and conf >= MIN_CONFIDENCE:
                    out.doubted[fname] = spec
                continue
            if conf >= MIN_CONFIDENCE and (best is None or conf > best[0]):
                best = (conf, spec)
        if best is not None:
            out.fields[fname] = best[1]
            out.doubted.pop(fname, None)
            used.add(best[1].column or "")
    # A datetime column makes separate date and time columns unnecessary, and vice versa.
    if "datetime" in out.fields and ("date" in out.fields or "datetime" in skip):
        dt, d = out.fields.get("datetime"), out.fields.get("date")
        if (
            d is not None
            and dt is not None
            and (d.confidence or 0) > (dt.confidence or 0)
            and "time" in out.fields
        ):
            del out.fields["datetime"]
        else:
            out.fields.pop("date", None)
            out.fields.pop("time", None)
    if "time" in out.fields and "date" not in out.fields and "date" not in skip:
        out.fields.pop("time")
    # A sample's depth is more precise than an elevation column, which in PANGAEA and Darwin
    # Core event data is often the site's (the sea floor's) elevation, not the sample's.
    if "altitude" in out.fields and out.fields.keys() & {"depth", "depth_min", "depth_max"}:
        out.fields.pop("altitude")
    return out


def preset_mapping(scan: Scan) -> Mapping:
    """The reader's own suggestion (an instrument preset), marked as suggested."""
    out = Mapping()
    for name, spec in ((scan.suggested or {}).get("fields") or {}).items():
        if name not in BY_NAME or spec is None:  # None: the reader says "not in these files"
            continue
        try:
            fs = FieldSpec.from_dict(spec, origin="suggested")
        except Exception:  # a reader's malformed preset must not stop the check
            continue
        if fs.confidence is None:
            fs.confidence = 0.9
        if not fs.reason:
            fs.reason = f"preset of the {scan.kind} reader"
        if fs.column is not None and not fs.samples and fs.column in scan.rows.columns:
            fs.samples = _distinct_sample(scan.rows[fs.column], 5)
        out.fields[name] = fs
    return out


def suggest_mapping(scan: Scan) -> Mapping:
    """Presets first; columns fill the fields the preset left open."""
    preset = preset_mapping(scan)
    declined = {n for n, v in ((scan.suggested or {}).get("fields") or {}).items() if v is None}
    have = set(preset.fields) | declined
    if "datetime" in have:
        have |= {"date", "time"}
    if "date" in have:
        have.add("datetime")
    if have & {"depth", "depth_min", "depth_max"}:
        have.add("altitude")
    if "altitude" in have:
        have |= {"depth", "depth_min", "depth_max"}
    guessed = suggest_columns(scan, skip=have)
    # depth range columns and a depth column: keep depth (the mean is not needed)
    fields = {**guessed.fields, **preset.fields}
    doubted = {k: v for k, v in guessed.doubted.items() if k not in fields}
    return Mapping(fields, doubted=doubted)


# --- names and values that speak against a column ------------------------------------------------
def _exactly_other(fname: str, col: str) -> bool:
    """Whether the column's name is exactly (or with a prefix or unit) another field's."""
    others = (f for f in SYNONYMS if f != fname and f not in NOT_GUESSED)
    return any(name_score(other, col)[0] >= 0.9 for other in others)


def _has_time_column(columns: list[str], besides: str) -> bool:
    return any(c != besides and name_score("time", c)[0] >= 0.9 for c in columns)


def _header_depth_range(rows: pd.DataFrame, columns: list[str]):
    """(top, bottom, column names) of a depth range the instrument's header gives: columns named
    like depth_min/depth_max (``Zmin``, ``hdr:Zmax``) with one value repeated on every row."""
    ends: list[float] = []
    named: list[str] = []
    for col in columns:
        if max(name_score("depth_min", col)[0], name_score("depth_max", col)[0]) < 0.9:
            continue
        values = _distinct_sample(rows[col], 4)
        if values and len(values) <= 3 and (nums := hints.numbers(values)):
            ends += nums
            named.append(col)
    return (min(ends), max(ends), named) if ends else None

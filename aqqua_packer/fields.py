"""The fields a contributor maps, and the converted-metadata columns they become.

One table, used by the mapping, the report, the package writer, the CLI's help and the GUI's
mapping page, so that a field is described once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str  # what the user writes in --map/--set and profiles
    label: str  # what the GUI shows
    help: str  # a tooltip in plain words
    column: str | None  # converted-metadata (iFDO-style) column it fills; None for inputs only
    required: bool = False
    kind: str = "text"  # "datetime", "date", "time", "latitude", "longitude", "number", "text", "setting"
    unit: str | None = None  # the unit of the converted column
    # How the mapping turns its text into a value: the name of a converter in
    # ``mapping/convert.py`` ("datetime", "coordinate", "depth", "altitude", "pixel_size",
    # "volume", "text"); None for inputs of a derivation (date, time) and settings.
    convert: str | None = None
    # The fields it is worked out from when nothing is mapped to it (by a step in
    # ``mapping/steps.py``; any one of them is enough), and how a message says so.
    derives_from: tuple[str, ...] = ()
    alternative: str = ""
    # A field that stands in for ``backs`` (depth_min for depth): when ``backs`` is mapped itself,
    # problems with this one are warnings, not errors.
    backs: str | None = None
    severity: str = "error"  # of a problem with a value (volume: "warning")
    report_missing: bool = True  # whether an empty value is a problem of its own


FIELDS: tuple[Field, ...] = (
    Field("image", "Image file name", "The column that names each image file, to join rows to images.", None, kind="text"),
    Field("datetime", "Date and time", "When the image was taken. Converted to UTC.", "image-datetime", True, "datetime",
          convert="datetime", derives_from=("date",), alternative="date and time"),
    Field("date", "Date", "The date, when date and time are in separate columns.", None, kind="date"),
    Field("time", "Time", "The time of day, when date and time are in separate columns.", None, kind="time"),
    Field("latitude", "Latitude", "Where the sample was taken, north positive, in decimal degrees.", "image-latitude", True, "latitude", "deg",
          convert="coordinate"),
    Field("longitude", "Longitude", "Where the sample was taken, east positive, in decimal degrees.", "image-longitude", True, "longitude", "deg",
          convert="coordinate"),
    Field("depth", "Depth", "How deep the sample was taken, metres, positive down.", "image-depth-meters", False, "number", "m",
          convert="depth", derives_from=("depth_min", "depth_max")),
    Field("depth_min", "Depth (top)", "Top of the sampled depth range, metres, positive down.", "image-depth-min-meters", False, "number", "m",
          convert="depth", backs="depth"),
    Field("depth_max", "Depth (bottom)", "Bottom of the sampled depth range, metres, positive down.", "image-depth-max-meters", False, "number", "m",
          convert="depth", backs="depth"),
    Field("altitude", "Altitude", "Height of the sample above sea level, metres (negative below the sea surface).", "image-altitude-meters", True, "number", "m",
          convert="altitude", derives_from=("depth",), alternative="depth; for lakes also surface_altitude"),
    Field("pixel_size", "Pixel size", "How many micrometres one pixel spans.", "image-pixel-size-micrometers", True, "number", "um",
          convert="pixel_size"),
    Field("volume_sampled", "Volume sampled", "Volume of water imaged for this image, in litres.", "image-volume-sampled-liters", False, "number", "L",
          convert="volume", severity="warning", report_missing=False),
    Field("label", "Label", "The taxon or category someone gave the object.", "image-label", False, "text", convert="text"),
    Field("sample_id", "Sample id", "Identifier of the sample (net tow, cast, bottle).", "image-sample-id", False, "text", convert="text"),
    Field("station_id", "Station id", "Identifier of the station or site.", "image-station-id", False, "text", convert="text"),
    Field("object_id", "Object id", "Identifier of the imaged object, as the instrument named it.", "image-object-id", False, "text", convert="text"),
    Field("timezone", "Time zone", "The time zone of local times (UTC, +02:00, Europe/Berlin).", None, kind="setting"),
    Field("surface_altitude", "Water surface altitude", "For lakes: altitude of the water surface (m); altitude = surface - depth.", None, kind="setting", unit="m"),
    Field("freshwater", "Freshwater (lake, river)", "Say yes for samples from lakes or rivers: their positions are on land, which is refused for sea water.", None, kind="setting"),
    Field("zero_position_confirmed", "Taken at latitude 0, longitude 0", "Say yes only if the samples really were taken at latitude 0, longitude 0 (otherwise 0,0 is an instrument's default and is refused).", None, kind="setting"),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Everything below is worked out from FIELDS: "required" is said once, by ``Field.required``.
# Fields whose converted column must be present and valid for an image to be packed.
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)
# Fields that fill a converted column when mapped (or derived), and that an image may lack.
OPTIONAL_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.column and not f.required)
# Fields kept as text (labels and identifiers).
TEXT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.convert == "text")
# Columns that every converted-metadata row has, in this order, before the optional ones.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "image-uuid",
    "image-filename",
    *(f.column for f in FIELDS if f.required and f.column),
)


def field(name: str) -> Field:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(f.name for f in FIELDS)
        from .problems import UserError

        raise UserError(f"Unknown field {name!r}. Known fields: {known}.") from None


def sources_of(name: str) -> tuple[str, ...]:
    """The field and every field it may be worked out from, directly or through another:
    ``sources_of("altitude")`` is altitude, depth, depth_min, depth_max."""
    out = [name]
    for n in out:  # grows as it goes: breadth first
        out.extend(d for d in BY_NAME[n].derives_from if d not in out)
    return tuple(out)

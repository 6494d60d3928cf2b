"""Microscope images: any folder of images whose files say how big a pixel is or when they were taken.

What is read from each image's header (never its pixels), into columns of ``Scan.rows``, one row per
image, linked by ``ImageRef.row``:

| column                    | from                                                    |
|---------------------------|---------------------------------------------------------|
| ``ome:PhysicalSizeX`` (+``Unit``), ``ome:PhysicalSizeY`` | OME-XML ``<Pixels>`` in an OME-TIFF |
| ``ome:AcquisitionDate``   | OME-XML ``<Image><AcquisitionDate>`` (often without a zone) |
| ``imagej:unit``, ``imagej:spacing`` | an ImageJ TIFF description (``unit=micron``)   |
| ``tiff:XResolution``, ``tiff:ResolutionUnit`` | TIFF tags (pixels per inch or per cm) |
| ``exif:DateTimeOriginal``, ``exif:OffsetTimeOriginal`` | EXIF of JPEG/TIFF files      |
| ``microscopy:pixel_size_um`` | the pixel size in µm from the first of the above that has one |
| ``microscopy:bits``       | bits per sample as stored                               |

A table beside the images (CSV/TSV/XLSX) is joined to these rows by the column that names the
images; its columns keep their names.  Times without a zone ask for the time zone.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..problems import Problem
from ..progress import Task
from . import listing
from .base import ROW_COL, TABLE_COL, Detection, ImageRef, Scan
from .image_folder import read_image_folder
from .pixels import error_text, read_bytes
from .reader import finish_scan

TIFF = (".tif", ".tiff")
_UNIT_UM = {
    "µm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "nm": 1e-3,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "å": 1e-4,
}
SCREEN_DPI = {72.0, 96.0, 150.0, 300.0}  # written by software by default, not a physical size
MAX_DETECT = 20


def _tiff_meta(data_or_path) -> dict[str, str]:
    """Header values of the first page of a TIFF, as text columns."""
    import tifffile

    out: dict[str, str] = {}
    with tifffile.TiffFile(data_or_path) as tf:
        page = tf.pages[0]
        tags = page.tags
        out["microscopy:bits"] = str(page.bitspersample)
        out["microscopy:pages"] = str(len(tf.pages))
        xres, unit = tags.get("XResolution"), tags.get("ResolutionUnit")
        if xres is not None:
            num, den = xres.value if isinstance(xres.value, tuple) else (xres.value, 1)
            out["tiff:XResolution"] = f"{num / den:.10g}" if den else ""
            out["tiff:ResolutionUnit"] = {1: "none", 2: "inch", 3: "cm"}.get(
                int(unit.value) if unit else 2, str(unit.value if unit else "")
            )
        desc = tags.get("ImageDescription")
        text = desc.value if desc is not None and isinstance(desc.value, str) else ""
        if text.lstrip().startswith("<?xml") or "<OME" in text[:2000]:
            out.update(_ome(text))
        elif text.startswith("ImageJ="):
            for ln in text.splitlines():
                k, _, v = ln.partition("=")
                if k in ("unit", "spacing", "finterval", "images", "channels", "slices", "frames"):
                    out[f"imagej:{k}"] = v.strip()
        for k in ("DateTime",):
            if k in tags:
                out[f"tiff:{k}"] = str(tags[k].value)
        exif = getattr(page, "exif_tag", None) or (
            tags["ExifTag"].value if "ExifTag" in tags else None
        )
        if isinstance(exif, dict):
            for k in ("DateTimeOriginal", "OffsetTimeOriginal"):
                if k in exif:
                    out[f"exif:{k}"] = str(exif[k])
    return out


def _ome(xml: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError:
        return out

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    image = next((e for e in root.iter() if local(e.tag) == "Image"), None)
    if image is None:
        return out
    for e in image:
        if local(e.tag) == "AcquisitionDate" and e.text:
            out["ome:AcquisitionDate"] = e.text.strip()
        if local(e.tag) == "Pixels":
            for k in (
                "PhysicalSizeX",
                "PhysicalSizeXUnit",
                "PhysicalSizeY",
                "PhysicalSizeYUnit",
                "SizeC",
                "SizeZ",
                "SizeT",
                "Type",
            ):
                if k in e.attrib:
                    out[f"ome:{k}"] = e.attrib[k]
    if "ome:PhysicalSizeX" in out:
        out.setdefault("ome:PhysicalSizeXUnit", "µm")  # the OME default unit
    return out


def _exif(data: bytes) -> dict[str, str]:
    from PIL import Image

    out: dict[str, str] = {}
    import io

    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        sub = exif.get_ifd(0x8769)
        for tag, name in ((0x9003, "DateTimeOriginal"), (0x9011, "OffsetTimeOriginal")):
            if tag in sub:
                out[f"exif:{name}"] = str(sub[tag]).strip("\x00 ")
        dpi = im.info.get("dpi")
        if dpi and dpi[0]:
            out["tiff:XResolution"] = f"{float(dpi[0]):.10g}"
            out["tiff:ResolutionUnit"] = "inch"
        out["microscopy:bits"] = "16" if im.mode.startswith("I;16") or im.mode == "I" else "8"
    return out


def pixel_size_um(meta: dict[str, str]) -> tuple[str, str]:
    """(µm per pixel as text, where it came from) or ("", why not)."""
    v = meta.get("ome:PhysicalSizeX")
    if v:
        unit = meta.get("ome:PhysicalSizeXUnit", "µm").strip().lower()
        f = _UNIT_UM.get(unit)
        try:
            if f is not None:
                return f"{float(v) * f:.10g}", f"OME PhysicalSizeX {v} {unit}"
        except ValueError:
            pass
    xres, runit = meta.get("tiff:XResolution"), meta.get("tiff:ResolutionUnit")
    ij_unit = meta.get("imagej:unit", "").replace("\\u00B5", "µ").strip().lower()
    try:
        x = float(xres) if xres else 0.0
    except ValueError:
        x = 0.0
    if x > 0 and ij_unit in _UNIT_UM:
        return f"{_UNIT_UM[ij_unit] / x:.10g}", f"ImageJ unit={ij_unit}, {x:g} pixels per {ij_unit}"
    if x > 0 and runit == "cm":
        return f"{1e4 / x:.10g}", f"TIFF XResolution {x:g} pixels per cm"
    if x > 0 and runit == "inch" and x not in SCREEN_DPI:
        return f"{25400 / x:.10g}", f"TIFF XResolution {x:g} pixels per inch"
    if x > 0 and runit == "inch":
        return "", f"TIFF XResolution {x:g} dpi is a software default, not a pixel size"
    return "", "no pixel size in the file"


def read_meta(ref: ImageRef) -> dict[str, str]:
    suffix = os.path.splitext(ref.members[-1] if ref.members else ref.path)[1].lower()
    if suffix in TIFF:
        src = ref.path if not ref.members else __import__("io").BytesIO(read_bytes(ref))
        meta = _tiff_meta(src)
    else:
        meta = _exif(read_bytes(ref))
    px, why = pixel_size_um(meta)
    meta["microscopy:pixel_size_um"] = px
    meta["microscopy:pixel_size_source"] = why
    return meta


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return _detect_zip(path)
    if path.is_file():
        candidates = [path] if path.suffix.lower() in TIFF else []
    elif path.is_dir():
        candidates = []
        try:
            for e in listing.entries(path):
                if (
                    e.name.lower().endswith(TIFF)
                    and not e.name.startswith(".")
                    and e.is_file()  # not a pipe (opening it would wait forever) or a dead link
                ):
                    candidates.append(Path(e.path))
                    if len(candidates) >= MAX_DETECT:
                        break
        except OSError:
            return Detection(0.0, "cannot list the folder")
    else:
        return Detection(0.0, "not a folder or file")
    for c in sorted(candidates):
        if c.name.lower().endswith((".ome.tif", ".ome.tiff")):
            return Detection(
                0.7, f"{c.name} is an OME-TIFF (microscope image with pixel size in its header)"
            )
        try:
            meta = read_meta(ImageRef(name=c.name, path=str(c)))
        except Exception:
            continue
        if "ome:PhysicalSizeX" in meta or "imagej:unit" in meta:
            return Detection(
                0.65, f"{c.name} is a microscope TIFF ({meta['microscopy:pixel_size_source']})"
            )
        if meta.get("microscopy:pixel_size_um"):
            return Detection(
                0.5, f"{c.name} records its pixel size ({meta['microscopy:pixel_size_source']})"
            )
    return Detection(0.0, "no TIFF that records a pixel size (OME-XML, ImageJ, resolution tags)")


def _detect_zip(path: Path) -> Detection:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(TIFF)]
    except (OSError, zipfile.BadZipFile):
        return Detection(0.0, "not a readable zip")
    ome = [n for n in names if n.lower().endswith((".ome.tif", ".ome.tiff"))]
    for n in ome[:1] or names[:MAX_DETECT]:
        try:
            meta = read_meta(ImageRef(name=n, path=str(path), members=(n,)))
        except Exception:
            continue
        if "ome:PhysicalSizeX" in meta or "imagej:unit" in meta:
            return Detection(
                0.65,
                f"{path.name} › {n} is a microscope TIFF ({meta['microscopy:pixel_size_source']})",
            )
    return Detection(0.0, "no microscope TIFF in the zip")


def scan(path: Path, task: Task, table: Path | None = None) -> list[Scan]:
    base = read_image_folder(path, task, table, kind="microscopy")
    images = base.images
    task.start("scan", len(images), message="Reading pixel size and time from image headers")
    metas: list[dict[str, str]] = []
    problems = list(base.problems)
    for im in images:
        task.check()
        try:
            metas.append(read_meta(im))
        except Exception as exc:
            metas.append({})
            problems.append(
                Problem(
                    "unreadable_image",
                    f"cannot read the image header ({error_text(exc)})",
                    file=im.name,
                )
            )
        task.advance(1, im.size)
    for im, meta in zip(images, metas, strict=True):
        pages = int(meta.get("microscopy:pages") or 1)
        if pages > 1:
            problems.append(
                Problem(
                    "extra_pages",
                    f"the file holds {pages} pages (planes, channels or time points); only the first is packed",
                    file=im.name,
                    severity="warning",
                )
            )
    meta_df = pd.DataFrame(metas, dtype=object).fillna("") if metas else pd.DataFrame()
    meta_df.insert(0, "file", [im.name for im in images]) if len(images) else None
    # Join the user's table (if any) to the image rows by the column naming the images.
    table_rows = base.rows
    image_spec = base.suggested.get("fields", {}).get("image")
    if not table_rows.empty and image_spec:
        col = image_spec["column"]
        index: dict[str, int] = {}
        for pos, v in enumerate(table_rows[col].astype(str)):
            k = v.strip().replace("\\", "/").lower()
            for key in (k, k.rsplit("/", 1)[-1], os.path.splitext(k.rsplit("/", 1)[-1])[0]):
                index.setdefault(key, pos)
        matched = []
        for im in images:
            n = im.name.lower()
            b = n.rsplit("/", 1)[-1]
            matched.append(index.get(n, index.get(b, index.get(os.path.splitext(b)[0]))))
        tr = table_rows.reset_index(drop=True)
        joined = [tr.iloc[m].to_dict() if m is not None else {} for m in matched]
        tcols = pd.DataFrame(joined, columns=tr.columns, dtype=object)
        rows = pd.concat(
            [meta_df.reset_index(drop=True), tcols.drop(columns=[TABLE_COL, ROW_COL])], axis=1
        ).fillna("")
        rows[TABLE_COL] = [
            t if isinstance(t, str) and t else im.name
            for t, im in zip(tcols[TABLE_COL], images, strict=True)
        ]
        rows[ROW_COL] = [int(r) if r == r and r is not None else 1 for r in tcols[ROW_COL]]
        unused = sorted(set(range(len(tr))) - {m for m in matched if m is not None})
        for pos in unused:
            r = tr.iloc[pos]
            problems.append(
                Problem(
                    "row_without_image",
                    "this row names an image that was not found",
                    file=str(r[TABLE_COL]),
                    row=int(r[ROW_COL]),
                    field="image",
                    value=str(r[col]),
                    severity="warning",
                )
            )
    else:
        rows = meta_df
        if len(images):
            rows[TABLE_COL] = [im.name for im in images]
            rows[ROW_COL] = 1
        if not table_rows.empty:
            problems.append(
                Problem(
                    "no_join",
                    "no column of the table names the images; map the column of image names to the field 'image'",
                    file=str(table_rows[TABLE_COL].iloc[0]),
                    severity="warning",
                )
            )
    images = [replace(im, row=i) for i, im in enumerate(images)]
    suggested = suggest(rows, base.suggested, problems)
    return finish_scan(
        task,
        Scan(
            kind="microscopy",
            root=base.root,
            images=images,
            rows=rows,
            suggested=suggested,
            problems=problems,
            set_aside=base.set_aside,
            label=base.label,
            sensor="microscope",
        ),
        f"{len(images)} microscope images",
    )


def suggest(rows: pd.DataFrame, base: dict, problems: list[Problem]) -> dict:
    fields: dict[str, dict] = {k: v for k, v in (base.get("fields") or {}).items() if k != "image"}
    if rows.empty:
        return {"fields": fields}

    def filled(col: str) -> list[str]:
        return (
            [v for v in rows[col].unique().tolist() if str(v).strip()]
            if col in rows.columns
            else []
        )

    ome_px = filled("ome:PhysicalSizeX")
    ome_units = set(filled("ome:PhysicalSizeXUnit"))
    px = filled("microscopy:pixel_size_um")
    if ome_px and len(ome_px) == len(px) and ome_units <= {"µm", "um"}:
        fields["pixel_size"] = {
            "column": "ome:PhysicalSizeX",
            "unit": "um",
            "confidence": 0.9,
            "reason": f"OME-XML PhysicalSizeX: {', '.join(map(str, ome_px[:3]))} µm",
        }
    elif px:
        srcs = filled("microscopy:pixel_size_source")
        fields["pixel_size"] = {
            "column": "microscopy:pixel_size_um",
            "unit": "um",
            "confidence": 0.8,
            "reason": f"from the image headers ({'; '.join(srcs[:2])}): {', '.join(px[:3])} µm",
        }
    for col, fmt in (
        ("ome:AcquisitionDate", "iso"),
        ("exif:DateTimeOriginal", "%Y:%m:%d %H:%M:%S"),
        ("tiff:DateTime", "%Y:%m:%d %H:%M:%S"),
    ):
        vals = filled(col)
        if vals and "datetime" not in fields:
            fields["datetime"] = {
                "column": col,
                "format": fmt,
                "confidence": 0.8,
                "reason": f"{col.split(':')[1]} in the image header: {vals[0]}",
            }
            has_zone = any(re.search(r"(Z|[+-]\d\d:?\d\d)$", str(v)) for v in vals)
            offsets = filled("exif:OffsetTimeOriginal")
            if col.startswith("exif") and len(offsets) == 1:
                fields["timezone"] = {
                    "constant": offsets[0],
                    "confidence": 0.9,
                    "reason": "EXIF OffsetTimeOriginal",
                }
            elif not has_zone:
                problems.append(
                    Problem(
                        "needs_timezone",
                        f"{col.split(':')[1]} has no time zone: say which time zone it is (UTC, +02:00, Europe/Berlin)",
                        file=str(rows[TABLE_COL].iloc[0]) if TABLE_COL in rows.columns else None,
                        field="timezone",
                        value=str(vals[0]),
                        severity="warning",
                    )
                )
    return {"fields": fields}

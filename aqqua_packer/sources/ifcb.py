"""IFCB (Imaging FlowCytobot) bins: ``.hdr`` + ``.adc`` + ``.roi`` written by the instrument.

A *bin* is three files with one name: ``D20130526T095207_IFCB013`` (UTC, instruments from 2011 on)
or ``IFCB5_2012_028_081515`` (older: year, day of year, time, UTC).

- ``.hdr``: settings as ``key: value`` lines (new) or quoted lines (old); newer ones carry
  ``gpsLatitude``/``gpsLongitude`` and ``ADCFileFormat`` (the ``.adc`` column names).
- ``.adc``: one CSV line per trigger; the line number is the target (ROI) number.  Columns from
  ``ADCFileFormat`` when present, else the known layouts (v1: width, height, start byte in columns
  12-14; v2: 16-18, counted from 1).
- ``.roi``: the 8-bit grey pixels of every ROI one after the other; a ROI is cut out at its start
  byte, ``width * height`` bytes, row after row.  Width 0 means the trigger has no image.

Orientation follows pyifcb (the reference reader): the pixels of a ROI reshape to
``(ROIheight, ROIwidth)`` rows × columns, so ``ImageRef.raw = (start_byte, ROIwidth, ROIheight)``
(``pixels.load_image`` reshapes raw to ``(height, width)``).  Target 99 of the pyifcb test bin is
34 × 64 both ways.

Nothing in the files gives depth or the pixel size.  3.4 px/µm is the value most IFCBs are
calibrated near; it is suggested with a low confidence for the user to confirm, never assumed.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..problems import Problem
from ..progress import Task
from . import ifcb_png, listing
from .base import ROW_COL, TABLE_COL, Detection, ImageRef, Scan
from .reader import finish_scan, tidy_rows
from .tables import decode_text, unique_names

BIN_NEW = re.compile(r"^D(\d{8}T\d{6})_(IFCB\d+)$")
BIN_OLD = re.compile(r"^(IFCB\d+)_(\d{4})_(\d{3})_(\d{6})$")
# Folder names of the usual IFCB data trees (D2013/D201305/D20130526, 2012/IFCB5_2012_028).
_TREE_DIR = re.compile(r"^(D\d{4}(\d{2}(\d{2})?)?|\d{4}|IFCB\d+_\d{4}_\d{3}(_\d{6})?|data)$", re.I)
SUFFIXES = (".hdr", ".adc", ".roi")

# Known .adc layouts when the header does not name the columns (0-based positions).
LAYOUT_V1 = {"ROIwidth": 11, "ROIheight": 12, "start_byte": 13}
LAYOUT_V2 = {"ROIwidth": 15, "ROIheight": 16, "start_byte": 17}
V1_NAMES = (
    "trigger processingEndTime fluorescenceLow fluorescenceHigh scatteringLow scatteringHigh "
    "comparatorPulse triggerOpenTime frameGrabTime ROIx ROIy ROIwidth ROIheight start_byte valveStatus"
).split()
V2_NAMES = (
    "trigger# ADC_time PMTA PMTB PMTC PMTD peakA peakB peakC peakD time_of_flight grabtimestart "
    "grabtimeend ROIx ROIy ROIwidth ROIheight start_byte comparator_out STartPoint SignalLength "
    "status runTime inhibitTime"
).split()

COMMON_PX_PER_UM = "3.4"


def bin_time(name: str) -> tuple[datetime, str] | None:
    """(UTC time, instrument) from a bin name, or None when it is not one."""
    m = BIN_NEW.match(name)
    if m:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC), m.group(2)
    m = BIN_OLD.match(name)
    if m:
        inst, year, doy, hms = m.groups()
        return datetime.strptime(f"{year}{doy}{hms}", "%Y%j%H%M%S").replace(tzinfo=UTC), inst
    return None


def _bin_files(d: str) -> dict[str, dict[str, str]]:
    """Bins directly in folder ``d``: {bin name: {".adc": path, ...}}."""
    out: dict[str, dict[str, str]] = {}
    try:
        it = listing.entries(d)
    except OSError:
        return out
    for e in it:
        suffix = e.name[-4:].lower()
        if suffix in SUFFIXES:
            stem = e.name[:-4]
            if bin_time(stem) is not None:
                out.setdefault(stem, {})[suffix] = e.path
    return out


def _tree_dirs(root: Path, depth: int = 4):
    """``root`` and the IFCB-tree folders below it (D2013/D201305/...), breadth first."""
    level = [str(root)]
    for _ in range(depth + 1):
        nxt = []
        for d in level:
            yield d
            try:
                it = listing.entries(d)
                nxt.extend(e.path for e in it if e.is_dir() and _TREE_DIR.match(e.name))
            except OSError:
                continue
        level = sorted(nxt)


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in SUFFIXES and bin_time(path.stem):
            return Detection(0.95, f"{path.name} is part of an IFCB bin")
        return Detection(0.0, "not an IFCB file")
    if not path.is_dir():
        return Detection(0.0, "not a folder")
    for d in _tree_dirs(path):
        bins = _bin_files(d)
        full = [b for b, f in bins.items() if ".adc" in f and (".hdr" in f or ".roi" in f)]
        if full:
            where = "" if d == str(path) else f" in {os.path.relpath(d, path)}"
            return Detection(
                0.95, f"found IFCB bin {sorted(full)[0]} (.adc with .hdr or .roi){where}"
            )
    png = ifcb_png.has_pngs(path)
    if png:
        return Detection(0.7, f"found {png}: an IFCB ROI exported as PNG (<bin>_<target>.png)")
    return Detection(0.0, "no IFCB bins (.hdr + .adc + .roi named D…_IFCB… or IFCB…_YYYY_DDD_…)")


def parse_hdr(text: str) -> dict[str, str]:
    """Header settings as text.  New headers are ``key: value``; old ones are quoted lines with a
    ``Temp Humidity …`` line of names followed by a line of values."""
    out: dict[str, str] = {}
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    old = [ln for ln in lines if ln.startswith('"')]
    if old and len(old) >= len([ln for ln in lines if ln]) - 1:
        for i, ln in enumerate(old):
            inner = ln.strip('"')
            if "=" in inner and "," not in ln:
                k, _, v = inner.partition("=")
                out[k.strip()] = v.strip()
            elif i + 1 < len(old) and "," in old[i + 1] and "," not in ln:
                names = inner.split()
                values = [v.strip().strip('"').strip() for v in next(csv.reader([old[i + 1]]))]
                if len(names) == len(values):
                    out.update(zip(names, values, strict=True))
        if old:
            out.setdefault("softwareVersion", old[0].strip('"'))
        return out
    for ln in lines:
        key, sep, value = ln.partition(":")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
        elif sep and key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def adc_columns(hdr: dict[str, str], n_values: int, old: bool) -> tuple[list[str], dict[str, int]]:
    """Column names of an .adc file and where width, height and start byte are."""
    fmt = hdr.get("ADCFileFormat")
    if fmt:
        names = [c.strip() for c in fmt.split(",")]
        low = [n.lower().replace(" ", "") for n in names]
        pos = {}
        for key, alts in (
            ("ROIwidth", ("roiwidth",)),
            ("ROIheight", ("roiheight",)),
            ("start_byte", ("start_byte", "startbyte")),
        ):
            for a in alts:
                if a in low:
                    pos[key] = low.index(a)
        if len(pos) == 3:
            return _pad(names, n_values), pos
    names, layout = (V1_NAMES, LAYOUT_V1) if old else (V2_NAMES, LAYOUT_V2)
    return _pad(list(names), n_values), dict(layout)


def _pad(names: list[str], n: int) -> list[str]:
    """``n`` column names: cut, or padded with ``column_N``; repeats numbered ``.1``, ``.2``."""
    return unique_names(names[:n] + [""] * (n - len(names)))


def _rel(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _read_bin(name: str, files: dict[str, str], root: Path, problems: list[Problem]):
    """(rows DataFrame, images) of one bin; problems for what cannot be read."""
    when, instrument = bin_time(name)  # type: ignore[misc]
    adc_path, roi_path, hdr_path = files.get(".adc"), files.get(".roi"), files.get(".hdr")
    if adc_path is None:
        problems.append(
            Problem(
                "bad_file",
                "the .adc file of this bin is missing, so its images cannot be found",
                file=_rel(hdr_path or roi_path or name, root),
            )
        )
        return None, []
    hdr: dict[str, str] = {}
    if hdr_path is None:
        problems.append(
            Problem(
                "bad_file",
                "the .hdr file of this bin is missing; settings and position are unknown",
                file=_rel(adc_path, root),
                severity="warning",
            )
        )
    else:
        hdr = parse_hdr(decode_text(Path(hdr_path).read_bytes(), hdr_path))
    adc_rel = _rel(adc_path, root)
    text = decode_text(Path(adc_path).read_bytes(), adc_path)
    records = [r for r in csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")))]
    old = BIN_OLD.match(name) is not None
    n_values = max((len(r) for r in records), default=0)
    if records and all(len(r) and r[-1] == "" for r in records if r):
        n_values -= 1  # old .adc lines end with a comma
    names, pos = adc_columns(hdr, n_values, old)
    roi_size = os.path.getsize(roi_path) if roi_path else None
    rows: list[list[str]] = []
    images: list[ImageRef] = []
    line_numbers: list[int] = []
    missing_roi_told = False
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    for line_no, rec in enumerate(records, start=1):
        if not rec or not any(v.strip() for v in rec):
            continue
        rec = [v.strip() for v in rec[:n_values]] + [""] * max(0, n_values - len(rec))
        row_pos = len(rows)
        rows.append(rec)
        line_numbers.append(line_no)
        try:
            width, height, start = (
                int(float(rec[pos[k]])) for k in ("ROIwidth", "ROIheight", "start_byte")
            )
        except (ValueError, IndexError):
            bad = next(
                (
                    k
                    for k in ("ROIwidth", "ROIheight", "start_byte")
                    if pos[k] >= len(rec) or not _is_num(rec[pos[k]])
                ),
                "start_byte",
            )
            problems.append(
                Problem(
                    "bad_table",
                    f"{bad} is not a whole number, so this ROI cannot be cut from the .roi file",
                    file=adc_rel,
                    row=line_no,
                    field=bad,
                    value=rec[pos[bad]] if pos[bad] < len(rec) else "",
                )
            )
            continue
        if width <= 0 or height <= 0:
            continue  # a trigger without an image
        target = f"{name}_{line_no:05d}"
        if roi_size is None:
            if not missing_roi_told:
                problems.append(
                    Problem(
                        "bad_file",
                        f"the .roi file of bin {name} is missing, so none of its images can be read",
                        file=adc_rel,
                    )
                )
                missing_roi_told = True
            continue
        end = start + width * height
        if start < 0 or start >= roi_size:
            why = f"ROI {target} starts at byte {start}, past the end of {name}.roi ({roi_size} bytes): the .adc and .roi files do not belong together or the .roi is truncated"
        elif end > roi_size:
            why = f"ROI {target} ({width}x{height} = {width * height} bytes from byte {start}) runs past the end of {name}.roi, which has only {roi_size} bytes: the .roi file is truncated"
        else:
            why = ""
        if why:
            problems.append(
                Problem(
                    "bad_file", why, file=adc_rel, row=line_no, field="start_byte", value=str(start)
                )
            )
            continue
        images.append(
            ImageRef(
                name=target,
                path=str(roi_path),
                raw=(start, width, height),
                row=row_pos,
                size=width * height,
            )
        )
    df = pd.DataFrame(rows, columns=names, dtype=object)
    df.insert(0, "ifcb:roi_number", [str(n) for n in line_numbers])
    df.insert(0, "ifcb:bin", name)
    df["ifcb:datetime"] = stamp
    df["ifcb:instrument"] = instrument
    for k, v in hdr.items():
        df[f"hdr:{k}"] = v
    sample_time = hdr.get("sampleTime")
    if sample_time:
        try:
            st = pd.Timestamp(sample_time)
            st = st.tz_localize("UTC") if st.tzinfo is None else st.tz_convert("UTC")
            if abs((st - pd.Timestamp(when)).total_seconds()) > 120:
                problems.append(
                    Problem(
                        "inconsistent",
                        f"the header's sampleTime differs from the time in the bin name ({stamp}) by more than 2 minutes; the bin name is used",
                        file=_rel(hdr_path, root),
                        field="sampleTime",
                        value=sample_time,
                        severity="warning",
                    )
                )
        except (ValueError, TypeError):
            pass
    df[TABLE_COL] = adc_rel
    df[ROW_COL] = line_numbers
    return df, images


def _is_num(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def find_bins(path: Path, task: Task) -> dict[str, dict[str, str]]:
    """Every bin below ``path`` (or the bin a single file belongs to)."""
    if path.is_file():
        return {k: v for k, v in _bin_files(str(path.parent)).items() if k == path.stem}
    bins: dict[str, dict[str, str]] = {}
    for dirpath, dirnames, _ in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for k, v in _bin_files(dirpath).items():
            bins.setdefault(k, {}).update(v)
        task.check()
    return dict(sorted(bins.items()))


def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path).resolve()
    root = path.parent if path.is_file() else path
    task.start("scan", None, unit="bins", message=f"Looking for IFCB bins in {path}")
    bins = find_bins(path, task)
    task.set_total(len(bins))
    groups: dict[str, ifcb_png.Group] = {}
    placed: dict[str, tuple[int, pd.DataFrame]] = {}  # bin -> (its first row, its rows)
    for name, files in bins.items():
        task.check()
        inst = bin_time(name)[1]  # type: ignore[index]
        g = groups.setdefault(inst, ifcb_png.Group([], [], []))
        try:
            df, imgs = _read_bin(name, files, root, g.problems)
        except OSError as exc:
            g.problems.append(
                Problem(
                    "bad_file",
                    f"cannot read bin {name} ({exc.strerror or exc})",
                    file=_rel(exc.filename or name, root),
                )
            )
            df, imgs = None, []
        if df is not None:
            offset = sum(len(f) for f in g.frames)
            g.images.extend(replace(im, row=im.row + offset) for im in imgs)
            g.frames.append(df)
            placed[name] = (offset, df.reset_index(drop=True))
        task.advance(1)
    if path.is_dir():
        pngs = ifcb_png.find_pngs(path, task)
        if pngs:
            task.status(f"{len(pngs)} exported ROI PNGs: copies of .roi images or the only copy")
            ifcb_png.attach(pngs, bins, placed, groups, root)
    scans = []
    for inst, g in sorted(groups.items()):
        rows = pd.concat(g.frames, ignore_index=True).fillna("") if g.frames else pd.DataFrame()
        if g.labels and not rows.empty:
            labels = [g.labels.get(i, "") for i in range(len(rows))]
            rows = rows.assign(**{ifcb_png.CLASS_COLUMN: labels})
        rows = tidy_rows(rows)  # the class column before the provenance columns
        if not g.images:
            g.problems.append(
                Problem(
                    "no_images",
                    "no IFCB images found: every trigger has width 0 or could not be read",
                    file=str(path),
                )
            )
        n_bins = len({*(b for b in placed if bin_time(b)[1] == inst)})  # type: ignore[index]
        scans.append(
            Scan(
                kind="ifcb",
                root=root,
                images=g.images,
                rows=rows,
                suggested=suggest(rows),
                problems=g.problems,
                set_aside=g.set_aside,
                label=f"{inst} ({n_bins} bin{'s' if n_bins != 1 else ''})"
                if n_bins
                else f"{inst} (exported ROI PNGs)",
                sensor=inst,
            )
        )
    if not scans:
        scans.append(
            Scan(
                kind="ifcb",
                root=root,
                problems=[
                    Problem("no_images", "no IFCB bins found (.hdr + .adc + .roi)", file=str(path))
                ],
                label=path.name,
            )
        )
    n = sum(len(s.images) for s in scans)
    return finish_scan(task, scans, f"{n} IFCB images in {len(bins)} bins")


def suggest(rows: pd.DataFrame) -> dict:
    """The IFCB preset: time from the bin name, position from the header when it has one."""
    fields: dict[str, dict] = {
        "datetime": {
            "column": "ifcb:datetime",
            "format": "iso",
            "confidence": 0.95,
            "reason": "the bin name holds the UTC start time of the sample (DYYYYMMDDTHHMMSS_IFCBnnn or IFCBn_YYYY_DDD_HHMMSS)",
        },
        "timezone": {"constant": "UTC", "confidence": 0.95, "reason": "IFCB bin names are in UTC"},
        "object_id": {
            "column": "ifcb:roi_number",
            "confidence": 0.6,
            "reason": "the target number (line of the .adc file)",
        },
        "sample_id": {
            "column": "ifcb:bin",
            "confidence": 0.7,
            "reason": "one IFCB bin is one sample",
        },
    }
    for field, col in (("latitude", "hdr:gpsLatitude"), ("longitude", "hdr:gpsLongitude")):
        if col in rows.columns:
            vals = [
                v
                for v in rows[col].astype(str).unique().tolist()
                if v.strip() and v.strip().lower() not in ("nan", "0")
            ]
            if vals:
                fields[field] = {
                    "column": col,
                    "confidence": 0.9,
                    "reason": f"the bin header's {col[4:]}: {', '.join(vals[:3])}",
                }
    if ifcb_png.CLASS_COLUMN in rows.columns:
        vals = [v for v in rows[ifcb_png.CLASS_COLUMN].unique().tolist() if v]
        if vals:
            fields["label"] = {
                "column": ifcb_png.CLASS_COLUMN,
                "confidence": 0.7,
                "reason": f"the class folder the ROI was exported into: {', '.join(vals[:3])}",
            }
    # Not in "fields": the mapping applies every field it is given, and this one is only a guess.
    to_confirm = {
        "pixel_size": {
            "constant": COMMON_PX_PER_UM,
            "unit": "px/um",
            "confidence": 0.2,
            "reason": "IFCB files do not record the pixel size; 3.4 px/µm is the usual calibration: "
            "confirm it with your instrument's bead calibration "
            "(pixel size 3.4, unit px/µm)",
        }
    }
    return {"fields": fields, "to_confirm": to_confirm}

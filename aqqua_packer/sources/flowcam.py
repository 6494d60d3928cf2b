"""FlowCam runs: a particle list (VisualSpreadsheet ``.lst`` or CSV export) + collage images.

VisualSpreadsheet does not save one file per particle: it pastes particles side by side into
*collages* (``<run>_000001.tif``, ...) and lists, for each particle, which collage it is in and
its box there.  Each particle is cut from its collage at its own box (``ImageRef.box``).

- ``.lst`` (version 017 and later): line 1 the version, ``num-fields|N``, then N ``name|type``
  lines, then one ``|``-separated line per particle.  The collage a particle sits in is named by
  the ``collage_file`` column (this is what morphocut's FlowCam reader and zooimage use); the box
  is ``image_x``, ``image_y``, ``image_w``, ``image_h``.  Older lists (``:``-separated, 44 or 47
  values, no names) have the same information at fixed positions.
- CSV export: ``Image File`` (collage), ``Image X``/``Image Y``/``Image Width``/``Image Height``,
  ``Calibration Factor``, ``Date``, ``Time``, ...
- ``<run>_NNNNNN_bin.tif``: the black-and-white masks of the same collage; set aside, never packed.
  ``cal_image_NNNNNN.tif``: background frames; set aside.
- ``.ctx`` (INI, latin-1): ``CalibrationConstant`` (µm per pixel), ``LocationLatitude``/
  ``LocationLongitude``, ``RunStartTime``; ``*run_summary*.txt`` ``Calibration Factor``.

Pixel size (µm) = the calibration constant (``cal_const`` column or the .ctx), else the
``Calibration Factor`` (column or run summary): both are µm per pixel (Visual Spreadsheet User
Guide, "Calibration Factor"); a disagreement between them is reported.  It is written to the
column ``flowcam:pixel_size_um``.  Times are the
computer's local time without a zone: the scan asks for the time zone.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import pandas as pd

from ..problems import Problem
from ..progress import Task
from . import listing
from .base import ROW_COL, Detection, ImageRef, Scan, SetAside
from .pixels import IMAGE_SUFFIXES
from .reader import finish_scan
from .tables import decode_text, read_text_table

_BIN = re.compile(r"_bin\.(tiff?|png)$", re.I)
_CAL = re.compile(r"cal_image_\d+\.(tiff?|png)$", re.I)
_CSV_HINTS = {"image x", "image y", "image width", "image height"}

# Old ':'-separated lists (VisualSpreadsheet before version 017), named like version 017 lists.
_OLD_COMMON = (
    "id cal_const raw_area raw_feret_max raw_feret_min raw_feret_mean raw_perimeter "
    "raw_convex_perimeter abd_area abd_diameter length width esd_diameter perimeter "
    "convex_perimeter intensity sigma_intensity compactness elongation sum_intensity roughness "
    "feret_max_angle"
).split()
OLD_44 = (
    _OLD_COMMON
    + "avg_red avg_green avg_blue ppc ch1_peak ch1_width ch2_peak ch2_width ch3_peak ch3_width "
    "ch4_peak ch4_width collage_file image_x image_y image_w image_h src_x src_y high_u32 "
    "low_u32 total".split()
)
OLD_47 = (
    _OLD_COMMON
    + "feret_min_angle avg_red avg_green avg_blue ppc ch1_peak ch1_width ch2_peak ch2_width "
    "ch3_peak ch3_width ch4_peak ch4_width collage_file image_x image_y image_w image_h src_x "
    "src_y edge_gradient timestamp timestamp2 src_image cal_image".split()
)

# What each needed value is called in an .lst and in a CSV export (lower-case).
COLS = {
    "collage": ("collage_file", "image file", "collage file", "source image file"),
    "x": ("image_x", "image x"),
    "y": ("image_y", "image y"),
    "w": ("image_w", "image width", "image w"),
    "h": ("image_h", "image height", "image h"),
    "id": ("id", "particle id", "capture id", "name"),
    "cal_const": ("cal_const", "calibration constant"),
    "cal_factor": ("calibration factor", "calibration_factor"),
}


def _is_lst(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(2000).decode("latin-1")
    except OSError:
        return False
    lines = head.replace("\r", "\n").split("\n")
    if len(lines) < 2 or not lines[0].strip().isdigit():
        return False
    # Older lists: two header lines, then ':'-separated rows of 44 or 47 values.
    return lines[1].startswith("num-fields|") or (len(lines) > 2 and lines[2].count(":") >= 43)


def _is_csv_export(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4000).decode("latin-1").split("\n", 1)[0].lower()
    except OSError:
        return False
    names = {c.strip().strip('"') for c in re.split(r"[,\t;]", head)}
    return _CSV_HINTS <= names


def _runs(folder: Path) -> tuple[list[Path], list[Path]]:
    """(.lst files, CSV exports) directly in ``folder``."""
    lsts, csvs = [], []
    try:
        entries = sorted(
            (e for e in listing.entries(folder) if e.name[-4:].lower() in (".lst", ".csv")),
            key=lambda e: e.name,
        )
    except OSError:
        return [], []
    for e in entries:
        low = e.name.lower()
        if low.endswith(".lst") and _is_lst(e.path):
            lsts.append(Path(e.path))
        elif low.endswith(".csv") and e.is_file() and _is_csv_export(e.path):
            csvs.append(Path(e.path))
    return lsts, csvs


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() == ".lst" and _is_lst(str(path)):
            return Detection(0.95, f"{path.name} is a FlowCam VisualSpreadsheet particle list")
        if path.suffix.lower() == ".csv" and _is_csv_export(str(path)):
            return Detection(0.85, f"{path.name} is a FlowCam CSV export (Image X/Y/Width/Height)")
        return Detection(0.0, "not a FlowCam file")
    if not path.is_dir():
        return Detection(0.0, "not a folder")
    lsts, csvs = _runs(path)
    if lsts:
        return Detection(
            0.95, f"found the FlowCam particle list {lsts[0].name} (num-fields header)"
        )
    if csvs:
        return Detection(
            0.85, f"found the FlowCam CSV export {csvs[0].name} (Image X/Y/Width/Height)"
        )
    return Detection(0.0, "no FlowCam .lst or CSV export")


def read_lst(path: Path, where: str) -> pd.DataFrame:
    """A VisualSpreadsheet particle list as text rows with provenance (line numbers as written)."""
    from ..problems import UserError

    text = decode_text(path.read_bytes(), where)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) < 2:
        raise UserError(f"{where}: too short to be a FlowCam particle list")
    if lines[1].startswith("num-fields|"):
        try:
            n = int(lines[1].split("|", 1)[1])
        except ValueError:
            raise UserError(f"{where}, row 2: 'num-fields|' is not followed by a number") from None
        names = []
        for i in range(2, 2 + n):
            if i >= len(lines) or "|" not in lines[i]:
                raise UserError(
                    f"{where}, row {i + 1}: expected a 'name|type' line ({n} fields announced)"
                )
            names.append(lines[i].split("|", 1)[0].strip())
        first = 2 + n
        delim = "|"
    else:
        first = 2
        delim = ":"
        width = lines[2].count(":") + 1 if len(lines) > 2 else 0
        names = (
            OLD_47
            if width == 47
            else OLD_44
            if width == 44
            else [f"column_{i + 1}" for i in range(width)]
        )
    body = "\n".join([delim.join(names)] + lines[first:])
    df = read_text_table(body, where, delimiter=delim)
    # read_text_table counts the synthetic header as line 1; shift to the file's own line numbers.
    df[ROW_COL] = [r - 1 + first for r in df[ROW_COL]]
    return df


def read_ctx(path: Path) -> dict[str, str]:
    """Settings of a FlowCam .ctx (INI, latin-1), flattened to ``Key`` (first occurrence wins)."""
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str  # keep the case of keys
    try:
        cp.read_string(path.read_bytes().decode("latin-1"))
    except configparser.Error:
        return {}
    out: dict[str, str] = {}
    for section in cp.sections():
        for k, v in cp.items(section):
            out.setdefault(k, v.strip())
    return out


def read_summary(path: Path) -> dict[str, str]:
    """``Key: value`` lines of a run summary (indented by section); first occurrence wins."""
    out: dict[str, str] = {}
    for ln in decode_text(path.read_bytes(), str(path)).splitlines():
        key, sep, value = ln.strip().partition(":")
        if sep and key and value.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def _col(df: pd.DataFrame, key: str) -> str | None:
    low = {c.lower().strip(): c for c in df.columns}
    for alt in COLS[key]:
        if alt in low:
            return low[alt]
    return None


def _float(v: str) -> float | None:
    try:
        return float(str(v).strip().replace(",", "."))
    except ValueError:
        return None


def _dims(path: Path) -> tuple[int, int] | None:
    """(width, height) of a collage from its header."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size
    except Exception:
        try:
            import tifffile

            with tifffile.TiffFile(path) as tf:
                shape = tf.pages[0].shape
                return (shape[1], shape[0])
        except Exception:
            return None


def _companions(table: Path) -> tuple[dict[str, str], dict[str, str], Path | None]:
    """(.ctx settings, run-summary settings, .ctx path) of the run that ``table`` lists."""
    folder, stem = table.parent, table.stem
    ctx_path = next((p for p in (folder / f"{stem}.ctx",) if p.exists()), None)
    if ctx_path is None:
        ctxs = sorted(folder.glob("*.ctx"))
        ctx_path = ctxs[0] if len(ctxs) == 1 else None
    ctx = read_ctx(ctx_path) if ctx_path else {}
    summary: dict[str, str] = {}
    for cand in sorted(folder.glob("*summary*.txt")):
        if cand.stem.startswith(stem) or len(list(folder.glob("*summary*.txt"))) == 1:
            summary = read_summary(cand)
            break
    return ctx, summary, ctx_path


def _read_run(table: Path, root: Path, task: Task) -> tuple[Scan, set[str]]:
    rel = table.relative_to(root).as_posix() if table.is_relative_to(root) else str(table)
    problems: list[Problem] = []
    if table.suffix.lower() == ".lst":
        rows = read_lst(table, rel)
    else:
        from .tables import read_table

        rows = read_table(table, name=rel)
    ctx, summary, ctx_path = _companions(table)
    for k, v in ctx.items():
        rows[f"ctx:{k}"] = v
    for k, v in summary.items():
        rows[f"summary:{k}"] = v
    cols = {k: _col(rows, k) for k in COLS}
    missing = [k for k in ("collage", "x", "y", "w", "h") if cols[k] is None]
    images: list[ImageRef] = []
    used_collages: set[str] = set()
    if missing:
        names = ", ".join(COLS[k][0] for k in missing)
        problems.append(
            Problem(
                "bad_table",
                f"the particle list has no column for {names}, so particles cannot be cut from the collages",
                file=rel,
            )
        )
    # Pixel size per particle: VisualSpreadsheet's calibration, µm per pixel.  The Visual
    # Spreadsheet User Guide defines "Calibration Factor" as "the conversion factor from pixels to
    # microns (units are microns per pixel)"; the .lst's cal_const and the .ctx's
    # CalibrationConstant hold the same calibration.  When both are given and disagree, say so.
    const_ctx = _float(ctx.get("CalibrationConstant", "")) if ctx else None
    factor_summary = _float(summary.get("Calibration Factor", "")) if summary else None
    px: list[str] = []
    disagree = None
    for _, r in rows.iterrows():
        const = (_float(r[cols["cal_const"]]) if cols["cal_const"] else None) or const_ctx
        factor = (_float(r[cols["cal_factor"]]) if cols["cal_factor"] else None) or factor_summary
        um = const or factor
        px.append(f"{um:.6g}" if um else "")
        if const and factor and abs(const - factor) > 0.01 * const and disagree is None:
            disagree = (int(r[ROW_COL]), const, factor)
    rows["flowcam:pixel_size_um"] = px
    if disagree:
        line, const, factor = disagree
        problems.append(
            Problem(
                "inconsistent",
                f"the calibration constant ({const:g} µm per pixel) and the Calibration Factor "
                f"({factor:g}) disagree; the constant is used: check the run's calibration",
                file=rel,
                row=line,
                field="pixel_size",
                value=f"{factor:g}",
                severity="warning",
            )
        )
    dims_cache: dict[str, tuple[int, int] | None] = {}
    missing_told: set[str] = set()
    stem = table.stem
    if not missing:
        for pos in range(len(rows)):
            if pos % 1000 == 0:
                task.check()
            r = rows.iloc[pos]
            line = int(r[ROW_COL])
            collage = str(r[cols["collage"]]).strip().replace("\\", "/").rsplit("/", 1)[-1]
            if collage.isdigit():  # an index instead of a name: <run>_NNNNNN.tif
                collage = f"{stem}_{int(collage):06d}.tif"
            cpath = table.parent / collage
            if collage not in dims_cache:
                dims_cache[collage] = _dims(cpath) if cpath.exists() else None
                if not cpath.exists():
                    problems.append(
                        Problem(
                            "bad_file",
                            f"the collage {collage} named by the particle list is not in the folder",
                            file=rel,
                            row=line,
                            field=cols["collage"],
                            value=collage,
                        )
                    )
                    missing_told.add(collage)
                elif dims_cache[collage] is None:
                    problems.append(
                        Problem("unreadable_image", "the collage cannot be read", file=str(cpath))
                    )
                    missing_told.add(collage)
            if collage in missing_told:
                continue
            try:
                box = tuple(int(float(r[cols[k]])) for k in ("x", "y", "w", "h"))
            except ValueError:
                bad = next(k for k in ("x", "y", "w", "h") if _float(r[cols[k]]) is None)
                problems.append(
                    Problem(
                        "bad_table",
                        "not a number, so this particle cannot be cut from its collage",
                        file=rel,
                        row=line,
                        field=cols[bad],
                        value=str(r[cols[bad]]),
                    )
                )
                continue
            W, H = dims_cache[collage]  # type: ignore[misc]
            x, y, w, h = box
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > W or y + h > H:
                problems.append(
                    Problem(
                        "bad_table",
                        f"the box x={x} y={y} w={w} h={h} lies outside the {W}x{H} collage {collage}",
                        file=rel,
                        row=line,
                        field=cols["x"],
                        value=f"{x},{y},{w},{h}",
                    )
                )
                continue
            pid = str(r[cols["id"]]).strip() if cols["id"] else str(pos + 1)
            name = f"{stem}_{int(pid):06d}" if pid.isdigit() else f"{stem}_{pid}"
            images.append(ImageRef(name=name, path=str(cpath), box=box, row=pos, size=w * h * 3))
            used_collages.add(collage)
    if not any(px):
        problems.append(
            Problem(
                "missing",
                "no calibration constant found (cal_const column or .ctx CalibrationConstant): the pixel size must be given",
                file=rel,
                field="pixel_size",
                severity="warning",
            )
        )
    problems.append(
        Problem(
            "needs_timezone",
            "FlowCam writes the computer's local time without a time zone: say which time zone it is (UTC, +02:00, Europe/Berlin)",
            file=rel,
            field="timezone",
            severity="warning",
        )
    )
    return Scan(
        kind="flowcam",
        root=root,
        images=images,
        rows=rows,
        suggested=suggest(rows, cols),
        problems=problems,
        label=f"FlowCam run {stem}",
        sensor="FlowCam",
    ), used_collages


def suggest(rows: pd.DataFrame, cols: dict[str, str | None]) -> dict:
    fields: dict[str, dict] = {}
    px = [
        v
        for v in rows.get("flowcam:pixel_size_um", pd.Series([], dtype=object)).unique().tolist()
        if v
    ]
    if px:
        fields["pixel_size"] = {
            "column": "flowcam:pixel_size_um",
            "unit": "um",
            "confidence": 0.9,
            "reason": f"VisualSpreadsheet's calibration (cal_const, CalibrationConstant or "
            f"Calibration Factor), µm per pixel: {', '.join(px[:3])}",
        }
    low = {c.lower(): c for c in rows.columns}
    if "timestamp" in low:
        fields["datetime"] = {
            "column": low["timestamp"],
            "format": "iso",
            "confidence": 0.8,
            "reason": "the particle's capture time (local time, no zone)",
        }
    elif "date" in low and "time" in low:
        fields["date"] = {
            "column": low["date"],
            "confidence": 0.8,
            "reason": "the capture date (local)",
        }
        fields["time"] = {
            "column": low["time"],
            "format": "auto",
            "confidence": 0.8,
            "reason": "the capture time (local)",
        }
    elif "ctx:RunStartTime" in rows.columns:
        fields["datetime"] = {
            "column": "ctx:RunStartTime",
            "confidence": 0.5,
            "reason": "the run's start time from the .ctx (local, no zone)",
        }
    for field, key in (
        ("latitude", "ctx:LocationLatitude"),
        ("longitude", "ctx:LocationLongitude"),
    ):
        if key in rows.columns and any(str(v).strip() for v in rows[key].unique()):
            fields[field] = {
                "column": key,
                "confidence": 0.7,
                "reason": f"the run's {key[4:]} in the .ctx",
            }
    if cols.get("id"):
        fields["object_id"] = {"column": cols["id"], "confidence": 0.6, "reason": "the particle id"}
    return {"fields": fields}


def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path).resolve()
    task.start("scan", None, unit="runs", message=f"Reading FlowCam runs in {path}")
    if path.is_file():
        root, tables = path.parent, [path]
    else:
        root = path
        lsts, csvs = _runs(path)
        # A CSV export of the same run as an .lst lists the same particles: read the .lst.
        lst_stems = {p.stem for p in lsts}
        tables = lsts + [c for c in csvs if c.stem not in lst_stems]
    task.set_total(len(tables))
    scans: list[Scan] = []
    used: set[str] = set()
    for t in tables:
        task.check()
        s, u = _read_run(t, root, task)
        used |= u
        scans.append(s)
        task.advance(1)
    # Every other image in the folder: masks, backgrounds, unlisted collages.
    aside: list[SetAside] = []
    for e in sorted(os.scandir(root), key=lambda e: e.name):
        if os.path.splitext(e.name)[1].lower() not in IMAGE_SUFFIXES or e.name in used:
            continue
        if _BIN.search(e.name):
            kept = _BIN.sub(lambda m: "." + m.group(1), e.name)
            aside.append(
                SetAside(
                    e.path,
                    "black-and-white mask collage (particle outlines), not an image to pack",
                    kept=kept if kept in used else None,
                )
            )
        elif _CAL.search(e.name):
            aside.append(SetAside(e.path, "background calibration frame, not a particle"))
        elif path.is_dir():
            aside.append(SetAside(e.path, "not named by any particle list of this folder"))
    if scans:
        scans[0].set_aside.extend(aside)
    n = sum(len(s.images) for s in scans)
    return finish_scan(task, scans, f"{n} FlowCam particles in {len(scans)} run(s)")

"""ZooScan: a ZooProcess project folder, or an EcoTaxa export that ZooProcess wrote.

A ZooProcess project (``Zooscan_<name>/``) holds::

    Zooscan_meta/zooscan_sample_header_table.csv   one row per sample (';', latin-1)
    Zooscan_meta/zooscan_scan_header_table.csv     one row per scan (fraction) of a sample
    Zooscan_scan/_raw/<scan>_raw_1.tif             the full scan (not packed: its vignettes are)
    Zooscan_scan/_work/<scan>/<scan>_<item>.jpg    the vignettes
    Zooscan_scan/_work/<scan>/<scan>_dat1.pid      INI sections, then [Data]: a ';' table per object
    Zooscan_scan/_work/<scan>/ecotaxa_<scan>.tsv   the EcoTaxa table ZooProcess writes (when run)
    Zooscan_scan/_work/<scan>/<scan>_vis1.zip      the same vignettes again (set aside)

A scan's ``work/<scan>/`` folder copied off the scanning PC, or a ``work/`` folder of several, is
read alone too: every folder holding a ``.pid`` is a scan.  Without a ``Zooscan_meta`` row for its
sample, a scan takes its sample header from its ``.pid``'s ``[Sample]`` section, where ZooProcess
copied it (same names, same conventions).  In the ``.pid`` ``[Data]`` table ``Min``/``Max``/``Mean``
are grey levels, never depths.

Rows come from ``ecotaxa_<scan>.tsv`` when present (ZooProcess has converted coordinates there to
decimal degrees), else from the ``.pid`` ``[Data]`` table.  Sample-header values join every row of
the sample as ``hdr:<column>``, scan-header values as ``scanhdr:<column>``, ``.pid`` settings as
``pid:<key>``.  In the headers latitude/longitude are in the historical DD.MM form and ZooProcess
wrote longitude with its sign flipped (east negative); ``99999`` means "not measured"; the scan
resolution is in dpi (2400 dpi = 10.58 µm per pixel).

A folder or zip holding an EcoTaxa table whose ``process_software`` is ZooProcess (the fixture
``m106_mn01_n1_sml``) is read as kind ``zooscan`` too: it is a ZooScan's output, exported.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..problems import Problem, UserError
from ..progress import Task
from . import zooprocess
from .base import ROW_COL, TABLE_COL, Detection, Scan, SetAside
from .ecotaxa_suggest import suggest
from .ecotaxa_table import TSV_NAME, build_scan, find_tsvs, first_values, join_tables
from .listing import Entry, Tree, list_tree, shallow_files
from .pixels import IMAGE_SUFFIXES
from .reader import add_header_columns, deep_detection, depth_of, finish_scan, tidy_rows
from .suggested import col, samples, spec, suggest_columns
from .tables import decode_text, read_text_table

KIND = "zooscan"
VIS_ZIP = re.compile(r"_vis\d*\.zip$", re.I)


def _find_meta(path: Path) -> Path | None:
    for cand in (path / "Zooscan_meta", path / "zooscan_meta"):
        if cand.is_dir():
            return cand
    return None


def _has_pid(path: Path) -> bool:
    """A ``.pid`` in the folder or one level down: a scan's ``work/<scan>/`` folder, or a
    ``work/`` folder holding several scans (what people copy off the scanning PC)."""
    return any(
        n.rel.count("/") <= 1 and zooprocess.PID_NAME.search(n.rel)
        for n in shallow_files(path, (".pid",))
    )


def _zooprocess_table(entry: Entry) -> str:
    v = first_values(entry, ("process_software", "acq_instrument"))
    sw = v.get("process_software", "")
    if sw.lower().startswith("zooprocess") or "zooscan" in v.get("acq_instrument", "").lower():
        return sw or v.get("acq_instrument", "")
    return ""


def _zip_project(path: Path) -> str | None:
    """The ``Zooscan_meta/`` folder inside a zip of a ZooProcess project (central directory only)."""
    if not (path.is_file() and path.suffix.lower() == ".zip"):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    for n in sorted(names, key=len):
        parts = n.split("/")
        lower = [p.lower() for p in parts[:-1]]
        if "zooscan_meta" in lower:
            return "/".join(parts[: lower.index("zooscan_meta") + 1])
    return None


def detect(path: Path) -> Detection:
    path = Path(path)
    meta_in_zip = _zip_project(path)
    if meta_in_zip:
        return Detection(0.95, f"{path.name} holds a ZooProcess project ({meta_in_zip})")
    if path.is_dir():
        if _find_meta(path):
            return Detection(
                0.95, f"{path.name} is a ZooProcess project (Zooscan_meta, Zooscan_scan)"
            )
        if (path / "_work").is_dir() or _has_pid(path):
            return Detection(0.85, f"{path.name} holds ZooProcess work folders or .pid files")
    tsvs = [t for t in find_tsvs(path) if _zooprocess_table(t)]
    if tsvs and depth_of(path, tsvs[0]) > 0:
        return deep_detection(tsvs[0].name, "the ZooProcess EcoTaxa table")
    if tsvs:
        sw = _zooprocess_table(tsvs[0])
        if sw:
            return Detection(
                0.8, f"{tsvs[0].name} is an EcoTaxa table written by ZooProcess ({sw})"
            )
    return Detection(0.0, "no ZooProcess project, .pid or ZooProcess EcoTaxa table")


# --- ZooProcess files --------------------------------------------------------------------------
def read_header_table(entry: Entry) -> pd.DataFrame:
    return read_text_table(decode_text(entry.read(), entry.display), entry.display, suffix=".csv")


# --- the scan ---------------------------------------------------------------------------------
def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path)
    if _zip_project(path) or (
        path.is_dir() and (_find_meta(path) or (path / "_work").is_dir() or _has_pid(path))
    ):
        return _project(path, task)
    tree = tsvs = None
    if path.is_dir():
        # Only ZooProcess's tables: other instruments' tables are left to their readers.
        tree = list_tree(path, task)
        tsvs = sorted(
            (e for e in tree.select(TSV_NAME) if _zooprocess_table(e)), key=lambda e: e.name
        )
    s = build_scan(path, task, kind=KIND, tree=tree, tsvs=tsvs)
    _finish(s, export=True)
    return finish_scan(task, s)


def _project(path: Path, task: Task) -> list[Scan]:
    task.start("scan", None, unit="files", message=f"Reading the ZooProcess project {path}")
    tree = list_tree(path, task, skip=("Zooscan_back", "Zooscan_results", "Zooscan_check"))
    problems = list(tree.problems)
    work_dirs = sorted(_work_dirs(tree))
    if not work_dirs:
        problems.append(
            Problem(
                "no_images",
                "no _work/<scan>/ folder and no .pid with vignettes: run ZooProcess's processing first",
                file=str(path),
            )
        )
    tsvs: list[Entry] = []
    units: list[_Unit] = []
    pid_images = []
    for d in work_dirs:
        in_dir = [e for e in tree.entries.values() if posixpath.dirname(e.name) == d]
        t = [e for e in in_dir if TSV_NAME.match(e.basename)]
        pids: dict[str, tuple[Entry, dict[str, str], dict[str, str], pd.DataFrame]] = {}
        for p in sorted(
            (e for e in in_dir if zooprocess.PID_NAME.search(e.basename)), key=lambda e: e.name
        ):
            scan_id = zooprocess.PID_NAME.sub("", p.basename)
            if scan_id.lower() in pids:
                continue  # one .pid per scan (a second is a copy ZooProcess kept)
            try:
                text = decode_text(p.read(), p.display)
                settings, prow = zooprocess.read_pid_text(text, p.display, p.name)
            except UserError as exc:
                problems.append(Problem("bad_file", str(exc).split(": ", 1)[-1], file=p.display))
                continue
            pids[scan_id.lower()] = (p, settings, zooprocess.pid_section(text, "Sample"), prow)
        if t:
            tsvs += t
            first = next(iter(pids.values()), None)
            scan_id = posixpath.basename(d) or (
                zooprocess.PID_NAME.sub("", first[0].basename) if first else ""
            )
            units.append(
                _Unit(
                    d,
                    scan_id,
                    {e.name for e in t},
                    first[1] if first else {},
                    first[2] if first else {},
                )
            )
            continue
        for p, settings, sample, prow in pids.values():
            units.append(
                _Unit(d, zooprocess.PID_NAME.sub("", p.basename), {p.name}, settings, sample)
            )
            pid_images.append((d, p, prow))
    built = join_tables(tree, tsvs, task)
    problems += built.problems
    rows = built.rows
    images = list(built.images)
    used = set(built.used)
    # Scans without an EcoTaxa table: rows from the .pid, vignettes <Label>_<Item>.jpg.
    for d, p, prow in pid_images:
        prow = prow.reset_index(drop=True)
        if "Label" in prow.columns and "Item" in prow.columns:
            # EcoTaxa's object_id for a ZooProcess object is its vignette name, <Label>_<Item>.
            prow.insert(
                0,
                "zooprocess:object_id",
                prow["Label"].str.strip() + "_" + prow["Item"].str.strip(),
            )
        in_dir = (e for e in tree.entries.values() if posixpath.dirname(e.name) == d)
        rows = zooprocess.add_pid_objects(
            rows, prow, in_dir, pid=p, prefix=None, images=images, used=used, problems=problems
        )
    if not rows.empty:
        rows = tidy_rows(rows)
    # Header tables and .pid settings, joined by the scan each table belongs to.
    samples_hdr, scans_hdr = _headers(tree, problems)
    meta = _find_meta(path) if path.is_dir() else None
    present = set(rows[TABLE_COL].unique()) if not rows.empty else set()
    for u in units:
        tables = sorted(u.tables & present)
        scan_row = scans_hdr.get(u.scan_id.lower(), {})
        sample_id = (
            scan_row.get("sampleid")
            or _sample_of(rows, tables)
            or u.sample.get("sampleid")
            or u.scan_id
        )
        sample_row = samples_hdr.get(sample_id.lower()) or _longest_prefix(samples_hdr, u.scan_id)
        if not sample_row and u.sample:
            # ZooProcess copied the sample header into the .pid's [Sample] section when it
            # processed the scan: the same names and conventions as Zooscan_meta's table.
            sample_row = u.sample
            if tables and (samples_hdr or meta):
                problems.append(
                    Problem(
                        "missing_header",
                        f"no row for sample {sample_id!r} in Zooscan_meta's sample header table: "
                        "its header is taken from the [Sample] section of the scan's .pid",
                        file=tree.display(next(iter(u.tables))),
                        severity="info",
                    )
                )
        for t in tables:
            rows = add_header_columns(rows, sample_row or {}, prefix="hdr:", table=t)
            rows = add_header_columns(rows, scan_row, prefix="scanhdr:", table=t)
            rows = add_header_columns(rows, u.settings, prefix="pid:", table=t)
        if tables and not sample_row:
            problems.append(
                Problem(
                    "missing_header",
                    f"no row for sample {sample_id!r} in Zooscan_meta's sample header table, "
                    "and no [Sample] section in a .pid",
                    file=str(path / "Zooscan_meta"),
                    severity="warning",
                )
            )
    set_aside = _aside(tree, used, images, set(work_dirs))
    name = path.stem if path.is_file() else path.name
    s = Scan(
        KIND, path, images, rows, problems=problems, set_aside=set_aside, label=f"ZooScan {name}"
    )
    s.suggested = suggest(rows)
    if pid_images:
        # Some scans have only a .pid: take every field from the headers, which all rows share
        # (ZooProcess computed the EcoTaxa table's object_lat/lon/date from the same headers).
        f = s.suggested["fields"]
        for name in (*zooprocess.PID_HEADER_FIELDS, "timezone"):
            f.pop(name, None)
    _finish(s, export=False)
    return finish_scan(task, s, f"{len(images)} vignettes, {len(rows)} rows")


@dataclass
class _Unit:
    """One scan of the project: its folder, id, tables, .pid settings and .pid [Sample] section."""

    folder: str
    scan_id: str
    tables: set[str]
    settings: dict[str, str]
    sample: dict[str, str]


def _work_dirs(tree: Tree) -> set[str]:
    """Every ``…/_work/<scan>`` folder that holds a file, and every folder holding a ``.pid``
    (a scan's ``work/<scan>/`` folder given alone, or a ``work/`` folder of several scans)."""
    out = set()
    for name in tree.entries:
        parts = name.split("/")
        if zooprocess.PID_NAME.search(parts[-1]):
            out.add("/".join(parts[:-1]))
        for i, part in enumerate(parts[:-2]):
            if part.lower() == "_work":
                out.add("/".join(parts[: i + 2]))
                break
    return out


def _sample_of(rows: pd.DataFrame, tables: list[str]) -> str:
    c = col(rows, "sample_id", "SampleId")
    if not c or not tables:
        return ""
    vals = rows.loc[rows[TABLE_COL].isin(tables), c].astype(str)
    return next((v for v in vals if v.strip()), "")


def _longest_prefix(table: dict[str, dict[str, str]], scan_id: str) -> dict[str, str] | None:
    """ZooProcess names scans <sampleid>_<fraction>: the sample whose id starts the scan id."""
    best = None
    sid = scan_id.lower()
    for k, v in table.items():
        # whole name parts only: sample "..._n1" is not the sample of scan "..._n10_d1"
        whole = sid.startswith(k) and (len(sid) == len(k) or sid[len(k)] == "_")
        if whole and (best is None or len(k) > len(best[0])):
            best = (k, v)
    return best[1] if best else None


def _headers(tree: Tree, problems: list[Problem]) -> tuple[dict, dict]:
    samples: dict[str, dict[str, str]] = {}
    scans: dict[str, dict[str, str]] = {}
    for e in tree.entries.values():
        folders = [p.lower() for p in e.name.split("/")[:-1]]
        if (
            "zooscan_meta" not in folders
            or "header" not in e.basename.lower()
            or e.suffix not in (".csv", ".txt")
        ):
            continue
        try:
            t = read_header_table(e)
        except UserError as exc:
            problems.append(Problem("bad_table", str(exc).split(": ", 1)[-1], file=e.display))
            continue
        lower = {c.lower(): c for c in t.columns}
        key = "scanid" if "scanid" in lower else "sampleid" if "sampleid" in lower else None
        if key is None:
            continue
        target = scans if key == "scanid" else samples
        for _, r in t.iterrows():
            rec = {c: str(r[c]) for c in t.columns if c not in (TABLE_COL, ROW_COL)}
            target.setdefault(str(r[lower[key]]).strip().lower(), rec)
    return samples, scans


def _aside(tree: Tree, used: set[str], images, work_dirs: set[str]) -> list[SetAside]:
    packed_by_base = {im.name.rsplit("/", 1)[-1].lower(): im.name for im in images}
    out = []
    for e in tree.entries.values():
        if e.suffix not in IMAGE_SUFFIXES or e.name in used:
            continue
        parts = e.name.split("/")
        if any(VIS_ZIP.search(p) for p in parts):
            zipname = next(p for p in parts if VIS_ZIP.search(p))
            kept = packed_by_base.get(e.basename.lower())
            out.append(
                SetAside(
                    e.display,
                    f"a copy in {zipname}, ZooProcess's zip of the vignettes for visual checking",
                    kept=kept,
                )
            )
        elif "_raw" in parts or "Zooscan_back" in parts:
            out.append(
                SetAside(
                    e.display,
                    "a full ZooScan scan or background; its vignettes in _work are packed",
                )
            )
        elif "_work" in parts or posixpath.dirname(e.name) in work_dirs:
            out.append(
                SetAside(e.display, "no row of the .pid or EcoTaxa table names this vignette")
            )
        else:
            out.append(SetAside(e.display, "not a vignette of a _work/<scan>/ folder"))
    return out


# What the ZooProcess headers and the .pid give where the table is silent, in the order suggested:
# (field, column(s), what the column holds, spec keywords).  See docs/instruments.md, "ZooScan".
_HDR = "ZooProcess sample header"
DEPTH_RANGE = [
    (
        f"depth_{m}",
        f"hdr:z{m}",
        f"{_HDR} z{m}, metres (99999 = not measured)",
        {"unit": "m", "confidence": 0.8},
    )
    for m in ("min", "max")
]
HEADER_FIELDS = [
    (
        "pixel_size",
        ("pid:Resolution", "pid:resolution"),
        "the scan resolution in the .pid, dots per inch (2400 dpi = 10.58 µm)",
        {"unit": "dpi", "confidence": 0.9},
    ),
    (
        "object_id",
        "zooprocess:object_id",
        "the vignette name <Label>_<Item> of the .pid row",
        {"confidence": 0.8},
    ),
    (
        "volume_sampled",
        "hdr:vol",
        f"{_HDR} vol: the volume the net filtered, m³ (of which the scan is the fraction 1/fracnb)",
        {"unit": "m3", "confidence": 0.6},
    ),
    ("station_id", "hdr:stationid", f"{_HDR} stationid", {"confidence": 0.8}),
    ("sample_id", "hdr:sampleid", f"{_HDR} sampleid", {"confidence": 0.8}),
]


def _finish(s: Scan, *, export: bool) -> None:
    """Dress a scan as ZooScan: sensor, and the ZooProcess header fields where the table is silent."""
    s.kind = KIND
    s.sensor = "ZooScan"
    if export and not s.label.startswith("ZooScan"):
        s.label = f"ZooScan (EcoTaxa export) {s.label}"
    rows = s.rows
    f = s.suggested.setdefault("fields", {})
    if rows.empty:
        return
    zooprocess.suggest_pid_header(
        rows,
        f,
        latitude="ZooProcess sample header latitude, DD.MM (degrees.minutes)",
        longitude="ZooProcess sample header longitude, DD.MM with the sign flipped (ZooProcess wrote east as negative)",
        confidence=0.8,
        lon_confidence=0.7,
        negate_longitude=True,
    )
    sample_values = lambda c: ", ".join(samples(rows, c))  # noqa: E731
    c = col(rows, "hdr:date")
    if c and "date" not in f and "datetime" not in f:
        f["datetime"] = spec(
            c,
            f"ZooProcess sample header date, YYYYMMDD-HHMM: {sample_values(c)}",
            format="%Y%m%d-%H%M",
            confidence=0.8,
        )
    suggest_columns(rows, f, DEPTH_RANGE)
    zooprocess.no_depth_from_grey_levels(rows, f)
    suggest_columns(rows, f, HEADER_FIELDS)
    if ("date" in f or "datetime" in f) and "timezone" not in f:
        f["timezone"] = {
            "constant": "UTC",
            "confidence": 0.5,
            "reason": "ZooProcess headers do not say; UTC is the EcoTaxa convention — check your log sheet",
        }

"""An inventory of every dataset below some folders: one row per recognised part, for the AqQua
data sharing form (issue 19).

AqQua asks contributors to list *all* their datasets, also those not ready to send, with the
instrument, the amount of data and the transfer they prefer.  ``inventory(roots, task)`` walks the
roots, recognises datasets exactly as ``scan`` does (the registry's readers and their confidence),
scans each part, runs the suggested mapping on it (what ``check`` does without flags) and keeps a
small summary per part: counts, bytes, time span, bounding box, readiness, what is missing most,
an estimate of the package size and the transfer AqQua recommends for that size.  It reads tables
and file listings; pixels are decoded only for the few images of the package-size estimate.

A folder or zip that cannot be read becomes a row naming its problem; the walk goes on.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .fields import REQUIRED_FIELDS
from .mapping.apply import OK
from .problems import UserError
from .progress import Cancelled, Task, null_task
from .report import build_report
from .sources.base import Scan
from .sources.pixels import IMAGE_SUFFIXES
from .sources.registry import CONFIDENT, detect_all, scan_path
from .workflow import Request, check

SCHEMA_VERSION = 1
DEFAULT_DEPTH = 6  # folder levels below each root searched for datasets (a disk/year/cruise/...)

# The instrument as people name it, by reader.
INSTRUMENTS = {
    "zooscan": "ZooScan",
    "uvp5": "UVP5",
    "uvp6": "UVP6",
    "planktoscope": "PlanktoScope",
    "ecotaxa": "EcoTaxa export",
    "ifcb": "IFCB",
    "flowcam": "FlowCam",
    "microscopy": "Microscope",
    "generic": "Images (instrument not recognised)",
}

# What AqQua's data sharing form recommends for a package of a given size (decimal GB).
CLOUD_DRIVE_MAX_GB = 20
LINK_SERVICE_MAX_GB = 200


def recommended_transfer(package_bytes: int) -> str:
    """The transfer AqQua recommends for a package this large (a hard drive is fine at any size)."""
    gb = package_bytes / 1e9
    if gb < CLOUD_DRIVE_MAX_GB:
        return "Cloud drive (Nextcloud, Google Drive, Dropbox) or a hard drive"
    if gb <= LINK_SERVICE_MAX_GB:
        return "Link service (GigaMove) or a hard drive"
    return "Globus or FTP/SFTP, or a hard drive"


# --- the package size estimate --------------------------------------------------------------------
SAMPLE_IMAGES = 12  # images encoded for real per estimate (a disk has many datasets)


def estimated_package_bytes(scans: list[Scan]) -> int:
    """Bytes the AqQua package of these scans will take: ``package.estimate`` on every image they
    hold, from a small sample encoded for real with the writer's own encoder."""
    from .package.estimate import estimate_package_bytes

    return estimate_package_bytes(scans, sample=SAMPLE_IMAGES).package_bytes


# --- one row -----------------------------------------------------------------------------------
@dataclass
class DatasetRow:
    """One recognised dataset (or a folder that could not be read: ``problem`` says why)."""

    path: str
    kind: str = ""  # the reader: "ifcb", "uvp6", ...; "" when nothing could be read
    instrument: str = ""  # as people name it: "IFCB (IFCB013)"
    label: str = ""
    images: int = 0
    bytes_on_disk: int = 0
    package_bytes: int = 0  # estimated
    first: str = ""  # first acquisition, "YYYY-MM-DD HH:MM:SS" UTC; "" when no time is readable
    last: str = ""
    south: float | None = None
    north: float | None = None
    west: float | None = None
    east: float | None = None
    ready: int = 0  # images ready to pack now, with the suggested mapping
    missing: dict[str, int] = field(default_factory=dict)  # required field -> images lacking it
    transfer: str = ""
    problem: str = ""

    @property
    def ready_percent(self) -> float | None:
        return round(100.0 * self.ready / self.images, 1) if self.images else None

    @property
    def most_missing(self) -> tuple[list[str], int]:
        """The required field(s) most images lack, and how many lack them."""
        if not self.missing:
            return [], 0
        top = max(self.missing.values())
        if top <= 0:
            return [], 0
        return [f for f in REQUIRED_FIELDS if self.missing.get(f) == top], top

    def most_missing_text(self) -> str:
        names, n = self.most_missing
        if not n:
            return ""
        return f"{', '.join(names)} ({n:,} image{'s' if n != 1 else ''})"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        names, n = self.most_missing
        d["ready_percent"] = self.ready_percent
        d["most_missing"] = {"fields": names, "images": n} if n else None
        return d


def _instrument(scan: Scan) -> str:
    name = INSTRUMENTS.get(scan.kind, scan.kind)
    sensor = (scan.sensor or "").strip()
    return f"{name} ({sensor})" if sensor and sensor.lower() != name.lower() else name


def _bytes_on_disk(scan: Scan) -> int:
    """Bytes of the files the part's images and tables are read from (a zip or collage once)."""
    images = scan.images
    sizes = images.sizes()
    whole = images.whole_files() & (sizes > 0)
    total = int(sizes[whole].sum())
    containers = {images.path(int(i)) for i in np.flatnonzero(~whole)}
    for t in scan.tables:
        t = str(t).split(" › ")[0]
        containers.add(t if os.path.isabs(t) else os.path.join(str(scan.root), t))
    for p in containers:
        try:
            total += os.stat(p).st_size
        except OSError:
            pass
    return total


def _utc_text(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t is not None else ""


def _lon_span(lons: np.ndarray) -> tuple[float, float]:
    """West and east edges of the narrowest band holding every longitude: a cruise across the
    antimeridian gives west > east (170 → -170), not the whole globe."""
    v = np.unique(lons)
    if v.size == 1:
        return float(v[0]), float(v[0])
    gaps = np.diff(np.concatenate([v, [v[0] + 360.0]]))
    i = int(np.argmax(gaps))
    if i == v.size - 1:  # the largest gap is the one across the antimeridian: an ordinary band
        return float(v[0]), float(v[-1])
    return float(v[i + 1]), float(v[i])


def _fill_from_check(row: DatasetRow, scan: Scan, task: Task) -> None:
    """Readiness, time span and bounding box from the suggested mapping (``check`` with no flags)."""
    mapped = check(Request(sources=[Path(scan.root)]), task, scans=[scan])
    report = build_report(mapped)
    row.ready = report.ready
    row.missing = {
        f.name: f.missing + f.invalid for f in report.fields if f.required and f.missing + f.invalid
    }
    conv = mapped.converted

    def ok(name: str) -> np.ndarray:
        st = mapped.fields.get(name)
        return np.zeros(len(conv), bool) if st is None else (st.status == OK)

    if "image-datetime" in conv.columns:
        t = conv["image-datetime"][ok("datetime")].dropna()
        if len(t):
            row.first, row.last = _utc_text(t.min()), _utc_text(t.max())
    if "image-latitude" in conv.columns and "image-longitude" in conv.columns:
        good = ok("latitude") & ok("longitude")
        lat = conv["image-latitude"].to_numpy(float)[good]
        lon = conv["image-longitude"].to_numpy(float)[good]
        keep = np.isfinite(lat) & np.isfinite(lon)
        if keep.any():
            lat, lon = lat[keep], lon[keep]
            row.south, row.north = float(lat.min()), float(lat.max())
            row.west, row.east = _lon_span(lon)


def _scan_problem(scan: Scan) -> str:
    errors = [p for p in scan.problems if p.severity == "error" and p.kind != "set_aside"]
    if not errors:
        return ""
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{errors[0]}{more}"


def summarise_part(scan: Scan, task: Task | None = None) -> DatasetRow:
    """One row for one recognised part."""
    task = task or null_task()
    row = DatasetRow(
        path=str(scan.root),
        kind=scan.kind,
        instrument=_instrument(scan),
        label=scan.label,
        images=len(scan.images),
        problem=_scan_problem(scan),
    )
    row.bytes_on_disk = _bytes_on_disk(scan)
    if row.images:
        _fill_from_check(row, scan, task)
        row.package_bytes = estimated_package_bytes([scan])
    row.transfer = recommended_transfer(row.package_bytes)
    return row


# --- finding the datasets --------------------------------------------------------------------------
@dataclass
class _Found:
    path: Path
    how: str  # "part": a reader claims it; "loose": images no reader claims; "problem"
    problem: str = ""
    exclude: list[Path] = field(default_factory=list)  # for "loose": what belongs elsewhere


def _claimed(path: Path) -> bool:
    name, det = detect_all(path)[0]
    return det.confidence >= CONFIDENT and name != "generic"


def _zip_problem(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return f"cannot open the zip file ({exc})"
    return ""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def find_datasets(root: Path, depth: int, task: Task) -> list[_Found]:
    """Folders and zips below ``root`` that a reader claims (as ``scan`` splits a mixed folder,
    not looking inside a claimed one), folders of images no reader claims, and what cannot be read;
    at most ``depth`` folder levels down."""
    root = Path(root)
    if not os.path.lexists(root):
        return [_Found(root, "problem", "no such file or folder")]
    if not root.is_dir():
        if root.suffix.lower() == ".zip" and (why := _zip_problem(root)):
            return [_Found(root, "problem", why)]
        return [_Found(root, "part")]
    try:
        if _claimed(root):
            return [_Found(root, "part")]
    except OSError as exc:
        return [_Found(root, "problem", f"cannot be read ({_reason(exc)})")]
    found: list[_Found] = []
    level = [root]
    for lvl in range(depth + 1):
        nxt: list[Path] = []
        for d in level:
            task.check()
            loose = False  # images lie here
            candidates: list[tuple[str, bool]] = []  # folders and zips, which may be datasets
            try:
                with os.scandir(d) as it:
                    for e in it:
                        name = e.name
                        if name.startswith("."):
                            continue
                        try:
                            is_dir = e.is_dir(follow_symlinks=False)
                        except OSError:
                            is_dir = False
                        dot = name.rfind(".")
                        suffix = name[dot:].lower() if dot > 0 else ""
                        if is_dir or suffix == ".zip":
                            candidates.append((e.path, is_dir))
                        elif suffix in IMAGE_SUFFIXES:
                            loose = True
            except OSError as exc:
                found.append(_Found(d, "problem", f"cannot be read ({_reason(exc)})"))
                continue
            task.advance(1)
            parts: list[Path] = []
            folders: list[Path] = []
            subdirs: list[Path] = []
            for path, is_dir in sorted(candidates):
                p = Path(path)
                if is_dir:
                    subdirs.append(p)
                if lvl == depth:
                    continue  # deeper than asked
                task.check()
                if _claimed(p):
                    parts.append(p)
                    found.append(_Found(p, "part"))
                elif is_dir:
                    folders.append(p)
                elif why := _zip_problem(p):
                    found.append(_Found(p, "problem", why))
                else:
                    loose = True  # a zip of images no reader claims: part of this folder's images
            if loose:
                # the images lying here (and in unclaimed zips); sub-folders are rows of their own
                found.append(_Found(d, "loose", exclude=subdirs + parts))
            nxt.extend(folders)
        level = nxt
        if not level:
            break
    return found


def _relay(task: Task, what: str) -> Task:
    """A task for the readers and the mapping of one part: the same cancel flag; their progress
    shows as the inventory's status line (the inventory itself counts datasets)."""

    def on_event(ev) -> None:
        if ev.done:
            task.status(f"{what}: {ev.phase} {ev.done:,} {ev.unit}")

    return Task(on_event=on_event, min_interval=0.5, _cancel=task._cancel)


def _scan_found(f: _Found, task: Task) -> list[Scan]:
    if f.how == "loose":
        from .sources.generic import scan as generic_scan

        scans = [s for s in generic_scan(f.path, task, exclude=f.exclude) if len(s.images)]
        for s in scans:
            s.reason = "images no reader recognises as an instrument's"
        return scans
    return scan_path(f.path, task)


# --- the whole inventory -------------------------------------------------------------------------
@dataclass
class Inventory:
    roots: list[str]
    rows: list[DatasetRow]

    @property
    def datasets(self) -> list[DatasetRow]:
        """The rows that are datasets (not folders that could not be read)."""
        return [r for r in self.rows if r.kind]

    def total(self) -> DatasetRow:
        """The TOTAL row: sums, the overall time span and bounding box, the union of what lacks."""
        rows = self.datasets
        t = DatasetRow(path="TOTAL", label=f"{len(rows)} datasets")
        t.images = sum(r.images for r in rows)
        t.bytes_on_disk = sum(r.bytes_on_disk for r in rows)
        t.package_bytes = sum(r.package_bytes for r in rows)
        t.ready = sum(r.ready for r in rows)
        firsts = [r.first for r in rows if r.first]
        lasts = [r.last for r in rows if r.last]
        t.first, t.last = min(firsts, default=""), max(lasts, default="")
        boxes = [r for r in rows if r.south is not None]
        if boxes:
            t.south = min(r.south for r in boxes)
            t.north = max(r.north for r in boxes)
            t.west, t.east = _lon_span(np.array([x for r in boxes for x in (r.west, r.east)]))
        missing: Counter[str] = Counter()
        for r in rows:
            missing.update(r.missing)
        t.missing = dict(missing)
        t.transfer = recommended_transfer(t.package_bytes)
        unread = len(self.rows) - len(rows)
        if unread:
            t.problem = f"{unread} folder{'s' if unread != 1 else ''} or zip{'s' if unread != 1 else ''} could not be read"
        return t

    def to_dict(self) -> dict[str, Any]:
        return {
            "aqqua-inventory": SCHEMA_VERSION,
            "roots": list(self.roots),
            "rows": [r.to_dict() for r in self.rows],  # datasets, and what could not be read
            "total": self.total().to_dict(),
        }

    def to_csv(self, path: Path) -> Path:
        """The table for the data sharing form, with a TOTAL row; written atomically, UTF-8 with a
        byte-order mark so that spreadsheet programs read accents right."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".inventory-", suffix=".csv", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(CSV_COLUMNS)
                for r in [*self.rows, self.total()]:
                    w.writerow(csv_cells(r))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path


CSV_COLUMNS = (
    "Folder",
    "Dataset",
    "Instrument",
    "Images",
    "Size on disk (GB)",
    "Estimated package size (GB)",
    "First sample (UTC)",
    "Last sample (UTC)",
    "South",
    "North",
    "West",
    "East",
    "Ready now (%)",
    "Most missing",
    "Recommended transfer",
    "Problem",
)


def _gb(n: int) -> str:
    return f"{n / 1e9:.3f}"


def _deg(v: float | None) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v:.4f}"


def csv_cells(r: DatasetRow) -> list[str]:
    """A row's cells in ``CSV_COLUMNS`` order, as the CSV and the wizard's table show them."""
    pct = r.ready_percent
    known = bool(r.kind) or r.path == "TOTAL"
    return [
        r.path,
        r.label,
        r.instrument,
        str(r.images) if known else "",
        _gb(r.bytes_on_disk) if known else "",
        _gb(r.package_bytes) if known else "",
        r.first,
        r.last,
        _deg(r.south),
        _deg(r.north),
        _deg(r.west),
        _deg(r.east),
        "" if pct is None else f"{pct:.1f}",
        r.most_missing_text(),
        r.transfer if known else "",
        r.problem,
    ]


def inventory(
    roots: list[Path], task: Task | None = None, *, depth: int = DEFAULT_DEPTH
) -> Inventory:
    """Every dataset below ``roots``, one row per recognised part (see the module docstring)."""
    task = task or null_task()
    if not roots:
        raise UserError("No folders given: name at least one folder (a disk, a share, a cruise).")
    if depth < 0:
        raise UserError(f"--depth must be 0 or more (got {depth})")
    found: list[_Found] = []
    roots = [Path(r).expanduser().resolve() for r in roots]  # as the readers see them
    for root in roots:
        task.start("inventory", None, unit="folders", message=f"Looking for datasets in {root}")
        found.extend(sorted(find_datasets(root, depth, task), key=lambda f: str(f.path)))
    todo = [f for f in found if f.how != "problem"]
    task.start(
        "inventory", len(todo), unit="datasets", message=f"{len(todo)} datasets found; reading each"
    )
    rows: list[DatasetRow] = []
    for f in found:
        task.check()
        if f.how == "problem":
            rows.append(DatasetRow(path=str(f.path), problem=f.problem))
            continue
        inner = _relay(task, f.path.name)
        try:
            scans = _scan_found(f, inner)
            for s in scans:
                rows.append(summarise_part(s, inner))
        except Cancelled:
            raise
        except UserError as exc:
            rows.append(DatasetRow(path=str(f.path), problem=str(exc)))
        except Exception as exc:  # a reader's failure on one folder must not stop the inventory
            rows.append(
                DatasetRow(
                    path=str(f.path), problem=f"cannot be read ({type(exc).__name__}: {exc})"
                )
            )
        task.advance(1)
    task.finish(
        f"{sum(1 for r in rows if r.kind)} datasets, {sum(r.images for r in rows):,} images"
    )
    return Inventory([str(r) for r in roots], rows)

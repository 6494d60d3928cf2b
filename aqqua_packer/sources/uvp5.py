"""UVP5 (Underwater Vision Profiler 5) projects as Zooprocess-UVP5 lays them out.

::

    meta/uvp5_header_sn<serial>[_<name>].txt           one row per profile, ';'-separated, latin-1
    config/uvp5_settings/uvp5_configuration_data.txt   'key= value' lines; pixel= is the pixel size
    work/<profileid>/<profileid>_<item>.jpg            the vignettes
    work/<profileid>/<profileid>_dat1.pid              INI sections, then [Data]: one ';' row per object
    work/<profileid>/<profileid>_datfile.txt           one line per raw image: index; YYYYMMDDhhmmss_mmm;
                                                        sensor block (pressure in decibars x 10 first)
    work/<profileid>/ecotaxa_<profileid>.tsv           the EcoTaxa table, when Zooprocess exported one
    raw/…                                              raw images (not packed: their vignettes are)

Header rows join every row of their profile as ``hdr:<column>`` (``filename`` = profile start
``YYYYMMDDhhmmss``; latitude/longitude in the historical DD.MM form: 43.4111 = 43°41.11′),
configuration values as ``cfg:<key>`` (``pixel`` in mm in UVP5 configurations; a value above 5 is
taken as µm), and, for ``.pid`` rows, the pressure of the raw image each object was cut from, read
from the datfile, as ``datfile:pressure_dbar`` (the datfile's value divided by 10, as EcoPart does).
Each object's time is the raw image name in the ``.pid``'s ``Label`` (``YYYYMMDDhhmmss_mmm``).

No public UVP5 project is small enough to ship; tests build one with
``tests/sources/uvp5_generator.py``, which follows this layout.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

import pandas as pd

from ..problems import Problem, UserError
from ..progress import Task
from . import zooprocess
from .base import ROW_COL, TABLE_COL, Detection, Scan, SetAside
from .ecotaxa_suggest import suggest
from .ecotaxa_table import TSV_NAME, join_tables
from .listing import list_tree
from .pixels import IMAGE_SUFFIXES
from .reader import add_header_columns, finish_scan, tidy_rows
from .suggested import col, samples, spec
from .tables import decode_text, read_text_table

KIND = "uvp5"
HEADER_NAME = re.compile(r"^uvp5_header_sn.*\.txt$", re.I)


HEADER_PATH = re.compile(r"^(?P<prefix>(?:[^/]+/)*?)meta/uvp5_header_sn[^/]*\.txt$", re.I)


def _headers(path: Path) -> list[Path]:
    meta = path / "meta"
    if not meta.is_dir():
        return []
    return sorted(p for p in meta.iterdir() if HEADER_NAME.match(p.name))


def _zip_header(path: Path) -> str | None:
    """The first ``…meta/uvp5_header_sn*.txt`` inside a zip (its central directory only)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return next((n for n in sorted(zf.namelist(), key=len) if HEADER_PATH.match(n)), None)
    except (zipfile.BadZipFile, OSError):
        return None


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        name = _zip_header(path)
        if name:
            return Detection(0.95, f"{path.name} holds a UVP5 project ({name})")
        return Detection(0.0, "no meta/uvp5_header_sn*.txt in the zip")
    if not path.is_dir():
        return Detection(0.0, "a UVP5 project is a folder or a zip of one")
    hdrs = _headers(path)
    if hdrs:
        return Detection(0.95, f"meta/{hdrs[0].name} is a UVP5 project header")
    if (path / "config" / "uvp5_settings").is_dir():
        return Detection(0.8, "config/uvp5_settings is a UVP5 project's configuration")
    return Detection(0.0, "no meta/uvp5_header_sn*.txt")


def read_config_text(text: str) -> dict[str, str]:
    """``key= value`` lines (Zooprocess writes a space after '='); other lines are ignored."""
    out: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        k, sep, v = line.partition("=")
        if sep and k.strip() and not k.strip().startswith(("#", ";", "[")):
            out.setdefault(k.strip(), v.strip())
    return out


def read_datfile_text(text: str) -> dict[str, str]:
    """{raw image name: pressure in dbar as text} from a ``*_datfile.txt``."""
    out: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts = [p.strip() for p in line.split(";")]
        if len(parts) < 3 or not parts[1]:
            continue
        sensors = parts[2].rstrip("!").split("*")
        try:
            out[parts[1]] = f"{int(sensors[0]) / 10:g}"
        except ValueError:
            continue
    return out


def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path)
    task.start("scan", None, unit="files", message=f"Reading the UVP5 project {path}")
    tree = list_tree(path, task, skip=("raw", "results", "ecodata"))
    problems = list(tree.problems)
    # Profiles from the headers; the project may sit one folder down inside a zip.
    headers = sorted(
        (e for e in tree.entries.values() if HEADER_PATH.match(e.name)), key=lambda e: e.name
    )
    prefix = min((HEADER_PATH.match(e.name)["prefix"] for e in headers), key=len, default="")
    headers = [e for e in headers if e.name.startswith(f"{prefix}meta/")]
    profiles: dict[str, dict[str, str]] = {}
    for h in headers:
        where = h.display
        try:
            t = read_text_table(decode_text(h.read(), where), where, delimiter=";")
        except (UserError, OSError, KeyError) as exc:
            problems.append(Problem("bad_table", str(exc).split(": ", 1)[-1], file=where))
            continue
        if "profileid" not in t.columns:
            problems.append(
                Problem("bad_table", "no profileid column: not a UVP5 header", file=where)
            )
            continue
        for _, r in t.iterrows():
            rec = {c: str(r[c]) for c in t.columns if c not in (TABLE_COL, ROW_COL)}
            profiles.setdefault(rec["profileid"].strip(), rec)
    config: dict[str, str] = {}
    for e in tree.entries.values():
        if e.basename.lower() == "uvp5_configuration_data.txt":
            config = read_config_text(decode_text(e.read(), e.display))
            break
    # Rows and vignettes per work/<profile>/.
    wk = f"{prefix}work/"
    work = sorted(
        {
            wk + n[len(wk) :].split("/", 1)[0]
            for n in tree.entries
            if n.startswith(wk) and n[len(wk) :].count("/") >= 1
        }
    )
    tsvs, pid_profiles = [], []
    for d in work:
        in_dir = [e for e in tree.entries.values() if posixpath.dirname(e.name) == d]
        t = [e for e in in_dir if TSV_NAME.match(e.basename)]
        if t:
            tsvs += t
            continue
        pids = [e for e in in_dir if zooprocess.PID_NAME.search(e.basename)]
        if not pids:
            problems.append(
                Problem(
                    "missing_table",
                    "no .pid and no ecotaxa_*.tsv in this profile's work folder",
                    file=tree.display(d),
                    severity="warning",
                )
            )
            continue
        dats = [e for e in in_dir if e.basename.lower().endswith("_datfile.txt")]
        pid_profiles.append((d, pids[0], dats[0] if dats else None, in_dir))
    built = join_tables(tree, tsvs, task)
    problems += built.problems
    used = set(built.used)
    pid_rows, pid_images = _pid_part(tree, pid_profiles, problems, used, task)
    if not work:
        problems.append(
            Problem(
                "no_images",
                "no work/<profile>/ folder with vignettes: run Zooprocess-UVP5 first",
                file=str(path),
            )
        )
    set_aside = [
        SetAside(e.display, "no row of the .pid or EcoTaxa table names this vignette")
        for e in tree.entries.values()
        if e.suffix in IMAGE_SUFFIXES and e.name not in used and e.name.startswith(wk)
    ]
    set_aside += built.set_aside
    serial = headers[0].basename[:-4].split("_header_", 1)[-1] if headers else ""
    parts = []
    if tsvs or not pid_profiles:
        parts.append(("EcoTaxa tables", built.rows, list(built.images), False))
    if pid_profiles:
        parts.append((".pid files", pid_rows, pid_images, True))
    scans = []
    for i, (what, rows, images, from_pid) in enumerate(parts):
        rows = _decorate(rows, profiles, config, problems if i == 0 else [], path, prefix)
        name = path.stem if path.is_file() else path.name
        label = f"UVP5 {name}" + (f" ({what})" if len(parts) > 1 else "")
        sc = Scan(KIND, path, images, rows, _suggest(rows, from_pid=from_pid), label=label)
        sc.sensor = f"UVP5 {serial}".strip()
        if i == 0:
            sc.problems, sc.set_aside = problems, set_aside
        scans.append(sc)
    return finish_scan(task, scans, f"{sum(len(x.images) for x in scans)} vignettes")


def _pid_part(tree, pid_profiles, problems, used, task) -> tuple[pd.DataFrame, list]:
    """Rows from each profile's .pid (plus its datfile pressure), linked to <profile>_<item>.jpg."""
    rows = pd.DataFrame()
    images = []
    for d, pid, dat, in_dir in pid_profiles:
        task.check()
        try:
            _, prow = zooprocess.read_pid_text(
                decode_text(pid.read(), pid.display), pid.display, pid.name
            )
        except UserError as exc:
            problems.append(Problem("bad_file", str(exc).split(": ", 1)[-1], file=pid.display))
            continue
        prow = prow.reset_index(drop=True)
        if dat is not None and "Label" in prow.columns:
            pressures = read_datfile_text(decode_text(dat.read(), dat.display))
            prow = add_header_columns(prow, {"pressure_dbar": ""}, prefix="datfile:")
            prow["datfile:pressure_dbar"] = [
                pressures.get(str(v).strip(), "") for v in prow["Label"]
            ]
        rows = zooprocess.add_pid_objects(
            rows,
            prow,
            in_dir,
            pid=pid,
            prefix=posixpath.basename(d),
            images=images,
            used=used,
            problems=problems,
        )
    return rows, images


def _decorate(rows, profiles, config, problems, path, prefix: str = "") -> pd.DataFrame:
    """Header and configuration values on every row of their profile."""
    if rows.empty:
        return rows
    rows = tidy_rows(rows)
    for t in rows[TABLE_COL].unique():
        parts = t[len(prefix) :].split("/") if t.startswith(prefix) else []
        profile = parts[1] if len(parts) > 2 and parts[0] == "work" else ""
        if profile in profiles:
            rows = add_header_columns(rows, profiles[profile], prefix="hdr:", table=t)
        elif profile:
            problems.append(
                Problem(
                    "missing_header",
                    f"no row for profile {profile!r} in meta/uvp5_header_*.txt",
                    file=str(path / "meta"),
                    severity="warning",
                )
            )
        rows = add_header_columns(rows, config, prefix="cfg:", table=t)
    return rows


def _suggest(rows: pd.DataFrame, *, from_pid: bool) -> dict:
    if rows.empty:
        return {"fields": {}}
    out = suggest(rows)
    f = out["fields"]
    if from_pid:
        for name in zooprocess.PID_HEADER_FIELDS:
            f.pop(name, None)
    sv = lambda c: ", ".join(samples(rows, c))  # noqa: E731
    zooprocess.suggest_pid_header(
        rows,
        f,
        latitude="UVP5 header latitude, DD.MM (degrees.minutes: 43.4111 = 43°41.11')",
        longitude="UVP5 header longitude, DD.MM",
        confidence=0.85,
    )
    if "date" not in f and "datetime" not in f:
        c = col(rows, "Label")
        if c and all(re.match(r"^\d{14}", v) for v in samples(rows, c, 20)):
            f["datetime"] = {
                "column": c,
                "pattern": r"^(\d{14})",
                "format": "%Y%m%d%H%M%S",
                "confidence": 0.85,
                "reason": f"the raw image each object was cut from is named by its time, YYYYMMDDhhmmss_ms: {sv(c)}",
            }
        else:
            c = col(rows, "hdr:filename")
            if c:
                f["datetime"] = spec(
                    c,
                    f"UVP5 header filename = start of the profile, YYYYMMDDhhmmss: {sv(c)}",
                    format="%Y%m%d%H%M%S",
                    confidence=0.6,
                )
    c = col(rows, "datfile:pressure_dbar")
    if c and not any(k in f for k in ("depth", "depth_min", "depth_max")):
        f["depth"] = spec(
            c,
            f"pressure of the object's raw image in the datfile, decibars: {sv(c)}",
            unit="dbar",
            confidence=0.8,
        )
    if from_pid:
        zooprocess.no_depth_from_grey_levels(rows, f)
    if "pixel_size" not in f:
        c = col(rows, "cfg:pixel")
        if c:
            vals = samples(rows, c)
            try:
                mm = float(vals[0]) < 5
            except (ValueError, IndexError):
                mm = True
            f["pixel_size"] = spec(
                c,
                f"uvp5_configuration_data.txt pixel, {'mm' if mm else 'µm'} per pixel: {', '.join(vals)}",
                unit="mm" if mm else "um",
                confidence=0.85,
            )
    c = col(rows, "hdr:stationid")
    if c and "station_id" not in f:
        f["station_id"] = spec(c, f"UVP5 header stationid: {sv(c)}", confidence=0.8)
    c = col(rows, "hdr:profileid")
    if c and "sample_id" not in f:
        f["sample_id"] = spec(c, f"UVP5 header profileid: {sv(c)}", confidence=0.8)
    c = col(rows, "hdr:volimage", "acq_volimage")
    if c:
        f["volume_sampled"] = spec(c, f"volume of one image, litres: {sv(c)}", confidence=0.7)
    f["timezone"] = {
        "constant": "UTC",
        "confidence": 0.8,
        "reason": "UVP5 clocks are set to UTC for EcoPart; change it if yours ran on local time",
    }
    return out

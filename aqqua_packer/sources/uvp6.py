"""UVP6 (Underwater Vision Profiler 6) samples as UVPapp writes them.

A sample ``<name>`` is two zips, side by side (often under ``ecodata/<name>/``):

* ``<name>_Images.zip``: the vignettes (PNG) and ``ecotaxa_<name>.tsv`` (an EcoTaxa table);
* ``<name>_Particule.zip``: ``metadata.ini`` (``[HW_CONF] Pixel_Size`` in µm,
  ``[sample_metadata] latitude=43°48 08``, ``sampledatetime=YYYYMMDD-HHMMSS``) and particle counts
  (no images).

Text is windows-1252; the UVP6 clock runs in UTC.  The ``metadata.ini`` values are added to every
row of the sample as ``hdr:<key>`` columns, and the mapping falls back on them where the TSV is
silent.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from ..problems import Problem, UserError
from ..progress import Task
from .base import TABLE_COL, Detection, Scan
from .ecotaxa_table import TSV_NAME, build_scan, find_tsvs, first_values
from .listing import Entry, list_tree, shallow
from .reader import add_header_columns, deep_detection, depth_of, finish_scan
from .suggested import col, samples, spec
from .tables import decode_text

KIND = "uvp6"
IMAGES_ZIP = re.compile(r"^(?P<sample>.+)_Images\.zip$", re.I)
PARTICLE_ZIP = re.compile(r"^(?P<sample>.+)_Particule\.zip$", re.I)


def _is_uvp6_table(entry: Entry) -> bool:
    v = first_values(entry, ("acq_instrument", "process_software"))
    return v.get("acq_instrument", "").lower().startswith("uvp6") or v.get(
        "process_software", ""
    ).lower().startswith("uvp app")


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file():
        if PARTICLE_ZIP.match(path.name):
            return Detection(0.8, f"{path.name} is a UVP6 particle zip (metadata.ini, no images)")
        if IMAGES_ZIP.match(path.name):
            tsvs = find_tsvs(path)
            if tsvs:
                return Detection(0.9, f"{path.name} is a UVPapp images zip with {tsvs[0].name}")
        tsvs = find_tsvs(path)
        if tsvs and _is_uvp6_table(tsvs[0]):
            return Detection(0.85, f"{tsvs[0].name} was written by UVPapp (acq_instrument uvp6)")
        return Detection(0.0, "not a UVP6 images or particle zip")
    if not path.is_dir():
        return Detection(0.0, "not a folder or zip")
    zips = _sample_zips(path)
    own = [z for z in zips if _own_layout(path, z)]
    if own:
        return Detection(
            0.88,
            f"found the UVPapp sample zip {own[0].relative_to(path)}"
            + (f" and {len(own) - 1} more" if len(own) > 1 else ""),
        )
    if zips:
        return deep_detection(str(zips[0].relative_to(path)), "the UVPapp sample zip")
    tsvs = [t for t in find_tsvs(path) if _is_uvp6_table(t)]
    if tsvs and depth_of(path, tsvs[0]) == 0:
        return Detection(0.85, f"{tsvs[0].name} was written by UVPapp (acq_instrument uvp6)")
    if tsvs:
        return deep_detection(tsvs[0].name, "the UVPapp table")
    return Detection(0.0, "no UVPapp *_Images.zip or *_Particule.zip")


def _own_layout(root: Path, z: Path) -> bool:
    """A sample zip in the folder itself or in UVPapp's ``ecodata/<sample>/`` layout."""
    rel = z.relative_to(root).parts
    return len(rel) == 1 or (len(rel) == 3 and rel[0].lower() == "ecodata")


def _sample_zips(root: Path) -> list[Path]:
    """``*_Images.zip`` / ``*_Particule.zip`` near the top of the folder (e.g. ``ecodata/<sample>/``)."""
    return sorted(
        Path(n.path)
        for n in shallow(root)
        if not n.is_dir
        and (
            IMAGES_ZIP.match(n.rel.rsplit("/", 1)[-1])
            or PARTICLE_ZIP.match(n.rel.rsplit("/", 1)[-1])
        )
    )


def read_metadata_ini(zip_path: Path) -> tuple[dict[str, dict[str, str]], str]:
    """The sections of ``metadata.ini`` inside a particle zip, and where it was read from."""
    tree = list_tree(zip_path, _quiet())
    ini = [e for e in tree.entries.values() if e.basename.lower() == "metadata.ini"]
    if not ini:
        raise UserError(f"{zip_path}: no metadata.ini inside this particle zip")
    e = ini[0]
    return read_ini_text(decode_text(e.read(), e.display), e.display), e.display


def read_ini_text(text: str, where: str) -> dict[str, dict[str, str]]:
    """An INI file as {section: {key: value}}, keys as written; tolerant of duplicates."""
    import configparser

    cp = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    cp.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        cp.read_string(text, source=where)
    except configparser.Error as exc:
        raise UserError(
            f"{where}: not a readable settings file ({str(exc).splitlines()[0]})"
        ) from None
    return {s: {k: (v or "").strip() for k, v in cp.items(s)} for s in cp.sections()}


def _quiet() -> Task:
    from ..progress import null_task

    return null_task()


def header_values(sections: dict[str, dict[str, str]]) -> dict[str, str]:
    """``metadata.ini`` flattened to {key: value}; the first section naming a key wins."""
    out: dict[str, str] = {}
    for sec in ("sample_metadata", "HW_CONF", "ACQ_CONF", *sections):
        for k, v in sections.get(sec, {}).items():
            out.setdefault(k, v)
    return out


def _particle_zip_for(table: str, root: Path) -> Path | None:
    """The ``<sample>_Particule.zip`` next to the images zip that holds ``table``."""
    if root.is_file():
        m = IMAGES_ZIP.match(root.name)
        return root.with_name(f"{m['sample']}_Particule.zip") if m else None
    parts = table.split("/")
    for i, part in enumerate(parts):
        m = IMAGES_ZIP.match(part)
        if m:
            return root.joinpath(*parts[:i], f"{m['sample']}_Particule.zip")
    return None


def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path)
    if path.is_file() and PARTICLE_ZIP.match(path.name):
        return finish_scan(task, _particle_only(path), "a particle zip: no images")
    tree = tsvs = None
    if path.is_file() and path.suffix.lower() == ".zip":
        tree = list_tree(path, task)
    elif path.is_dir():
        # Only UVP6 tables: other instruments' tables in the folder are left to their readers.
        tree = list_tree(path, task)
        tsvs = sorted(
            (
                e
                for e in tree.select(TSV_NAME)
                if any(IMAGES_ZIP.match(p) for p in e.name.split("/")) or _is_uvp6_table(e)
            ),
            key=lambda e: e.name,
        )
    s = build_scan(path, task, kind=KIND, tree=tree, tsvs=tsvs)
    s.sensor = s.sensor or "UVP6"
    if s.sensor.lower() == "uvp6":
        s.sensor = "UVP6"
    sn = col(s.rows, "acq_sn")
    if sn:
        s.sensor = f"UVP6 {samples(s.rows, sn, 1)[0]}"
    # Each table's sample: the images zip it sits in; its metadata.ini is in the particle zip.
    have_header = False
    for tbl in s.tables:
        pz = _particle_zip_for(tbl, path)
        if pz is None or not pz.is_file():
            continue
        try:
            sections, _ = read_metadata_ini(pz)
        except UserError as exc:
            s.problems.append(
                Problem("bad_file", str(exc).split(": ", 1)[-1], file=str(pz), severity="warning")
            )
            continue
        s.rows = add_header_columns(s.rows, header_values(sections), table=tbl)
        have_header = True
    # UVPapp's compute_vignette.txt beside the table: how EcoTaxa is to draw the vignettes.
    for tbl in s.tables if tree is not None else []:
        cv = tree.find(posixpath.join(posixpath.dirname(tbl), "compute_vignette.txt"))
        if cv is None:
            continue
        try:
            sections = read_ini_text(decode_text(cv.read(), cv.display), cv.display)
        except UserError as exc:
            s.problems.append(
                Problem(
                    "bad_file", str(exc).split(": ", 1)[-1], file=cv.display, severity="warning"
                )
            )
            continue
        s.rows = add_header_columns(s.rows, header_values(sections), prefix="vignette:", table=tbl)
    _suggest(s, have_header)
    s.label = f"UVP6 {s.label}"
    return finish_scan(task, s)


def _suggest(s: Scan, have_header: bool) -> None:
    f = s.suggested.setdefault("fields", {})
    rows = s.rows
    if have_header:
        for field, key, kw, why in (
            (
                "latitude",
                "hdr:latitude",
                {"format": "dms"},
                "metadata.ini [sample_metadata] latitude",
            ),
            (
                "longitude",
                "hdr:longitude",
                {"format": "dms"},
                "metadata.ini [sample_metadata] longitude",
            ),
            (
                "pixel_size",
                "hdr:Pixel_Size",
                {"unit": "um"},
                "metadata.ini [HW_CONF] Pixel_Size, µm",
            ),
        ):
            c = col(rows, key)
            if c and field not in f:
                f[field] = spec(c, f"{why}: {', '.join(samples(rows, c))}", **kw)
        c = col(rows, "hdr:sampledatetime")
        if c and "date" not in f:
            f["datetime"] = spec(
                c,
                f"metadata.ini sampledatetime (start of the profile): {', '.join(samples(rows, c))}",
                format="%Y%m%d-%H%M%S",
                confidence=0.6,
            )
    c = col(rows, "acq_volimage")
    if c:
        f["volume_sampled"] = spec(
            c,
            f"UVP6 acq_volimage, litres per image: {', '.join(samples(rows, c))}",
            confidence=0.8,
        )
    if "date" in f or "datetime" in f:
        f["timezone"] = {
            "constant": "UTC",
            "confidence": 0.95,
            "reason": "the UVP6 clock runs in UTC",
        }


def _particle_only(path: Path) -> Scan:
    s = Scan(kind=KIND, root=path, label=f"UVP6 {path.stem}", sensor="UVP6")
    try:
        sections, where = read_metadata_ini(path)
    except UserError as exc:
        s.problems.append(Problem("bad_file", str(exc).split(": ", 1)[-1], file=str(path)))
        return s
    import pandas as pd

    hdr = header_values(sections)
    s.rows = add_header_columns(
        pd.DataFrame({TABLE_COL: [where.split(" › ", 1)[-1]], "__row__": [1]}), hdr
    )
    m = PARTICLE_ZIP.match(path.name)
    twin = path.with_name(f"{m['sample']}_Images.zip") if m else None
    s.problems.append(
        Problem(
            "no_images",
            "a UVP6 particle zip holds particle counts, not images; point at "
            + (f"{twin.name}" if twin else "the sample's *_Images.zip")
            + " (or the folder holding both)",
            file=str(path),
        )
    )
    _suggest(s, True)
    return s

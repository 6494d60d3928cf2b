"""PlanktoScope: its ``data/`` folder as the instrument leaves it.

::

    img/<date>/<sample>/<acquisition>/          full frames (JPEG) + metadata.json (+ integrity.check)
    objects/<date>/<sample>/<acquisition>/      the segmenter's crops <frame>_<n>.jpg
                                                + ecotaxa_<acquisition>.tsv + metadata.json
    export/ecotaxa/ecotaxa_<...>.zip            the same crops and table again (the EcoTaxa upload)
    clean/                                      the segmenter's debug images (ignored)

Each crop is packed once: from ``objects/`` when it is there, else from the export zip; the other
copy is set aside.  A segmented acquisition's full frames are set aside (its crops are packed); an
acquisition not yet segmented packs its frames, described by its ``metadata.json``.  The values of
``metadata.json`` join every row of the acquisition as ``hdr:<key>`` columns.

Two traps: ``acq_local_datetime`` (and what people type as ``object_time``) has no time zone, so
the scan asks for it; and latitude/longitude 0, 0 is what the PlanktoScope writes when nobody
filled them in: flagged, never packed as the Gulf of Guinea.  The volume is ``acq_imaged_volume``,
millilitres imaged (packed as litres); ``acq_volume`` is the millilitres *pumped*.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import pandas as pd

from ..problems import Problem
from ..progress import Task
from .base import ROW_COL, TABLE_COL, Detection, Scan, SetAside
from .ecotaxa_suggest import suggest
from .ecotaxa_table import TSV_NAME, Built, find_tsvs, first_values, join_tables, unnamed_images
from .ecotaxa_units import volume_suggestion
from .listing import Entry, list_tree, shallow_files
from .pixels import IMAGE_SUFFIXES
from .reader import add_header_columns, deep_detection, depth_of, finish_scan, tidy_rows
from .suggested import col, samples, spec

KIND = "planktoscope"
SKIP = ("clean",)


def _load_json(entry: Entry) -> dict | None:
    try:
        data = json.loads(entry.read().decode("utf-8-sig"))
    except (OSError, ValueError, KeyError):
        return None
    return data if isinstance(data, dict) else None


def _is_planktoscope_meta(meta: dict | None) -> bool:
    if not meta:
        return False
    inst = str(meta.get("acq_instrument", "")).lower()
    return "planktoscope" in inst or ("acq_local_datetime" in meta and "process_pixel" in meta)


def _find_metadata(path: Path) -> Path | None:
    """The shallowest ``metadata.json`` near the top of the folder (cheap, see listing.shallow)."""
    best = None
    for n in shallow_files(path, ("metadata.json",)):
        if n.rel.rsplit("/", 1)[-1] == "metadata.json" and n.rel.split("/", 1)[0] not in SKIP:
            if best is None or n.rel.count("/") < best.rel.count("/"):
                best = n
    return Path(best.path) if best else None


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_dir():
        meta_path = _find_metadata(path)
        if meta_path is not None:
            meta = _load_json(Entry("metadata.json", str(meta_path)))
            if _is_planktoscope_meta(meta):
                rel = meta_path.relative_to(path)
                if not _own_layout(rel):
                    return deep_detection(str(rel), "the PlanktoScope metadata")
                inst = meta.get("acq_instrument", "PlanktoScope") if meta else "PlanktoScope"
                return Detection(0.9, f"{rel} was written by a PlanktoScope ({inst})")
    tsvs = find_tsvs(path)
    if tsvs:
        v = first_values(tsvs[0], ("acq_instrument",))
        if "planktoscope" in v.get("acq_instrument", "").lower() and depth_of(path, tsvs[0]):
            return deep_detection(tsvs[0].name, "the PlanktoScope table")
        if "planktoscope" in v.get("acq_instrument", "").lower():
            return Detection(
                0.8, f"{tsvs[0].name} was written by a PlanktoScope ({v['acq_instrument']})"
            )
    return Detection(0.0, "no PlanktoScope metadata.json or table")


def _own_layout(rel: Path) -> bool:
    """metadata.json of this acquisition folder, or under the data folder's img/, objects/, export/."""
    parts = rel.parts
    return len(parts) == 1 or parts[0] in ("img", "objects", "export")


def _meta_values(meta: dict) -> dict[str, str]:
    out = {}
    for k, v in meta.items():
        if isinstance(v, dict | list):
            v = json.dumps(v, ensure_ascii=False)
        elif v is None:
            v = ""
        out[str(k)] = str(v)
    return out


def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path)
    task.start("scan", None, unit="files", message=f"Reading the PlanktoScope folder {path}")
    tree = list_tree(path, task, skip=SKIP)
    problems = tree.listing_problems(path)
    plain_tsvs = sorted((e for e in tree.select(TSV_NAME) if not e.members), key=lambda e: e.name)
    zip_tsvs = sorted((e for e in tree.select(TSV_NAME) if e.members), key=lambda e: e.name)

    # 1. Crops from objects/ (their tables), then crops only the export zips hold.
    built = join_tables(tree, plain_tsvs, task)
    problems += built.problems
    rows, images, set_aside = built.rows, list(built.images), list(built.set_aside)
    used = set(built.used)
    acq_col = col(rows, "acq_id") if not rows.empty else None
    packed_keys = {_key(rows, acq_col, im) for im in images}
    packed_by_key = {_key(rows, acq_col, im): im.name for im in images}
    if zip_tsvs:
        extra = join_tables(tree, zip_tsvs, task)
        problems += [p for p in extra.problems if p.kind != "duplicate_image"]
        x_acq = col(extra.rows, "acq_id") if not extra.rows.empty else None
        offset = len(rows)
        keep_rows = []
        for im in extra.images:
            key = _key(extra.rows, x_acq, im)
            used.add(im.name)
            if key in packed_keys:
                zipname = next((m for m in (im.path,)), im.path).rsplit("/", 1)[-1]
                set_aside.append(
                    SetAside(
                        tree.display(im.name),
                        f"the same crop again in {zipname} (the EcoTaxa upload the segmenter writes)",
                        kept=packed_by_key[key],
                    )
                )
                continue
            keep_rows.append(im)
        set_aside += extra.set_aside
        if keep_rows:
            rows = (
                pd.concat([rows, extra.rows], ignore_index=True, sort=False)
                if not rows.empty
                else extra.rows
            )
            for im in keep_rows:
                images.append(Entry(im.name, im.path, im.members, im.size).ref(row=offset + im.row))
                packed_keys.add(_key(extra.rows, x_acq, im))
    if not rows.empty:
        rows = tidy_rows(rows)
        acq_col = col(rows, "acq_id")

    # 2. Acquisitions: metadata.json folders; frames of segmented ones are set aside.
    metas = {
        posixpath.dirname(e.name): e
        for e in tree.entries.values()
        if e.basename == "metadata.json" and not e.members
    }
    segmented_acqs = set(samples(rows, acq_col, 10**9)) if acq_col else set()
    frame_frames: list[pd.DataFrame] = []
    frame_images = []
    acq_meta: dict[str, dict[str, str]] = {}
    zero_flagged: set[str] = set()
    for d, e in sorted(metas.items()):
        meta = _load_json(e)
        if meta is None:
            problems.append(
                Problem("bad_file", "metadata.json is not readable JSON", file=e.display)
            )
            continue
        values = _meta_values(meta)
        acq_id = values.get("acq_id", "")
        acq_meta.setdefault(acq_id, values)
        if (
            _is_zero(values.get("object_lat"), values.get("object_lon"))
            and acq_id not in zero_flagged
        ):
            zero_flagged.add(acq_id)
            problems.append(
                Problem(
                    "default_position",
                    "latitude and longitude are 0, 0: the PlanktoScope's 'not filled in' default, not a "
                    "position in the Gulf of Guinea; these images are not packed until you map the real "
                    "position (latitude and longitude)",
                    file=e.display,
                    field="latitude",
                    value="0, 0",
                    severity="warning",
                )
            )
        frames = [
            x
            for x in tree.entries.values()
            if posixpath.dirname(x.name) == d
            and x.suffix in IMAGE_SUFFIXES
            and x.name not in used
            and not x.members
        ]
        if not frames:
            continue
        in_objects = d.split("/", 1)[0] == "objects"
        segmented = acq_id in segmented_acqs or _objects_twin(d, metas)
        if in_objects:
            continue  # crops nobody names: unnamed_images sets them aside below
        if segmented:
            n = (
                sum(1 for im in images if rows.iloc[im.row].get(acq_col, None) == acq_id)
                if acq_col
                else 0
            )
            for x in frames:
                set_aside.append(
                    SetAside(
                        x.display,
                        f"a full frame of acquisition {acq_id or d}; its {n} segmented objects are packed instead",
                    )
                )
                used.add(x.name)
            continue
        fr = pd.DataFrame({"img_file_name": [x.basename for x in frames]})
        fr[TABLE_COL] = e.name
        fr[ROW_COL] = 1
        fr = add_header_columns(fr, values)
        base = len(rows) + sum(len(f) for f in frame_frames)
        for k, x in enumerate(frames):
            frame_images.append(x.ref(row=base + k))
            used.add(x.name)
        frame_frames.append(fr)
    # metadata.json values on every crop row of the acquisition
    if not rows.empty and acq_col:
        for acq_id, values in acq_meta.items():
            if acq_id:
                mask_tables = rows.loc[rows[acq_col] == acq_id, TABLE_COL].unique()
                for t in mask_tables:
                    rows = add_header_columns(rows, values, table=t)
    if frame_frames:
        rows = tidy_rows(
            pd.concat([rows, *frame_frames], ignore_index=True, sort=False)
            if not rows.empty
            else pd.concat(frame_frames, ignore_index=True, sort=False)
        )
        images += frame_images
    tmp = Built(images, rows, [], [], [], used)
    for a in unnamed_images(tree, tmp, under=[""]):
        set_aside.append(a)
    if not images and tree.entries:
        problems.append(
            Problem(
                "no_images",
                "no crops or frames found (objects/, img/ or export/ecotaxa/*.zip)",
                file=str(path),
            )
        )
    problems.append(
        Problem(
            "needs_timezone",
            "the PlanktoScope writes local times without a time zone (acq_local_datetime, object_time): "
            "say which time zone they are in (UTC, +02:00, Europe/Paris)",
            file=str(path),
            field="timezone",
            severity="warning",
        )
    )
    s = Scan(KIND, path, images, rows, _suggest(rows, frames_only=bool(frame_frames)))
    s.problems, s.set_aside, s.label = problems, set_aside, f"PlanktoScope {path.name}"
    inst = col(rows, "acq_instrument", "hdr:acq_instrument") if not rows.empty else None
    s.sensor = samples(rows, inst, 1)[0] if inst else "PlanktoScope"
    return finish_scan(task, s)


def _key(rows: pd.DataFrame, acq_col: str | None, im) -> tuple[str, str]:
    acq = str(rows.iloc[im.row][acq_col]) if acq_col and im.row is not None else ""
    return acq, im.name.rsplit("/", 1)[-1].lower()


def _objects_twin(d: str, metas: dict) -> bool:
    parts = d.split("/")
    if parts and parts[0] == "img":
        return "/".join(["objects", *parts[1:]]) in metas
    return False


def _is_zero(lat: str | None, lon: str | None) -> bool:
    try:
        return float(str(lat)) == 0 and float(str(lon)) == 0
    except (TypeError, ValueError):
        return False


def _suggest(rows: pd.DataFrame, *, frames_only: bool) -> dict:
    """EcoTaxa's suggestion from the segmenter's table; from metadata.json when frames are packed."""
    if rows.empty:
        return {"fields": {}}
    if not frames_only:
        out = suggest(rows)
        out["fields"].pop("timezone", None)
        _date_reason(rows, out["fields"])
        _volume(rows, out["fields"])
        return out
    f: dict = {}
    sv = lambda c: ", ".join(samples(rows, c))  # noqa: E731
    for field, key, kw in (
        ("latitude", "hdr:object_lat", {}),
        ("longitude", "hdr:object_lon", {}),
        ("date", "hdr:object_date", {"format": "%Y-%m-%d"}),
        ("time", "hdr:object_time", {"format": "auto"}),
        ("depth_min", "hdr:object_depth_min", {"unit": "m"}),
        ("depth_max", "hdr:object_depth_max", {"unit": "m"}),
        ("pixel_size", "hdr:process_pixel", {"unit": "um"}),
        ("sample_id", "hdr:sample_id", {}),
    ):
        c = col(rows, key)
        if c:
            f[field] = spec(c, f"metadata.json {key[4:]}: {sv(c)}", **kw)
    if "date" in f and not all(len(v) == 10 for v in samples(rows, f["date"]["column"])):
        f["date"].pop("format", None)
    _date_reason(rows, f)
    _volume(rows, f)
    return {"fields": f}


def _volume(rows: pd.DataFrame, f: dict) -> None:
    """``acq_imaged_volume`` (mL imaged in the acquisition) is the volume; ``acq_volume`` is the
    volume *pumped* (mL), never the volume imaged: without the first, volume is left to the user."""
    if f.get("volume_sampled"):
        return
    vol = volume_suggestion(rows) or volume_suggestion(rows, "hdr:")
    if vol:
        f["volume_sampled"] = vol
    elif col(rows, "acq_volume", "hdr:acq_volume"):
        f["volume_sampled"] = None  # the matcher would take acq_volume's millilitres as litres


def _date_reason(rows: pd.DataFrame, f: dict) -> None:
    c = col(rows, "acq_local_datetime", "hdr:acq_local_datetime")
    if c and "date" in f:
        f["date"]["reason"] += (
            f" (the sampling date; the imaging time is in {c}, local time without a zone)"
        )

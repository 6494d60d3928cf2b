"""image-set.toml: the package's iFDO image-set header in ``[meta]``, AqQua's own fields in ``[aqqua]``
(docs/format.md, "image-set.toml").

The iFDO part is built and checked with the ``ifdo`` package (csiro-fair/ifdo-py), whose
``ImageSetHeader`` model is the iFDO schema for a header: required fields, types and ranges.
``[meta]`` also carries the ``image-set-*`` fields that AqQua's published reader,
pixel-patrol-aqqua, reads and that the iFDO schema does not define (sensor, sensor family, channel
layout, ...): ``READER_FIELDS``.  Any other key in ``[meta]`` is a mistake.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .. import __version__
from ..mapping import Mapped
from ..problems import UserError
from . import layout
from .dataset import DatasetInfo
from .pack_state import PackState

IFDO_VERSION = "v2.1.0"

# [meta] keys outside the iFDO header schema, read by pixel-patrol-aqqua (scalar image-set-*
# values become per-image defaults; image-set-channel names the channels) or kept for AqQua.
READER_FIELDS = (
    "image-set-sensor",
    "image-set-sensor-family",
    "image-set-abstract",
    "image-set-license",
    "image-set-copyright",
    "image-set-pi",
    "image-set-creators",
    "image-set-channel",
)


def handle(image_set_uuid: str) -> str:
    """``image-set-handle``: iFDO requires one, and a packer cannot mint a Handle (the set gets its
    landing page when AqQua publishes it), so the set names itself by its uuid as a URN."""
    return f"urn:uuid:{image_set_uuid}"


def image_set_toml(dataset: DatasetInfo, state: PackState, mapped: Mapped, folder: Path) -> str:
    """The text of image-set.toml for the shards of ``state`` written in ``folder``; checked
    against the iFDO schema before it is returned."""
    from ifdo import ImageSetHeader

    packed = state.packed()
    bounds = _bounds(state, folder)
    header = ImageSetHeader(
        image_set_name=dataset.name or state.prefix,
        image_set_uuid=state.image_set_uuid,
        image_set_handle=handle(state.image_set_uuid),
        image_set_ifdo_version=IFDO_VERSION,
        image_set_min_latitude_degrees=bounds.get(("image-latitude", min)),
        image_set_max_latitude_degrees=bounds.get(("image-latitude", max)),
        image_set_min_longitude_degrees=bounds.get(("image-longitude", min)),
        image_set_max_longitude_degrees=bounds.get(("image-longitude", max)),
    )
    ifdo_fields = header.model_dump(mode="json", by_alias=True, exclude_none=True)
    meta: dict[str, Any] = {
        k: ifdo_fields.pop(k)
        for k in ("image-set-name", "image-set-uuid", "image-set-handle", "image-set-ifdo-version")
    }
    meta |= {
        "image-set-sensor": dataset.sensor or _common_sensor(mapped) or None,
        "image-set-sensor-family": dataset.sensor_family or None,
        "image-set-abstract": dataset.description or None,
        "image-set-license": dataset.licence or None,
        "image-set-copyright": dataset.institution or None,
    }
    meta |= ifdo_fields  # the space covered
    if dataset.contributor or dataset.email:
        meta["image-set-pi"] = {
            "name": dataset.contributor or None,
            "email": dataset.email or None,
            "institution": dataset.institution or None,
        }
    creators = [{"name": dataset.contributor}] if dataset.contributor else []
    creators += [{"name": c} for c in dataset.coauthors if c]
    if creators:
        meta["image-set-creators"] = creators
    layouts = {tuple(c) for s in packed for c in s.channels}
    if len(layouts) == 1 and len(next(iter(layouts))) > 1:  # one multi-channel layout for all
        meta["image-set-channel"] = [
            {"name": n, "kind": "alpha" if n == "alpha" else "color"} for n in next(iter(layouts))
        ]
    meta = {k: v for k, v in meta.items() if v is not None}
    if problems := validate_meta(meta):
        raise UserError(
            f"{folder / layout.IMAGE_SET}: the image-set header would not be valid iFDO: "
            f"{'; '.join(problems)}. The packed images are kept; correct the dataset details "
            "and run the same command again."
        )
    aqqua = {
        "format-version": layout.FORMAT_VERSION,
        "packer": f"aqqua-packer {__version__}",
        "package-number": state.package_number,
        "created": state.created,
        "completed": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "images": sum(s.count for s in packed),
        "shards": [s.id for s in packed],
        "global-interpolation-allowed": bool(dataset.global_interpolation),
        "contributor": dataset.contributor or None,
        "email": dataset.email or None,
        "institution": dataset.institution or None,
        "input-fingerprint": state.fingerprint,
    }
    accepted = _accepted_records(mapped, dataset)
    if accepted:
        aqqua["accepted"] = accepted
    return layout.dump_toml({"meta": meta, "aqqua": aqqua})


def validate_meta(meta: dict[str, Any]) -> list[str]:
    """What is wrong with a ``[meta]`` table as an iFDO image-set header (empty when nothing):
    the ``ifdo`` package's schema for the iFDO fields, and no key outside it but READER_FIELDS."""
    from ifdo import ImageSetHeader
    from pydantic import ValidationError

    known = {f.alias or name for name, f in ImageSetHeader.model_fields.items()}
    problems = [
        f"{k}: not an iFDO header field" for k in meta if k not in known and k not in READER_FIELDS
    ]
    try:
        ImageSetHeader.model_validate(meta, strict=True)
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(x) for x in e["loc"])
            value = "" if e["type"] == "missing" else f" (value {e.get('input')!r})"
            problems.append(f"{where}: {e['msg']}{value}")
    return problems


def _bounds(state: PackState, folder: Path) -> dict[tuple, float]:
    """The least and greatest latitude and longitude of the images packed (read back from the meta
    Parquet files, a column at a time)."""
    values: dict[str, list[float]] = {"image-latitude": [], "image-longitude": []}
    for s in state.packed():
        t = pq.read_table(folder / layout.meta_name(state.prefix, s.id), columns=list(values))
        for col in values:
            present = [v for v in t.column(col).to_pylist() if v is not None]
            if present:
                values[col] += [min(present), max(present)]
    return {(col, fn): float(fn(v)) for col, v in values.items() if v for fn in (min, max)}


def _accepted_records(mapped: Mapped, dataset: DatasetInfo) -> list[dict[str, Any]]:
    """The suspicious values a person confirmed (--accept, the wizard's checkboxes): what, for how
    many images, by whom and when (UTC, when the package was written)."""
    who = " ".join(
        x for x in (dataset.contributor, f"<{dataset.email}>" if dataset.email else "") if x
    )
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "kind": a.kind,
            "field": a.field,
            "images": int(a.images),
            "why": a.why,
            "accepted-by": who or "unnamed contributor",
            "accepted-at": when,
        }
        for a in getattr(mapped, "accepted", [])
    ]


def _common_sensor(mapped: Mapped) -> str:
    sensors = {getattr(s, "sensor", "") for s in mapped.scans}
    return sensors.pop() if len(sensors) == 1 else ""

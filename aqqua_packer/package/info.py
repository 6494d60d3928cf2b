"""What a package holds, cheaply (Parquet and LMDB statistics only, no image decoded): counts,
bytes, fields present, time and space covered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import layout
from .read import Package


def _fmt_time(t) -> str | None:
    return (
        None
        if t is None or pd.isna(t)
        else pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def package_info(path: Path | str) -> dict[str, Any]:
    pkg = Package(path)
    root = pkg.path
    meta = pkg.meta
    ims = pkg.image_set.get("meta", {})
    files: dict[str, int] = {"images": 0, "meta": 0, "raw": 0, "other": 0}
    for p in root.rglob("*"):
        if p.is_file() and layout.STATE_DIR not in p.parts:
            kind = (
                "images"
                if ".lmdb" in p.parent.name
                else "meta"
                if "-meta-" in p.name
                else "raw"
                if "-raw-" in p.name
                else "other"
            )
            files[kind] += p.stat().st_size
    info: dict[str, Any] = {
        "path": str(root),
        "name": ims.get("image-set-name"),
        "uuid": ims.get("image-set-uuid"),
        "sensor": ims.get("image-set-sensor"),
        "complete": pkg.complete,
        "images": len(pkg),
        "shards": [{"id": s.id, "images": len(s)} for s in pkg.shards],
        "bytes": sum(files.values()),
        "bytes_by_kind": files,
        "skipped": 0,
        "fields": {},
        "time": None,
        "space": None,
        "altitude_m": None,
    }
    skipped = root / layout.SKIPPED
    if skipped.exists():
        info["skipped"] = max(0, sum(1 for _ in skipped.open(encoding="utf-8")) - 1)
    if not meta.empty:
        info["fields"] = {
            c: int(meta[c].notna().sum())
            for c in meta.columns
            if c not in ("shard-id",) and meta[c].notna().any()
        }
        if "image-datetime" in meta and meta["image-datetime"].notna().any():
            info["time"] = {
                "first": _fmt_time(meta["image-datetime"].min()),
                "last": _fmt_time(meta["image-datetime"].max()),
            }
        if {"image-latitude", "image-longitude"} <= set(meta.columns) and meta[
            "image-latitude"
        ].notna().any():
            info["space"] = {
                "south": float(meta["image-latitude"].min()),
                "north": float(meta["image-latitude"].max()),
                "west": float(meta["image-longitude"].min()),
                "east": float(meta["image-longitude"].max()),
            }
        if "image-altitude-meters" in meta and meta["image-altitude-meters"].notna().any():
            info["altitude_m"] = {
                "min": float(meta["image-altitude-meters"].min()),
                "max": float(meta["image-altitude-meters"].max()),
            }
    return info


def info_text(info: dict[str, Any]) -> str:
    mb = info["bytes"] / 1e6
    lines = [
        f"{info['name'] or '(no name)'}  {'complete' if info['complete'] else 'NOT COMPLETE'}",
        f"  images: {info['images']} in {len(info['shards'])} shards, {mb:.1f} MB"
        + (f"; {info['skipped']} skipped (skipped.csv)" if info["skipped"] else ""),
    ]
    if info["time"]:
        lines.append(f"  time:   {info['time']['first']} … {info['time']['last']}")
    if info["space"]:
        s = info["space"]
        lines.append(
            f"  space:  lat {s['south']:.4f} … {s['north']:.4f}, lon {s['west']:.4f} … {s['east']:.4f}"
        )
    if info["altitude_m"]:
        a = info["altitude_m"]
        lines.append(f"  altitude: {a['min']:g} … {a['max']:g} m")
    if info["fields"]:
        lines.append("  fields: " + ", ".join(f"{k} ({v})" for k, v in info["fields"].items()))
    return "\n".join(lines)

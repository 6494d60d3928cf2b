"""Dataset-level facts (who, what, licence) that go into ``image-set.toml``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DatasetInfo:
    name: str = ""
    contributor: str = ""
    institution: str = ""
    email: str = ""
    coauthors: list[str] = field(default_factory=list)
    licence: str = "CC-BY-4.0"  # or "CC0-1.0"
    sensor: str = ""  # iFDO image-set-sensor, e.g. "UVP6", "IFCB013"
    sensor_family: str = ""  # e.g. "UVP", "IFCB", "FlowCam", "ZooScan", "microscope"
    global_interpolation: bool = False  # contributor allows use for global interpolation
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetInfo:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def unapplied(given: DatasetInfo, image_set: dict[str, Any]) -> list[str]:
    """The dataset facts given now that differ from those a finished package's image-set.toml
    records, as "--option: 'given' (the package says 'recorded')"; facts not given are not compared."""
    meta, aqqua = image_set.get("meta", {}), image_set.get("aqqua", {})
    creators = [c.get("name") for c in meta.get("image-set-creators", []) if isinstance(c, dict)]
    recorded = {
        "name": meta.get("image-set-name"),
        "contributor": aqqua.get("contributor"),
        "email": aqqua.get("email"),
        "institution": aqqua.get("institution"),
        "coauthor": ", ".join(str(c) for c in creators[1 if aqqua.get("contributor") else 0 :]),
        "licence": meta.get("image-set-license"),
        "sensor": meta.get("image-set-sensor"),
        "sensor-family": meta.get("image-set-sensor-family"),
        "description": meta.get("image-set-abstract"),
    }
    now = {
        "name": given.name,
        "contributor": given.contributor,
        "email": given.email,
        "institution": given.institution,
        "coauthor": ", ".join(c for c in given.coauthors if c),
        "licence": given.licence if given.licence != DatasetInfo.licence else "",
        "sensor": given.sensor,
        "sensor-family": given.sensor_family,
        "description": given.description,
    }
    out = [
        f"--{key} {value!r} (the package says {recorded[key] or 'nothing'!r})"
        for key, value in now.items()
        if value and value != (recorded[key] or "")
    ]
    if given.global_interpolation and not aqqua.get("global-interpolation-allowed"):
        out.append("global interpolation allowed (the package says not allowed)")
    return out

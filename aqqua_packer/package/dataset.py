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

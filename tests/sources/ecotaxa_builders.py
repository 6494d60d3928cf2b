"""Small, faithful EcoTaxa-family test data written from the formats' descriptions.

No public sample exists for some of these (UVP5 projects, UVP6 particle zips, PlanktoScope data
folders small enough to ship), so tests build them here, byte for byte as the instruments write
them: tab-separated EcoTaxa tables with the ``[t]``/``[f]`` type line, latin-1 / windows-1252
text, the file names and folder layouts the instruments use.  Each builder says what it follows.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(w: int = 12, h: int = 9, value: int = 120, mode: str = "L") -> bytes:
    """A small real PNG (a grey ramp, so two images of different value differ)."""
    arr = (np.arange(w * h).reshape(h, w) % 50 + value).clip(0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "L").convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def jpg_bytes(w: int = 16, h: int = 12, value: int = 90) -> bytes:
    arr = np.full((h, w, 3), value, dtype=np.uint8)
    arr[:, : w // 2, 0] = 200
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def tsv_text(
    header: list[str], rows: list[list[str]], types: list[str] | None | bool = True
) -> str:
    """An EcoTaxa TSV: names, the [t]/[f] line (``types=False`` leaves it out), rows."""
    lines = ["\t".join(header)]
    if types is True:
        types = [
            "[f]" if h.startswith(("object_area", "object_depth", "img_rank")) else "[t]"
            for h in header
        ]
    if types:
        lines.append("\t".join(types))
    lines += ["\t".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def write_tsv(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    *,
    types: list[str] | None | bool = True,
    encoding: str = "latin-1",
    newline: str = "\n",
    bom: bool = False,
) -> Path:
    text = tsv_text(header, rows, types).replace("\n", newline)
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


ECOTAXA_HEADER = [
    "img_file_name",
    "img_rank",
    "object_id",
    "object_lat",
    "object_lon",
    "object_date",
    "object_time",
    "object_depth_min",
    "object_depth_max",
    "object_annotation_category",
    "process_pixel",
    "sample_id",
]


def ecotaxa_row(
    i: int, *, rank: str = "0", name: str | None = None, oid: str | None = None, **over: str
) -> list[str]:
    vals = {
        "img_file_name": name or f"obj_{i}.png",
        "img_rank": rank,
        "object_id": oid or f"obj_{i}",
        "object_lat": "43.6845",
        "object_lon": "7.3163",
        "object_date": "20210611",
        "object_time": "093015",
        "object_depth_min": "5",
        "object_depth_max": "10",
        "object_annotation_category": "Copepoda",
        "process_pixel": "10.6",
        "sample_id": "s1",
    }
    vals.update(over)
    return [vals[h] for h in ECOTAXA_HEADER]


def ecotaxa_folder(root: Path, n: int = 3, **kw) -> Path:
    """An EcoTaxa import folder: ``ecotaxa_s1.tsv`` + ``obj_<i>.png``."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"obj_{i}.png").write_bytes(png_bytes(value=10 * i))
    write_tsv(root / "ecotaxa_s1.tsv", ECOTAXA_HEADER, [ecotaxa_row(i) for i in range(n)], **kw)
    return root


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- UVP6 -------------------------------------------------------------------------------------
def uvp6_metadata_ini(
    *,
    latitude: str = "43°48 08",
    longitude: str = "009°30 37",
    pixel: str = "73",
    when: str = "20220518-042127",
) -> bytes:
    """``metadata.ini`` of a UVPapp ``<sample>_Particule.zip``: the sections and keys UVPapp writes
    (``[HW_CONF]``, ``[ACQ_CONF]``, ``[sample_metadata]``), windows-1252, CRLF as on the UVPapp PC."""
    text = f"""[HW_CONF]
Aa=2300.000
Camera_ref=000125HF
Exp=1.136
Gain=6
Image_volume=0.710
Operator_email=someone@example.org
Pixel_Size={pixel}
Pressure_offset=0.600
Shutter=75
Threshold=22

[ACQ_CONF]
Acquisition_frequency=25.000
Appendices_ratio=1.5
Configuration_name=ACQ_CTD
Limit_lpm_detection_size=10
Vignetting_lower_limit_size=620

[sample_metadata]
cruise=TALPRO
ship=RV Belgica II
filename={when[:15]}
profileid=01
bottomdepth=nan
ctdrosettefilename=ctd01
latitude={latitude}
longitude={longitude}
firstimage=11209
dn=
comment=
endimg=27940
stationid=CTD01
sampletype=P
integrationtime=nan
sampledatetime={when}
"""
    return text.replace("\n", "\r\n").encode("cp1252")


def uvp6_particle_zip(path: Path, sample: str, **ini) -> Path:
    """``<sample>_Particule.zip``: ``metadata.ini`` + ``particules.csv`` (two frames of counts)."""
    csv = (
        "HW_CONF,000125HF,1,ACQ_CTD,0;\r\n"
        "ACQ_CONF,ACQ_CTD,3,25.000,10;\r\n"
        "20220518-042127-284,1.67,31.75,0:1,2005,31.0,9.6;2,65,31.8,8.1;\r\n"
        "20220518-042127-468,1.68,31.75,1:1,3079,31.8,10.4;\r\n"
    ).encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zip_bytes({"metadata.ini": uvp6_metadata_ini(**ini), "particules.csv": csv}))
    return path

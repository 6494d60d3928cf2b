"""A faithful, small UVP5 project for tests: no public UVP5 sample exists to ship.

What it follows (documented in docs/instruments.md and aqqua_packer/sources/uvp5.py):

* ``meta/uvp5_header_sn<serial>.txt``: the 21-column header Zooprocess-UVP5 writes, ';'-separated,
  latin-1, one row per profile; ``filename`` is the profile start YYYYMMDDhhmmss; latitude and
  longitude in the historical DD.MM form (43.4111 = 43°41.11′).  The first profile's values are
  those of a real header shipped with Zooprocess (sn002zd_omer_2, Villefranche, May 2012).
* ``config/uvp5_settings/uvp5_configuration_data.txt``: ``key= value`` lines, ``pixel=`` in mm.
* ``work/<profileid>/``: vignettes ``<profileid>_<item>.jpg``; ``<profileid>_dat1.pid`` with INI-like
  sections then ``[Data]`` (a ';' table, ``!Item;Label;…``, ``Label`` = the raw image the object was
  cut from, named YYYYMMDDhhmmss_mmm); ``<profileid>_datfile.txt`` with one line per raw image
  (index; image name; sensor block whose first value is the pressure in decibars × 10).
* ``raw/HDR<filename>/`` with a raw BMP (not packed).

Every value the tests assert is written here, so a test failing names a reader bug, not a guess.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ecotaxa_builders import ECOTAXA_HEADER, ecotaxa_row, jpg_bytes, write_tsv
from PIL import Image

HEADER = "cruise;ship;filename;profileid;bottomdepth;ctdrosettefilename;latitude;longitude;firstimage;volimage;aa;exp;dn;winddir;windspeed;seastate;nebuloussness;comment;endimg;yoyo;stationid"
PROFILES = [
    # verbatim values of a real Zooprocess-UVP5 header row
    "sn002zd_omer_2;europe;20120520080213;omer2_1;82;omer2_1;43.4111;7.1901;579;0.48;0.0014;1.397;D;300;6;1;8;water_sampling;871;N;omer2_1",
    "sn002zd_omer_2;europe;20120520101500;omer2_2;95;omer2_2;43.4150;7.1930;402;0.48;0.0014;1.397;D;300;6;1;8;é comment;700;N;omer2_2",
]
# objects per profile: (item, raw image name, pressure in dbar x 10 in the datfile)
OBJECTS = {
    "omer2_1": [
        (1, "20120520080514_120", "00136"),
        (2, "20120520080514_120", "00136"),
        (5, "20120520080931_377", "00452"),
    ],
    "omer2_2": [(3, "20120520101822_004", "00210")],
}
CONFIG = """[Camera]
shutter= 100
gain= 12
threshold= 18
pixel= 0.174
xsize= 1280
ysize= 1024
aa_calib= 0.0014
exp_calib= 1.397
img_vol= 0.48
"""


def pid_text(profile: str, objects: list[tuple[int, str, str]]) -> str:
    head = f"""PID
[Image]
Scanning_date= {objects[0][1][:14]}
[Sample]
profileid= {profile}
[Process]
Software= Zooprocess_UVP5 7.20
Threshold= 18
[Data]
!Item;Label;Area;Mean;StdDev;Mode;Min;Max;X;Y;Perim.;Width;Height;Major;Minor;Angle
"""
    rows = [
        f"{it};{label};{120 + it};88.2;21.3;60;20;200;{it}.5;{it}.5;44.1;14;12;15.2;9.1;33.0"
        for it, label, _ in objects
    ]
    return head + "\n".join(rows) + "\n"


def datfile_text(objects: list[tuple[int, str, str]]) -> str:
    seen = {}
    for _, label, p in objects:
        seen.setdefault(label, p)
    lines = [
        f"   {i + 1};\t{label};\t{p}*00182*00182*00039*02883*03037*01212*00942*00686*40944*22769*01557!;\t3;\t4;\t12;\t0;\t0;"
        for i, (label, p) in enumerate(seen.items())
    ]
    return "\r\n".join(lines) + "\r\n"


def uvp5_project(
    root: Path, *, serial: str = "sn002zd_omer_2", with_ecotaxa_profile: bool = False
) -> Path:
    """Write the project; ``with_ecotaxa_profile`` adds a third profile that has an EcoTaxa table."""
    (root / "meta").mkdir(parents=True, exist_ok=True)
    header_rows = list(PROFILES)
    if with_ecotaxa_profile:
        header_rows.append(
            "sn002zd_omer_2;europe;20120521090000;omer2_3;90;omer2_3;43.4200;7.2000;100;0.48;0.0014;1.397;D;300;6;1;8;;500;N;omer2_3"
        )
    (root / "meta" / f"uvp5_header_{serial}.txt").write_bytes(
        ("\n".join([HEADER, *header_rows]) + "\n").encode("latin-1")
    )
    cfg = root / "config" / "uvp5_settings"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "uvp5_configuration_data.txt").write_bytes(
        CONFIG.replace("\n", "\r\n").encode("latin-1")
    )
    raw = root / "raw" / "HDR20120520080213"
    raw.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((32, 40), np.uint8)).save(raw / "20120520080514_120.bmp")
    for profile, objects in OBJECTS.items():
        d = root / "work" / profile
        d.mkdir(parents=True, exist_ok=True)
        for k, (it, _, _) in enumerate(objects):
            (d / f"{profile}_{it}.jpg").write_bytes(jpg_bytes(14, 12, value=20 + 30 * k))
        (d / f"{profile}_dat1.pid").write_bytes(pid_text(profile, objects).encode("latin-1"))
        (d / f"{profile}_datfile.txt").write_bytes(datfile_text(objects).encode("latin-1"))
    if with_ecotaxa_profile:
        d = root / "work" / "omer2_3"
        d.mkdir(parents=True, exist_ok=True)
        (d / "omer2_3_1.jpg").write_bytes(jpg_bytes(value=99))
        write_tsv(
            d / "ecotaxa_omer2_3.tsv",
            ECOTAXA_HEADER,
            [ecotaxa_row(0, name="omer2_3_1.jpg", oid="omer2_3_1", process_pixel="174")],
        )
    return root

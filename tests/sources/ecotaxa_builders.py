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


# --- ZooScan / ZooProcess ---------------------------------------------------------------------
ZOOSCAN_SAMPLE_HEADER = (
    "sampleid;ship;scientificprog;stationid;date;latitude;longitude;depth;ctdref;otherref;townb;"
    "towtype;nettype;netmesh;netsurf;zmax;zmin;vol;sample_comment;vol_qc;depth_qc;sample_qc;"
    "barcode;latitude_end;longitude_end;net_duration;ship_speed_knot;cable_length;cable_angle;"
    "cable_speed;nb_jar"
)
ZOOSCAN_SCAN_HEADER = "scanid;sampleid;scanop;fracid;fracmin;fracsup;fracnb;observation;code;submethod;cellpart;replicates;volini;volprec"


def pid_text(
    scan_id: str,
    items: list[int],
    *,
    resolution: str = "2400",
    lat: str = "-44.4352",
    lon: str = "-145.3211",
) -> str:
    """A ZooProcess ``<scan>_dat1.pid``: 'PID', INI-like sections of ``key= value``, then ``[Data]``
    with a ';' table whose first column is ``!Item`` (vignettes are ``<Label>_<Item>.jpg``)."""
    head = f"""PID
[Image]
Scanning_date= 20150829_2243
Scanning_area= large
Resolution= {resolution}
[Sample]
SampleId= {scan_id.rsplit("_", 1)[0]}
Latitude= {lat}
Longitude= {lon}
StationId= mn01
[Fraction]
Scanop= someone
Fracid= sml
[Process]
Background_correct_using= last_background
Gamma= 2
Vignette_color= b&w_no_background
[Data]
!Item;Label;Area;Mean;StdDev;Mode;Min;Max;X;Y;XM;YM;Perim.;BX;BY;Width;Height;Major;Minor;Angle
"""
    rows = [
        f"{it};{scan_id};{500 + it};241.04;31.2;255;98;255;{it}.5;{it}.5;{it}.4;{it}.4;120.1;{it};{it};46;94;50.1;13.1;88.3"
        for it in items
    ]
    return head + "\n".join(rows) + "\n"


def zooprocess_project(root: Path, *, with_tsv: bool = True, with_pid_only: bool = True) -> Path:
    """A small ZooProcess project laid out as ZooProcess writes it (latin-1, ';', CRLF in meta).

    Sample m106_mn01_n1 at 44°43.52′S 145°32.106′E written the ZooProcess way: DD.MM with the
    longitude sign flipped (latitude -44.4352, longitude -145.3211); zmin 600, zmax 1000, depth
    99999 (not measured).  Scan ``m106_mn01_n1_sml`` has ZooProcess's ``ecotaxa_*.tsv`` (decimal
    degrees), scan ``m106_mn01_n1_big`` only its ``.pid``; both have a ``_vis1.zip`` copy.
    """
    meta = root / "Zooscan_meta"
    meta.mkdir(parents=True, exist_ok=True)
    sample = "m106_mn01_n1;meteor;m106;mn01;20140420-0420;-44.4352;-145.3211;99999;ctd1;x;1;1;wp2;200;0.25;1000;600;13.125;é test;1;1;1;b1;99999;99999;99999;99999;99999;99999;99999;1"
    (meta / "zooscan_sample_header_table.csv").write_bytes(
        f"{ZOOSCAN_SAMPLE_HEADER}\r\n{sample}\r\n".encode("latin-1")
    )
    scans = [
        "m106_mn01_n1_sml;m106_mn01_n1;someone;sml;200;1000;1;;;;;1;0;0",
        "m106_mn01_n1_big;m106_mn01_n1;someone;big;1000;99999;1;;;;;1;0;0",
    ]
    (meta / "zooscan_scan_header_table.csv").write_bytes(
        ("\r\n".join([ZOOSCAN_SCAN_HEADER, *scans]) + "\r\n").encode("latin-1")
    )
    raw = root / "Zooscan_scan" / "_raw"
    raw.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((40, 30), 200, np.uint8)).save(raw / "m106_mn01_n1_sml_raw_1.tif")
    work = root / "Zooscan_scan" / "_work"
    for scan_id, items, tsv in (
        ("m106_mn01_n1_sml", [409, 821], with_tsv),
        ("m106_mn01_n1_big", [3, 7, 9], False),
    ):
        if scan_id.endswith("big") and not with_pid_only:
            continue
        d = work / scan_id
        d.mkdir(parents=True, exist_ok=True)
        vis = {}
        for k, it in enumerate(items):
            data = jpg_bytes(value=30 + 20 * k)
            (d / f"{scan_id}_{it}.jpg").write_bytes(data)
            vis[f"{scan_id}_{it}.jpg"] = data
        (d / f"{scan_id}_vis1.zip").write_bytes(zip_bytes(vis))
        (d / f"{scan_id}_dat1.pid").write_bytes(
            pid_text(scan_id, items).replace("\n", "\r\n").encode("latin-1")
        )
        if tsv:
            header = [
                "object_id",
                "object_lat",
                "object_lon",
                "object_date",
                "object_time",
                "object_depth_min",
                "object_depth_max",
                "img_file_name",
                "img_rank",
                "sample_id",
                "process_software",
                "process_pixel",
                "acq_instrument",
            ]
            rows = [
                [
                    f"{scan_id}_{it}",
                    "-44.72543333333333",
                    "145.5351",
                    "20140420",
                    "420",
                    "600.0",
                    "1000.0",
                    f"{scan_id}_{it}.jpg",
                    "0",
                    "m106_mn01_n1",
                    "zooprocess_pid_to_ecotaxa_7.23_2017/03/10",
                    "10.6",
                    "epson",
                ]
                for it in items
            ]
            write_tsv(d / f"ecotaxa_{scan_id}.tsv", header, rows)
    return root


# --- PlanktoScope -----------------------------------------------------------------------------
def planktoscope_metadata(
    acq: str, sample: str, *, lat: float = 48.7273, lon: float = -3.9814
) -> dict:
    """``metadata.json`` as the PlanktoScope's Node-RED UI and imager write it: the EcoTaxa-style
    keys, numbers as JSON numbers, ``acq_local_datetime`` without a zone, 0/0 when no GPS fix
    and nothing was typed in."""
    return {
        "sample_project": "roscoff_2024",
        "sample_id": f"roscoff_2024_{sample}",
        "sample_ship": "Neomysis",
        "sample_operator": "someone",
        "sample_sampling_gear": "net_hsn",
        "sample_concentrated_sample_volume": 70,
        "acq_id": f"{sample}_{acq}",
        "acq_instrument": "PlanktoScope v2.6",
        "acq_celltype": 300,
        "acq_minimum_mesh": 20,
        "acq_maximum_mesh": 300,
        "acq_volume": 2.5,
        "acq_imaged_volume": 1.04,
        "acq_magnification": "1.2",
        "acq_fnumber_objective": 16,
        "acq_nb_frame": 2,
        "acq_software": "PlanktoScope OS v2024.0.0",
        "acq_local_datetime": "2024-05-15T11:02:03",
        "acq_camera_resolution": "4056x3040",
        "acq_camera_iso": 150,
        "acq_camera_shutter_speed": 125,
        "acq_uuid": "acq-uuid-5678",
        "sample_uuid": "sample-uuid-1234",
        "object_date": "2024-05-15",
        "object_time": "09:00:00",
        "object_lat": lat,
        "object_lon": lon,
        "object_depth_min": 0.1,
        "object_depth_max": 0.5,
        "process_pixel": 0.75,
        "process_id": "Process01",
    }


PLANKTOSCOPE_TSV = [
    "img_file_name",
    "img_rank",
    "object_id",
    "object_lat",
    "object_lon",
    "object_date",
    "object_time",
    "object_depth_min",
    "object_depth_max",
    "object_area",
    "object_width",
    "object_height",
    "sample_id",
    "acq_id",
    "acq_instrument",
    "acq_local_datetime",
    "process_pixel",
]


def planktoscope_data(
    root: Path,
    *,
    segmented: bool = True,
    export_zip: bool = True,
    lat: float = 48.7273,
    lon: float = -3.9814,
    unsegmented_acq: bool = False,
) -> Path:
    """A PlanktoScope ``data/`` folder: ``img/<date>/<sample>/<acq>/`` full frames + metadata.json;
    after segmentation ``objects/<date>/<sample>/<acq>/`` crops ``<frame>_<n>.jpg`` + the segmenter's
    ``ecotaxa_<acq>.tsv`` (UTF-8, [t]/[f] line) + metadata.json, and ``export/ecotaxa/*.zip`` holding
    the same crops and table again (the upload for EcoTaxa).  Acquisition ``A1`` of sample ``S1``:
    two frames, three crops."""
    import json

    date, sample, acq = "2024-05-15", "S1", "A1"
    meta = planktoscope_metadata(acq, sample, lat=lat, lon=lon)
    img = root / "img" / date / sample / acq
    img.mkdir(parents=True, exist_ok=True)
    frames = ["11_02_03_123456", "11_02_04_654321"]
    for k, fr in enumerate(frames):
        (img / f"{fr}.jpg").write_bytes(jpg_bytes(64, 48, value=100 + k))
    (img / "metadata.json").write_text(json.dumps(meta, indent=4), encoding="utf-8")
    (img / "integrity.check").write_text("path:filename,size,sha1\n", encoding="utf-8")
    if unsegmented_acq:
        img2 = root / "img" / date / sample / "A2"
        img2.mkdir(parents=True, exist_ok=True)
        (img2 / "12_00_00_000001.jpg").write_bytes(jpg_bytes(64, 48, value=30))
        (img2 / "metadata.json").write_text(
            json.dumps(planktoscope_metadata("A2", sample, lat=lat, lon=lon)), encoding="utf-8"
        )
    if not segmented:
        return root
    obj = root / "objects" / date / sample / acq
    obj.mkdir(parents=True, exist_ok=True)
    crops = [f"{frames[0]}_0", f"{frames[0]}_1", f"{frames[1]}_0"]
    rows, members = [], {}
    for k, c in enumerate(crops):
        data = jpg_bytes(20 + k, 16, value=40 * k)
        (obj / f"{c}.jpg").write_bytes(data)
        members[f"{c}.jpg"] = data
        rows.append(
            [
                f"{c}.jpg",
                "1",
                c,
                str(meta["object_lat"]),
                str(meta["object_lon"]),
                meta["object_date"].replace("-", ""),
                meta["object_time"].replace(":", ""),
                "0.1",
                "0.5",
                str(300 + k),
                str(20 + k),
                "16",
                meta["sample_id"],
                meta["acq_id"],
                meta["acq_instrument"],
                meta["acq_local_datetime"],
                "0.75",
            ]
        )
    text = tsv_text(PLANKTOSCOPE_TSV, rows)
    (obj / f"ecotaxa_{acq}.tsv").write_text(text, encoding="utf-8")
    (obj / "metadata.json").write_text(json.dumps(meta, indent=4), encoding="utf-8")
    if export_zip:
        ex = root / "export" / "ecotaxa"
        ex.mkdir(parents=True, exist_ok=True)
        members[f"ecotaxa_{acq}.tsv"] = text.encode("utf-8")
        (ex / f"ecotaxa_roscoff_2024_{date}_{sample}_{acq}.zip").write_bytes(zip_bytes(members))
    return root

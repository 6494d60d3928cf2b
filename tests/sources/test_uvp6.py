"""UVP6: UVPapp's ``<sample>_Images.zip`` and ``<sample>_Particule.zip`` (metadata.ini).

The images zip is the real fixture (../shared/fixtures/uvp6/b_da_19_Images.zip).  No particle zip
ships with it, so tests build one with ``uvp6_particle_zip``: ``metadata.ini`` with UVPapp's
sections and keys, windows-1252, CRLF, next to a copy of the images zip (copied into tmp_path only).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from ecotaxa_builders import ECOTAXA_HEADER, ecotaxa_row, png_bytes, tsv_text, uvp6_particle_zip

from aqqua_packer.mapping.apply import apply_mapping
from aqqua_packer.mapping.model import Mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import uvp6
from aqqua_packer.sources.registry import detect_all, scan_path


def test_uvp6_images_zip_is_recognised_as_uvp6_with_15_images(shared_fixtures):
    z = shared_fixtures / "uvp6" / "b_da_19_Images.zip"
    name, det = detect_all(z)[0]
    assert name == "uvp6" and "UVPapp" in det.reason
    [s] = scan_path(z)
    assert s.kind == "uvp6" and len(s.images) == 15
    assert s.sensor == "UVP6 000103lp"
    assert s.set_aside == [] and not [p for p in s.problems if p.severity == "error"]
    assert s.rows["vignette:Pixel_Size"].eq("73").all()  # compute_vignette.txt kept as columns


def test_uvp6_fixture_values_after_mapping(shared_fixtures):
    [s] = scan_path(shared_fixtures / "uvp6" / "b_da_19_Images.zip")
    m = apply_mapping([s], Mapping())
    c = m.converted
    assert m.ready.all() and len(c) == 15
    assert (c["image-datetime"].dt.strftime("%Y%m%d") == "20200205").all()
    assert c["image-pixel-size-micrometers"].eq(73.0).all()
    assert c["image-latitude"].eq(43.0).all() and c["image-longitude"].eq(17.0).all()  # '43°0 0'
    assert s.suggested["fields"]["timezone"]["constant"] == "UTC"
    assert c["image-volume-sampled-liters"].astype(float).eq(0.57).all()


def test_folder_with_the_fixture_zip_is_read_as_uvp6(shared_fixtures):
    name, _ = detect_all(shared_fixtures / "uvp6")[0]
    assert name == "uvp6"
    [s] = scan_path(shared_fixtures / "uvp6")
    assert len(s.images) == 15 and s.images[0].name.startswith("b_da_19_Images.zip/")


def test_metadata_ini_of_the_particle_zip_joins_every_row_as_hdr_columns(shared_fixtures, tmp_path):
    sample = tmp_path / "ecodata" / "b_da_19"
    sample.mkdir(parents=True)
    shutil.copy(shared_fixtures / "uvp6" / "b_da_19_Images.zip", sample)
    uvp6_particle_zip(sample / "b_da_19_Particule.zip", "b_da_19")
    [s] = scan_path(tmp_path)
    assert s.kind == "uvp6" and len(s.images) == 15
    assert s.rows["hdr:Pixel_Size"].eq("73").all()
    assert s.rows["hdr:latitude"].eq("43°48 08").all()  # windows-1252 degree sign read right
    assert s.rows["hdr:sampledatetime"].eq("20220518-042127").all()
    assert s.rows["hdr:Camera_ref"].eq("000125HF").all()


def test_metadata_ini_fills_the_fields_the_tsv_leaves_empty(tmp_path):
    """A UVPapp TSV without lat/lon: the mapping takes them (DMS text) from metadata.ini."""
    header = [
        h for h in ECOTAXA_HEADER if h not in ("object_lat", "object_lon", "process_pixel")
    ] + ["acq_instrument"]
    rows = []
    members = {}
    for i in range(2):
        full = dict(zip(ECOTAXA_HEADER, ecotaxa_row(i, name=f"sub1/{i}.png"), strict=True))
        full["acq_instrument"] = "uvp6"
        rows.append([full[h] for h in header])
        members[f"p1_Images/sub1/{i}.png"] = png_bytes(value=i * 40)
    members["p1_Images/ecotaxa_p1.tsv"] = tsv_text(header, rows).encode("cp1252")
    with zipfile.ZipFile(tmp_path / "p1_Images.zip", "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    uvp6_particle_zip(
        tmp_path / "p1_Particule.zip", "p1", latitude="43°48 08", longitude="-009°30 37", pixel="73"
    )
    [s] = uvp6.scan(tmp_path / "p1_Images.zip", null_task())
    f = s.suggested["fields"]
    assert f["latitude"]["column"] == "hdr:latitude" and f["latitude"]["format"] == "dms"
    assert f["pixel_size"] == {**f["pixel_size"], "column": "hdr:Pixel_Size", "unit": "um"}
    c = apply_mapping([s], Mapping()).converted
    assert c["image-latitude"].iloc[0] == pytest.approx(43 + 48 / 60 + 8 / 3600)
    assert c["image-longitude"].iloc[0] == pytest.approx(-(9 + 30 / 60 + 37 / 3600))
    assert c["image-pixel-size-micrometers"].iloc[0] == 73.0


def test_particle_zip_alone_says_where_the_images_are(tmp_path):
    z = uvp6_particle_zip(tmp_path / "s7_Particule.zip", "s7")
    name, _ = detect_all(z)[0]
    assert name == "uvp6"
    [s] = scan_path(z)
    assert s.images == []
    [p] = [p for p in s.problems if p.kind == "no_images"]
    assert p.file == str(z) and "s7_Images.zip" in p.message
    assert s.rows["hdr:sampledatetime"].iloc[0] == "20220518-042127"


def test_zip_with_dotdot_member_in_an_images_zip_is_refused(tmp_path):
    z = tmp_path / "x_Images.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(
            "x_Images/ecotaxa_x.tsv", tsv_text(ECOTAXA_HEADER, [ecotaxa_row(0, name="a.png")])
        )
        zf.writestr("x_Images/a.png", png_bytes())
        zf.writestr("../../x_Images/b.png", png_bytes())
    [s] = uvp6.scan(z, null_task())
    assert [im.name for im in s.images] == ["x_Images/a.png"]
    [p] = [p for p in s.problems if p.kind == "unsafe_path"]
    assert p.file == str(z) and p.value == "../../x_Images/b.png"
    assert not (tmp_path.parent.parent / "x_Images").exists()


def test_empty_folder_is_not_uvp6(tmp_path):
    assert uvp6.detect(tmp_path).confidence == 0
    assert uvp6.detect(Path(tmp_path / "missing.zip")).confidence == 0

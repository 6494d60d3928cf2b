"""FlowCam runs exported for EcoTaxa, built from the real VisualSpreadsheet run in
../shared/fixtures/flowcam (506 particles, ``cal_const`` 1.8130 µm per pixel).

The field sheet (docs/instruments.md, FlowCam): the pixel size is VisualSpreadsheet's calibration
(µm per pixel: the Visual Spreadsheet User Guide's "Calibration Factor", ``cal_const`` in the
``.lst``); exported for EcoTaxa it travels as ``acq_calibration_factor``, ``calibration_factor``,
``CalConst`` or ``cal_const``.  The crops are cut from the real collage by the FlowCam reader.
"""

from __future__ import annotations

import pytest
from PIL import Image
from real_samples import checked

from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path


@pytest.fixture
def particles(shared_fixtures):
    [s] = scan_path(shared_fixtures / "flowcam")
    cal = s.rows["cal_const"].iloc[0]
    assert float(cal) == pytest.approx(1.8130)
    return [(im.name.rsplit("/", 1)[-1], load_image(im).array) for im in list(s.images)[:5]], cal


def test_the_real_run_still_gives_its_calibration_as_pixel_size(shared_fixtures):
    # the run is named 20171118 (the sample), its list is timed 2019-10-08: confirmed as written
    sets = ("timezone=UTC", "latitude=50", "longitude=-4", "depth=1")
    m, c = checked(shared_fixtures / "flowcam", sets=sets, accept=("sources_disagree",))
    assert len(c) == 506 and m.ready.all()
    assert (c["image-pixel-size-micrometers"] == 1.8130).all()


@pytest.mark.parametrize(
    "column", ["acq_calibration_factor", "calibration_factor", "CalConst", "cal_const"]
)
def test_a_flowcam_run_exported_for_ecotaxa_gives_its_calibration_as_pixel_size(
    particles, tmp_path, column
):
    crops, cal = particles
    names = [
        "img_file_name",
        "object_id",
        "object_lat",
        "object_lon",
        "object_date",
        "object_time",
        "object_depth_min",
        "object_depth_max",
        "acq_instrument",
        column,
    ]
    lines = ["\t".join(names), "\t".join("[t]" if i < 2 else "[f]" for i in range(len(names)))]
    for name, arr in crops:
        png = name.replace(".tif", "") + ".png"
        Image.fromarray(arr.transpose(1, 2, 0) if arr.ndim == 3 else arr).save(tmp_path / png)
        lines.append(
            "\t".join(
                [png, png[:-4], "50.25", "-4.2167", "20171118", "100102", "0", "5", "FlowCam", cal]
            )
        )
    (tmp_path / "ecotaxa_flowcam_run.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    m, c = checked(tmp_path)
    used = m.mapping.fields["pixel_size"]
    assert (used.column, used.unit) == (column, "um")
    assert len(c) == 5 and m.ready.all()
    assert (c["image-pixel-size-micrometers"] == 1.8130).all()


def test_acq_pixel_of_a_flowcam_export_is_micrometres_not_uvp5_millimetres(particles, tmp_path):
    """A pixel size below 5 in acq_pixel is millimetres only in old UVP5 headers."""
    crops, cal = particles
    name, arr = crops[0]
    png = name.replace(".tif", "") + ".png"
    Image.fromarray(arr.transpose(1, 2, 0) if arr.ndim == 3 else arr).save(tmp_path / png)
    (tmp_path / "ecotaxa_run.tsv").write_text(
        "img_file_name\tobject_id\tacq_instrument\tacq_pixel\n"
        f"[t]\t[t]\t[t]\t[f]\n{png}\t{png[:-4]}\tFlowCam VS-IV\t{cal}\n",
        encoding="utf-8",
    )
    m, c = checked(tmp_path)
    assert m.mapping.fields["pixel_size"].unit == "um"
    assert (c["image-pixel-size-micrometers"] == 1.8130).all()

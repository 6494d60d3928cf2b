"""PlanktoScope on real output: an EcoTaxa export of PlanktoScope v2.5 runs (7,631 rows, BOM, every
value quoted) and the factory defaults a lab corrected in 40 real runs.

The field sheet (docs/instruments.md, PlanktoScope): ``object_lat``/``object_lon`` decimal degrees,
``object_date`` + ``object_time``, ``object_depth_min/max`` metres, ``process_pixel`` µm per
pixel, ``acq_imaged_volume`` millilitres imaged (the volume; ``acq_volume`` is millilitres
*pumped*).  The export has no images: stand-in crops are made here for the first three rows of
every acquisition, named in an ``img_file_name`` column as EcoTaxa's export with images names them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from ecotaxa_builders import jpg_bytes, planktoscope_metadata
from real_samples import checked, columns_used, real

TABLE = "planktoscope_export_table/global.tsv.gz"


@pytest.fixture
def export(tmp_path) -> tuple[Path, pd.DataFrame]:
    """The real table as ``ecotaxa_export.tsv`` (bytes kept, one column added) + stand-in crops."""
    raw = gzip.decompress(real(TABLE).read_bytes()).decode("utf-8")
    assert raw.startswith("\ufeff")
    lines = raw.split("\n")
    names = [n.strip('"') for n in lines[0].lstrip("\ufeff").split("\t")]
    acq, oid = names.index("acq_id"), names.index("object_id")
    out, seen, kept = [lines[0] + '\t"img_file_name"'], {}, []
    for line in lines[1:]:
        if not line:
            out.append(line)
            continue
        v = [x.strip('"') for x in line.split("\t")]
        seen[v[acq]] = seen.get(v[acq], 0) + 1
        name = f"{v[oid]}.jpg" if seen[v[acq]] <= 3 else ""
        if name:
            (tmp_path / name).write_bytes(jpg_bytes(12, 10))
            kept.append(dict(zip(names, v, strict=True)) | {"img": name})
        out.append(f'{line}\t"{name}"')
    assert len(lines) - 2 == 7631
    (tmp_path / "ecotaxa_export.tsv").write_text("\n".join(out), encoding="utf-8")
    return tmp_path, pd.DataFrame(kept).set_index("img")


def test_export_values_are_read_as_the_field_sheet_says(export):
    folder, rows = export
    m, c = checked(folder, sets=("timezone=UTC",))
    assert m.scans[0].kind == "planktoscope"
    assert len(c) == len(rows) == 42 and m.ready.all()
    c = c.loc[rows.index]
    assert c["image-latitude"].sub(rows["object_lat"].astype(float)).abs().max() < 1e-4
    assert c["image-longitude"].sub(rows["object_lon"].astype(float)).abs().max() < 1e-4
    when = pd.to_datetime(
        rows["object_date"] + rows["object_time"], format="%Y%m%d%H%M%S", utc=True
    )
    assert (c["image-datetime"] == when).all()
    assert (c["image-depth-min-meters"] == 1.0).all() and (c["image-depth-max-meters"] == 2.0).all()
    assert (c["image-pixel-size-micrometers"] == 0.86).all()
    assert (c["image-label"] == rows["object_annotation_category"]).all()
    assert (c["image-sample-id"] == rows["sample_id"]).all()


def test_volume_is_the_millilitres_imaged_packed_as_litres(export):
    folder, rows = export
    m, c = checked(folder, sets=("timezone=UTC",))
    used = m.mapping.fields["volume_sampled"]
    assert (used.column, used.unit) == ("acq_imaged_volume", "ml")
    litres = rows["acq_imaged_volume"].astype(float) / 1000  # e.g. 1.9147 mL -> 0.0019147 L
    assert c.loc[rows.index, "image-volume-sampled-liters"].sub(litres).abs().max() < 1e-12
    assert (c["image-volume-sampled-liters"] < 0.01).all()  # never acq_volume's 15.4 "litres"


def test_acq_volume_alone_is_never_taken_as_litres(tmp_path):
    """Without acq_imaged_volume, the pumped volume (mL) is not offered as the volume imaged."""
    frames = tmp_path / "img" / "2024-05-15" / "S1" / "A1"
    frames.mkdir(parents=True)
    (frames / "11_02_03_123456.jpg").write_bytes(jpg_bytes(64, 48))
    meta = planktoscope_metadata("A1", "S1")
    del meta["acq_imaged_volume"]
    (frames / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    m, c = checked(tmp_path, sets=("timezone=UTC",))
    assert columns_used(m).get("volume_sampled") is None
    assert (
        "image-volume-sampled-liters" not in c.columns
        or c["image-volume-sampled-liters"].isna().all()
    )


def corrections() -> list[tuple[str, dict]]:
    folder = real("planktoscope_corrections")
    return [(p.stem, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def test_factory_defaults_a_lab_corrected_are_read_exactly_as_the_instrument_wrote_them(tmp_path):
    """Each corrected run as the PlanktoScope left it (its ``old_values`` in metadata.json): the
    reader reports those values, unchanged, for the plausibility checks to flag (−90/0, depth 0,
    the clock's date); it never invents a position or shifts a date."""
    runs = corrections()
    assert len(runs) == 40
    for k, (name, fix) in enumerate(runs):
        old = {field: v["old_values"][0] for field, v in fix.items()}
        meta = planktoscope_metadata(name, f"S{k}") | {
            field: old[field]
            for field in (
                "sample_id",
                "object_date",
                "object_time",
                "object_lat",
                "object_lon",
                "object_depth_min",
                "object_depth_max",
                "acq_local_datetime",
            )
            if field in old
        }
        meta["acq_id"] = old.get("acq_id", name)
        frames = tmp_path / "img" / old["object_date"] / f"S{k}" / name
        frames.mkdir(parents=True)
        (frames / f"{name}_frame.jpg").write_bytes(jpg_bytes(32, 24, value=k))
        (frames / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    m, c = checked(tmp_path, sets=("timezone=UTC",))
    assert len(c) == 40
    for k, (name, fix) in enumerate(runs):
        old = {field: v["old_values"][0] for field, v in fix.items()}
        r = c.loc[f"img/{old['object_date']}/S{k}/{name}/{name}_frame.jpg"]
        assert r["image-latitude"] == float(old["object_lat"]) == -90.0
        assert r["image-longitude"] == float(old["object_lon"]) == 0.0
        assert r["image-datetime"] == pd.Timestamp(
            f"{old['object_date']} {old['object_time']}", tz="UTC"
        )
        if "object_depth_min" in old:
            assert r["image-depth-min-meters"] == float(old["object_depth_min"]) == 0.0
            assert r["image-depth-max-meters"] == float(old["object_depth_max"]) == 0.0
        assert r["image-sample-id"] == old["sample_id"]
        assert r["image-volume-sampled-liters"] == pytest.approx(1.04 / 1000)  # mL imaged


def test_the_packed_volume_is_in_litres(export, tmp_path):
    """Packed, as AqQua receives it: ``image-volume-sampled-liters`` = mL imaged / 1000."""
    from aqqua_packer import workflow
    from aqqua_packer.package.read import open_package

    folder, rows = export
    request = workflow.Request(sources=[folder], sets=["timezone=UTC"])
    workflow.pack(request, tmp_path / "pkg")
    with open_package(tmp_path / "pkg") as pkg:
        meta = pkg.meta.set_index("image-filename")
    litres = rows["acq_imaged_volume"].astype(float) / 1000
    assert len(meta) == 42
    assert meta.loc[rows.index, "image-volume-sampled-liters"].sub(litres).abs().max() < 1e-12

"""image-set.toml: an iFDO image-set header that the ``ifdo`` package validates, with the fields
pixel-patrol-aqqua reads and AqQua's own under [aqqua] (docs/format.md, "image-set.toml").

Every package any test writes is checked the same way after the test (tests/conftest.py,
``_packages_have_ifdo_headers``); the tests here say what the header holds and that the check bites."""

from __future__ import annotations

from ifdo import ImageSetHeader
from pkgtools import MAPS, plankton_dataset

from aqqua_packer.package import layout
from aqqua_packer.package.dataset import DatasetInfo
from aqqua_packer.package.header import handle, validate_meta
from aqqua_packer.package.write import PackOptions
from aqqua_packer.workflow import Request, pack

DATASET = DatasetInfo(
    name="Cruise M106",
    contributor="Ana Lopes",
    institution="IMEV",
    email="ana@example.org",
    coauthors=["Ben Ito", ""],
    licence="CC0-1.0",
    sensor="ZooScan 2",
    sensor_family="ZooScan",
    description="Net tows, 200 µm mesh.",
)


def test_a_package_header_is_an_ifdo_image_set_header_with_the_dataset_facts(tmp_path):
    src = plankton_dataset(tmp_path / "src", 6, seed=4)
    out = tmp_path / "pkg"
    pack(Request([src], maps=MAPS), out, options=PackOptions(workers=1), dataset=DATASET)
    doc = layout.read_image_set(out)
    meta, aqqua = doc["meta"], doc["aqqua"]

    header = ImageSetHeader.model_validate(meta, strict=True)
    assert header.image_set_name == "Cruise M106"
    assert header.image_set_handle == handle(meta["image-set-uuid"])
    assert meta["image-set-handle"].startswith("urn:uuid:")
    assert meta["image-set-ifdo-version"] == "v2.1.0"
    for axis, limit in (("latitude", 90), ("longitude", 180)):  # the space the images cover
        lo, hi = meta[f"image-set-min-{axis}-degrees"], meta[f"image-set-max-{axis}-degrees"]
        assert -limit <= lo <= hi <= limit
    # what pixel-patrol-aqqua reads and earlier packages hold, as before
    assert meta["image-set-sensor"] == "ZooScan 2"
    assert meta["image-set-sensor-family"] == "ZooScan"
    assert meta["image-set-abstract"] == "Net tows, 200 µm mesh."
    assert meta["image-set-license"] == "CC0-1.0"
    assert meta["image-set-copyright"] == "IMEV"
    assert meta["image-set-pi"] == {
        "name": "Ana Lopes",
        "email": "ana@example.org",
        "institution": "IMEV",
    }
    assert meta["image-set-creators"] == [{"name": "Ana Lopes"}, {"name": "Ben Ito"}]
    assert "image-set-channel" not in meta  # grey images: no multi-channel layout
    assert set(aqqua) == {
        "format-version", "packer", "package-number", "created", "completed", "images", "shards",
        "global-interpolation-allowed", "contributor", "email", "institution", "input-fingerprint",
    }  # fmt: skip
    assert aqqua["images"] == 6 and aqqua["contributor"] == "Ana Lopes"
    assert validate_meta(meta) == []


def test_validation_names_each_field_ifdo_refuses_and_each_key_it_does_not_know():
    meta = {
        "image-set-name": "x",
        "image-set-uuid": 42,
        "image-set-ifdo-version": "v2.1.0",
        "image-set-max-latitude-degrees": "north",
        "image-set-sensr": "UVP6",
        "image-set-sensor": "UVP6",
    }
    problems = "\n".join(validate_meta(meta))
    assert "image-set-handle: Field required" in problems
    assert "image-set-uuid: Input should be a valid string (value 42)" in problems
    assert "image-set-max-latitude-degrees" in problems and "'north'" in problems
    assert "image-set-sensr: not an iFDO header field" in problems
    assert "image-set-sensor:" not in problems  # read by pixel-patrol-aqqua: allowed


def test_the_check_after_every_test_refuses_a_packer_header_without_a_handle(
    tmp_path, ifdo_header_check
):
    good = '[meta]\nimage-set-name = "a"\nimage-set-uuid = "u"\nimage-set-handle = "urn:uuid:u"\n'
    bad = '[meta]\nimage-set-name = "a"\nimage-set-uuid = "u"\n'
    stamp = '[aqqua]\npacker = "aqqua-packer 0.1.0"\n'
    for name, text in (("good", good + stamp), ("bad", bad + stamp), ("foreign", bad)):
        (tmp_path / name).mkdir()
        (tmp_path / name / layout.IMAGE_SET).write_text(text, encoding="utf-8")
    problems = ifdo_header_check(tmp_path)
    assert len(problems) == 1 and "bad" in problems[0] and "image-set-handle" in problems[0]
    (tmp_path / "bad" / layout.IMAGE_SET).unlink()  # or this test's own check would fail it

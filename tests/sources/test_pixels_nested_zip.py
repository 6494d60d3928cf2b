"""Images inside a zip inside a zip are read in place, and the inner zip is read only once."""

import io
import zipfile

import numpy as np
from PIL import Image

from aqqua_packer.sources import pixels
from aqqua_packer.sources.base import ImageRef


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 9), value, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_images_in_a_nested_zip_decode_exactly_and_the_inner_zip_is_opened_once(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        for i in range(30):
            zf.writestr(f"sub/img_{i:02d}.png", _png(i))
    outer = tmp_path / "export.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("inner/ecotaxa_export.zip", inner.getvalue())

    pixels._inner_zip.cache_clear()
    for i in range(30):
        ref = ImageRef(f"img_{i:02d}.png", str(outer), members=("inner/ecotaxa_export.zip", f"sub/img_{i:02d}.png"))
        arr = pixels.load_image(ref).array
        assert arr.shape == (8, 9) and (arr == i).all()
    assert pixels._inner_zip.cache_info().misses == 1

"""The spliced blosc2 frames are byte for byte what blosc2's own API writes, for any image; the
row-predicted chunks of narrow images (which that API cannot write) decode pixel-exact."""

from __future__ import annotations

import blosc2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aqqua_packer.package import frames

UUID = "0f8b3c2e-6a1d-5b7e-9c4f-2d8e1a3b5c7d"


@st.composite
def images(draw):
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    channels = draw(st.sampled_from([0, 2, 3, 4]))
    y, x = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    shape = (channels, y, x) if channels else (y, x)
    kind = draw(st.sampled_from(["noise", "smooth", "constant", "zeros", "sparse"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    hi = np.iinfo(dtype).max
    if kind == "noise":
        arr = rng.integers(0, hi, shape, endpoint=True)
    elif kind == "smooth":
        arr = (np.indices(shape).sum(0) * draw(st.integers(1, 9))) % (hi + 1)
    elif kind == "constant":
        arr = np.full(shape, draw(st.integers(0, hi)))
    elif kind == "zeros":
        arr = np.zeros(shape)
    else:
        arr = np.zeros(shape)
        arr.flat[rng.integers(0, arr.size, 3)] = hi
    return arr.astype(dtype)


@settings(max_examples=150, deadline=None)
@given(images(), st.sampled_from(sorted(frames.COMPRESSION)))
def test_spliced_frame_equals_blosc2_asarray_to_cframe(arr, compression):
    meta_rest = (
        {"image-channels": [{"name": f"c{i}", "kind": "color"} for i in range(arr.shape[0])]}
        if arr.ndim == 3
        else {}
    )
    want = blosc2.asarray(
        arr,
        chunks=arr.shape,
        blocks=arr.shape,
        cparams=frames.cparams_for(arr.dtype, compression),
        meta={"image-uuid": UUID, **meta_rest},
    ).to_cframe()
    got = frames.encode(arr, UUID, meta_rest, compression, rows=False)
    assert got == want
    back = blosc2.ndarray_from_cframe(got, True)
    assert np.array_equal(back[()], arr)
    assert back.schunk.meta["image-uuid"] == UUID
    # as the packer stores it (row prediction where the rows are narrow): same pixels and meta
    stored = blosc2.ndarray_from_cframe(frames.encode(arr, UUID, meta_rest, compression), True)
    assert np.array_equal(stored[()], arr)
    assert stored.shape == arr.shape and stored.dtype == arr.dtype
    assert {k: stored.schunk.meta[k] for k in stored.schunk.meta.keys()} == {
        k: back.schunk.meta[k] for k in back.schunk.meta.keys()
    }
    if arr.ndim == 2 and arr.shape[0] > 2 and arr.shape[1] > 2:
        assert np.array_equal(stored[1:-1, 1:-1], arr[1:-1, 1:-1])  # a part, as a reader slices


def test_large_images_use_blosc2s_own_chunking_and_still_round_trip():
    arr = (
        np.random.default_rng(0).integers(0, 4096, (1, 2100, 4100)).astype(np.uint16)[0]
    )  # > 16 MiB
    got = frames.encode(arr, UUID)
    assert np.array_equal(blosc2.ndarray_from_cframe(got, True)[()], arr)


# The settings measured in docs/format.md ("Codec"), pinned: a change here changes every package.
PINNED = {
    ("fast", np.uint8): (5, 1, [blosc2.Filter.BITSHUFFLE]),
    ("fast", np.uint16): (5, 1, [blosc2.Filter.SHUFFLE]),
    ("balanced", np.uint8): (5, 1, [blosc2.Filter.DELTA]),
    ("balanced", np.uint16): (5, 1, [blosc2.Filter.SHUFFLE]),
    ("small", np.uint8): (5, 9, [blosc2.Filter.DELTA]),
    ("small", np.uint16): (5, 5, [blosc2.Filter.SHUFFLE]),
}


def test_each_compression_level_stores_its_measured_codec_filters_and_level_per_dtype():
    assert frames.DEFAULT_COMPRESSION == "balanced"
    assert set(frames.COMPRESSION) == {"fast", "balanced", "small"}
    for (level, dtype), (codec, clevel, filters) in PINNED.items():
        arr = np.arange(600, dtype=dtype).reshape(20, 30)
        nd = blosc2.ndarray_from_cframe(frames.encode(arr, UUID, {}, level), True)
        cp = nd.schunk.cparams
        assert (cp.codec.value, cp.clevel) == (codec, clevel), (level, dtype)
        assert [f for f in cp.filters if f != blosc2.Filter.NOFILTER] == filters, (level, dtype)
        assert np.array_equal(nd[()], arr)


def _chunk_settings(frame: bytes) -> tuple[int, list[int], int]:
    """(typesize, filters, codec) from the header of the frame's one chunk (c-blosc2's chunk
    format: typesize at byte 3, the six filters at 16-21, the codec at 22)."""
    nd = blosc2.ndarray_from_cframe(frame, True)  # kept alive while its chunk is read
    chunk = bytes(nd.schunk.get_chunk(0))
    return chunk[3], [f for f in chunk[16:22] if f], chunk[22]


def test_narrow_8bit_rows_are_stored_with_row_prediction_others_with_the_levels_filters():
    shuffle, bytedelta, delta = 1, 35, 3
    smooth = (np.indices((40, 50)).sum(0) % 256).astype(np.uint8)
    assert _chunk_settings(frames.encode(smooth, UUID)) == (50, [shuffle, bytedelta], 5)
    wide = (np.indices((40, 300)).sum(0) % 256).astype(np.uint8)  # 300-byte rows: too wide
    assert _chunk_settings(frames.encode(wide, UUID)) == (1, [delta], 5)
    rgb = np.stack([smooth, smooth // 2, smooth // 3])
    assert _chunk_settings(frames.encode(rgb, UUID, {}, "balanced")) == (50, [shuffle, bytedelta], 5)
    grey16 = (np.indices((30, 100)).sum(0) * 40).astype(np.uint16)  # 16-bit: shuffle by item
    assert _chunk_settings(frames.encode(grey16, UUID))[:2] == (2, [shuffle])
    assert _chunk_settings(frames.encode(smooth, UUID, {}, "fast"))[0] == 1  # fast: never


def test_row_prediction_stores_narrow_plankton_vignettes_smaller_than_delta():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from plankton_images import vignette

    rng = np.random.default_rng(5)
    arrs = []
    while len(arrs) < 20:
        a = vignette(rng)
        a = np.ascontiguousarray(np.moveaxis(a, -1, 0)) if a.ndim == 3 else a
        if a.shape[-1] <= frames.MAX_ROW_BYTES:
            arrs.append(a)
    rows = sum(len(frames.encode(a, UUID)) for a in arrs)
    plain = sum(len(frames.encode(a, UUID, rows=False)) for a in arrs)
    assert rows < 0.96 * plain


def test_balanced_is_smaller_than_fast_on_plankton_like_vignettes():
    """The reason for the default: DELTA stores 8-bit scenes smaller than bit-shuffle."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from plankton_images import vignette

    rng = np.random.default_rng(3)
    arrs = [vignette(rng) for _ in range(20)]
    arrs = [np.ascontiguousarray(np.moveaxis(a, -1, 0)) if a.ndim == 3 else a for a in arrs]
    size = {lv: sum(len(frames.encode(a, UUID, {}, lv)) for a in arrs) for lv in frames.COMPRESSION}
    assert size["balanced"] < 0.92 * size["fast"]
    assert size["small"] <= size["balanced"]

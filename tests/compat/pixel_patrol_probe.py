"""Run INSIDE the pixel-patrol-aqqua venv (Python 3.12): read every shard of a package with AqQua's
own loader and print what it saw as JSON.  Not a test module; test_pixel_patrol_aqqua.py runs it."""

import hashlib
import json
import logging
import sys
from pathlib import Path

import numpy as np
from pixel_patrol_aqqua.plugins.loaders.lmdb_loader import LmdbLoader

complaints = []


class _Collect(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            complaints.append(f"{record.name}: {record.getMessage()}")


logging.getLogger().addHandler(_Collect())
logging.getLogger().setLevel(logging.DEBUG)

pkg = Path(sys.argv[1])
loader = LmdbLoader()
images = {}
stores = sorted(pkg.glob("*-images-*.lmdb"))
for store in stores:
    if not loader.is_folder_supported(store):
        complaints.append(f"{store.name}: not recognised as an LMDB store")
        continue
    header = loader.read_header(store)
    n = 0
    for child_id, rec in loader.load_range(store, 0, header.n_images):
        arr = np.asarray(rec.data)
        meta = dict(rec.meta)
        uid = meta.get("image-uuid")
        images[uid] = {
            "store": store.name,
            "key": child_id,
            "sha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest(),
            "shape": list(arr.shape),
            "dtype": str(arr.dtype),
            "dim_order": meta.get("dim_order"),
            "channel_names": meta.get("channel_names"),
            "image-filename": meta.get("image-filename"),
            "image-latitude": meta.get("image-latitude"),
            "image-set-name": meta.get("image-set-name"),
        }
        n += 1
    if n != header.n_images:
        complaints.append(
            f"{store.name}: header says {header.n_images} images, load_range gave {n}"
        )
import blosc2  # noqa: E402

print(
    json.dumps(
        {
            "stores": len(stores),
            "images": images,
            "complaints": complaints,
            "blosc2": blosc2.__version__,
        }
    )
)

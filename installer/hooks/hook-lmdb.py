"""lmdb: the C extension (``lmdb.cpython``) is chosen inside a try block at import time, and it
imports ``lmdb._envid`` from C, where PyInstaller cannot see it: name every submodule."""

from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules(
    "lmdb", filter=lambda name: name not in ("lmdb.tool", "lmdb.__main__")
)

"""blosc2: its compiled extension plus the shared libraries it ships beside it.

On Linux the wheel links the Blosc2 C library into ``blosc2_ext`` (so ``libblosc2.so`` is not
needed); on Windows and macOS it may load it from ``blosc2/lib``.  ``libtcc`` backs blosc2's JIT for
lazy expressions; small, kept so blosc2 behaves as in a pip install.
"""

import sys

from PyInstaller.utils.hooks import collect_dynamic_libs, collect_submodules

hiddenimports = collect_submodules(
    "blosc2", filter=lambda name: not name.startswith(("blosc2.b2view", "blosc2.cli"))
)
binaries = [
    (src, dest)
    for src, dest in collect_dynamic_libs("blosc2")
    if not (sys.platform.startswith("linux") and "libblosc2.so" in src)
]

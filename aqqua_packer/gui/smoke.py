"""`aqqua-packer --smoke-test`: the frozen app checks itself before it ships.

Starts Qt (offscreen unless QT_QPA_PLATFORM says otherwise), opens the main window, packs the
bundled sample data into a temporary package and verifies it, then exits 0.  It exercises what a
frozen build most often loses: Qt plugins, blosc2's and LMDB's native libraries, pyarrow's Parquet,
worker processes, and the bundled resources.  Progress goes to stdout; stderr stays empty unless
something is wrong, so the build can fail on any unexpected line there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path


def _say(msg: str) -> None:
    print(f"smoke: {msg}", flush=True)


def _open_main_window(app):
    """The real main window where the GUI provides one; a bare window until then."""
    from PySide6.QtWidgets import QMainWindow

    if importlib.util.find_spec("aqqua_packer.gui.main_window") is None:
        _say("main window: aqqua_packer.gui.main_window does not exist yet; opened a bare window")
        window = QMainWindow()
    else:
        import inspect

        from .main_window import MainWindow

        # Never offer to continue the user's last project: the check starts from nothing.
        offers = "offer_continue" in inspect.signature(MainWindow).parameters
        window = MainWindow(offer_continue=False) if offers else MainWindow()
    window.show()
    app.processEvents()
    if not window.isVisible():
        raise RuntimeError("the main window did not become visible")
    _say(f"main window: {type(window).__name__} {window.width()}x{window.height()} shown")
    return window


def _import_everything() -> None:
    """Every module of the app and the native parts it loads only on demand (SFTP's crypto, TIFF,
    Excel tables, the keyring): a frozen build that lost one fails here, not on a user's ship."""
    import pkgutil

    import aqqua_packer

    names = [
        m.name
        for m in pkgutil.walk_packages(aqqua_packer.__path__, "aqqua_packer.")
        if not m.name.endswith("__main__")  # importing it would run the app again
    ]
    for name in names:
        importlib.import_module(name)
    if len(names) < 20:
        raise RuntimeError(f"found only {len(names)} aqqua_packer modules: the build lost some")

    import bcrypt
    import keyring
    import nacl.bindings
    import openpyxl
    import paramiko
    import tifffile
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from PIL import Image

    ed25519.Ed25519PrivateKey.generate().sign(b"aqqua")
    nacl.bindings.randombytes(8)
    bcrypt.gensalt(4)
    Image.new("L", (4, 4)).tobytes()
    _say(
        f"imports: {len(names)} aqqua_packer modules; paramiko {paramiko.__version__}, "
        f"tifffile {tifffile.__version__}, openpyxl {openpyxl.__version__}, "
        f"keyring {type(keyring.get_keyring()).__name__}"
    )


def _pack_and_verify(tmp: Path) -> None:
    from ..resources import sample_data_dir

    sample = sample_data_dir()
    if not (sample / "metadata.csv").is_file():
        raise RuntimeError(f"the bundled sample data is missing: {sample}")
    n_images = sum(1 for p in (sample / "images").iterdir() if p.is_file())
    _say(f"sample data: {n_images} images in {sample}")
    from ..progress import Task
    from ..workflow import PackOptions, Request, pack, verify

    out = tmp / "package"
    t0 = time.monotonic()
    result = pack(
        Request(sources=[sample]),
        out,
        options=PackOptions(skip_incomplete=True),
        task=Task(),
    )
    _say(
        f"pack: {result.images} images packed, {result.skipped} skipped, {len(result.shards)} "
        f"shard(s), {result.bytes / 1e6:.2f} MB in {time.monotonic() - t0:.1f} s"
    )
    if result.images == 0 or result.images + result.skipped != n_images:
        raise RuntimeError(
            f"packed {result.images} and skipped {result.skipped} of {n_images} images"
        )
    report = verify(out)
    if not report.ok:
        raise RuntimeError(f"verify found problems in the packed sample data: {report.summary()}")
    _say(f"verify: {report.summary()}")


def _in_worker_thread(fn, *args) -> None:
    """Run ``fn`` off the main thread, as the wizard packs: with threads running, the packer
    starts its worker processes by forkserver (or spawn), the start methods a frozen app must
    support, instead of a plain fork."""
    import threading

    failure: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised on the main thread with its traceback
            failure.append(exc)

    worker = threading.Thread(target=target, name="smoke-pack")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def run_smoke_test() -> int:
    """Exit status 0 when the window opens and the sample data packs and verifies; 1 otherwise.

    Runs in a temporary settings folder (AQQUA_PACKER_HOME), so a user's autosaved project,
    settings and logs are never touched by the check.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.monotonic()
    old_home = os.environ.get("AQQUA_PACKER_HOME")
    window = None
    with tempfile.TemporaryDirectory(prefix="aqqua-smoke-", ignore_cleanup_errors=True) as tmp:
        os.environ["AQQUA_PACKER_HOME"] = str(Path(tmp) / "home")
        try:
            from PySide6.QtWidgets import QApplication

            from .. import __version__

            app = QApplication.instance() or QApplication(
                [sys.argv[0] if sys.argv else "aqqua-packer"]
            )
            frozen = getattr(sys, "frozen", False)
            _say(f"AqQua Packer {__version__}, Qt platform {app.platformName()}, frozen={frozen}")
            window = _open_main_window(app)
            _import_everything()
            _in_worker_thread(_pack_and_verify, Path(tmp))
        except Exception:
            print("smoke test FAILED:", file=sys.stderr)
            traceback.print_exc()
            return 1
        finally:
            if window is not None:
                window.close()
                window.deleteLater()
                QApplication.processEvents()
            if old_home is None:
                os.environ.pop("AQQUA_PACKER_HOME", None)
            else:
                os.environ["AQQUA_PACKER_HOME"] = old_home
    _say(f"passed in {time.monotonic() - t0:.1f} s")
    return 0

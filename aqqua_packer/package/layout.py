"""Names and small files of a package folder: shard names and IDs, the manifest, image-set.toml,
atomic writes.  Shared by the writer, the reader, verify and info (docs/format.md says the same)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
import tomllib
from pathlib import Path
from typing import Any

from ..memory import release_free_memory

FORMAT_VERSION = 1
MANIFEST = "manifest.sha256"
IMAGE_SET = "image-set.toml"
SKIPPED = "skipped.csv"
STATE_DIR = ".aqqua-pack"  # resume state; removed when the package is complete
IMAGE_DB = b"image_data"

# {ID} = package number * SHARDS_PER_PACKAGE + shard index; package number random in
# [2**40, 2**41), so every ID has 16 decimal digits and stays below 2**53 (exact in JSON/float64).
SHARDS_PER_PACKAGE = 4096
_PACKAGE_NUMBER_MIN = 2**40

_SHARD_RX = re.compile(r"^(?P<prefix>.+)-images-(?P<id>\d+)\.lmdb$")


def new_package_number() -> int:
    return _PACKAGE_NUMBER_MIN + secrets.randbelow(_PACKAGE_NUMBER_MIN)


def shard_id(package_number: int, index: int) -> int:
    if not 0 <= index < SHARDS_PER_PACKAGE:
        raise ValueError(f"shard index {index} out of range")
    return package_number * SHARDS_PER_PACKAGE + index


def slug(text: str, fallback: str = "aqqua") -> str:
    """Lowercase ``[a-z0-9-]`` form of a dataset name, for file names."""
    import unicodedata

    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    t = re.sub(r"[^a-z0-9]+", "-", t).strip("-")
    t = re.sub(r"-+", "-", t)[:60].strip("-")
    return t or fallback


def images_dir(prefix: str, sid: int) -> str:
    return f"{prefix}-images-{sid}.lmdb"


def meta_name(prefix: str, sid: int) -> str:
    return f"{prefix}-meta-{sid}.parquet"


def raw_name(prefix: str, sid: int) -> str:
    return f"{prefix}-raw-{sid}.parquet"


def find_shards(folder: Path) -> list[tuple[str, int]]:
    """(prefix, ID) of every image store in ``folder``, by ID."""
    out = []
    for p in Path(folder).iterdir():
        m = _SHARD_RX.match(p.name)
        if m and p.is_dir():
            out.append((m.group("prefix"), int(m.group("id"))))
    return sorted(out, key=lambda t: t[1])


# --- memory -------------------------------------------------------------------------------------
_libc = None


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """(start, length) of every mapping of ``path`` in this process (Linux)."""
    target = os.path.realpath(path)
    out = []
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].rstrip("\n") == target:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append((start, end - start))
    return out


def _libc_handle():
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return _libc


def _dont_need(ranges: list[tuple[int, int]]) -> None:
    """Drop this process's page-table entries for these mapped ranges (the pages stay cached)."""
    try:
        libc = _libc_handle()
        for start, length in ranges:
            libc.madvise(start, length, 4)  # MADV_DONTNEED
    except (OSError, AttributeError, ValueError):
        pass


def release_mapped(path: Path) -> None:
    """Unmap (not discard) the pages of ``path`` this process has touched through an mmap, and
    give freed heap back to the system.

    Why: LMDB reads through a memory map, and on Linux a read fault maps whole page-cache folios
    around it, so walking a few index pages of a freshly written 2 GiB store can add hundreds of
    MB to the resident size.  The pages stay in the page cache; the next access maps them again.
    Linux only; a no-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        _dont_need(_mapped_ranges(path))
    except OSError:
        pass
    release_free_memory()


class MappedFile:
    """``release_mapped`` for a file mapped once for a long time (an open LMDB environment):
    where the mapping is is read once, so releasing costs one ``madvise`` and can be done often
    (the writer does it every few dozen images, not only at commits)."""

    def __init__(self, path: Path):
        self.path = path
        self.ranges: list[tuple[int, int]] | None = None

    def release(self) -> None:
        if not sys.platform.startswith("linux"):
            return
        if self.ranges is None:
            try:
                self.ranges = _mapped_ranges(self.path)
            except OSError:
                self.ranges = []
        _dont_need(self.ranges)


# --- atomic files -------------------------------------------------------------------------------
def fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def sha256_file(path: Path, bufsize: int = 4 * 2**20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


# --- the image store's page size -------------------------------------------------------------
# LMDB keeps a value larger than about half a page on overflow pages of its own, whole pages only,
# so each image wastes on average half a page.  LMDB takes an environment's page size from the file
# (mdb_env_open2: ``me_psize = meta.mm_psize`` when the file exists), not from the machine, so a
# store created with small pages is read and written with them by every LMDB: the writer creates
# data.mdb as an empty environment of 256-byte pages (two meta pages, as ``mdb_env_init_meta``
# writes them) before opening it.  ~180 B an image beyond its value, for values from 1 kB to
# 60 kB, instead of ~2 KB with 4 KiB pages (~8 KB on a 16 KiB-page Mac); 512-byte pages leave
# ~300 B.  docs/format.md, "Image store pages"; tests/bench/bench_lmdb.py.
LMDB_PAGE_SIZE = 256
_LMDB_MAGIC, _LMDB_VERSION, _P_META, _P_INVALID = 0xBEEFC0DE, 1, 0x08, 2**64 - 1


def empty_lmdb(page_size: int = LMDB_PAGE_SIZE) -> bytes:
    """The bytes of an empty LMDB environment (data.mdb) with pages of ``page_size`` bytes.

    Layout (lmdb/mdb.c, 0.9): two meta pages; each a 16-byte page header (page number, pad,
    flags P_META, lower, upper) then MDB_meta: magic, version, address, map size, the free and main
    databases' MDB_db records (the free one's first word is the page size), last page, txnid.
    Little-endian, as LMDB files are on every machine we ship for."""
    import struct

    empty_db = struct.pack("<IHHQQQQQ", 0, 0, 0, 0, 0, 0, 0, _P_INVALID)
    free_db = struct.pack("<IHHQQQQQ", page_size, 0, 0, 0, 0, 0, 0, _P_INVALID)
    meta = (
        struct.pack("<IIQQ", _LMDB_MAGIC, _LMDB_VERSION, 0, 2**20)
        + free_db
        + empty_db
        + struct.pack("<QQ", 1, 0)  # last page used: the second meta page; transaction 0
    )
    out = bytearray()
    for pgno in (0, 1):
        page = bytearray(page_size)
        struct.pack_into("<QHHHH", page, 0, pgno, 0, _P_META, 0, 0)
        page[16 : 16 + len(meta)] = meta
        out += page
    return bytes(out)


def create_lmdb(folder: Path, page_size: int = LMDB_PAGE_SIZE) -> None:
    """Make ``folder``/data.mdb an empty LMDB environment of ``page_size``-byte pages, unless the
    file exists (a shard being continued keeps its own pages)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "data.mdb").exists():
        write_atomic(folder / "data.mdb", empty_lmdb(page_size))


# --- manifest -----------------------------------------------------------------------------------
def manifest_text(entries: dict[str, str]) -> str:
    """sha256sum format, sorted by path: ``<hex>  <relative posix path>``."""
    return "".join(f"{entries[p]}  {p}\n" for p in sorted(entries))


_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def manifest_entries(text: str):
    """The one reading of a manifest: yields (row number, lowercase sha256, path as written);
    ValueError naming the row for a line that is not ``<sha256>  <path>`` (sha256sum's format)."""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _MANIFEST_LINE.match(line)
        if not m:
            raise ValueError(f"{MANIFEST}, line {n}: not '<sha256>  <path>': {line[:80]!r}")
        yield n, m.group(1).lower(), m.group(2)


def read_manifest(folder: Path) -> dict[str, str]:
    text = (Path(folder) / MANIFEST).read_text(encoding="utf-8")
    return {rel: digest for _, digest, rel in manifest_entries(text)}


# --- image-set.toml -----------------------------------------------------------------------------
_TOML_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        esc = v.translate(_TOML_ESCAPES)
        esc = "".join(c if ord(c) >= 0x20 and ord(c) != 0x7F else f"\\u{ord(c):04x}" for c in esc)
        return f'"{esc}"'
    if isinstance(v, dict):
        return (
            "{ "
            + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None)
            + " }"
        )
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def dump_toml(doc: dict[str, Any]) -> str:
    """A small TOML writer for image-set.toml: tables of scalars, inline tables and arrays of tables."""
    lines: list[str] = []

    def table(name: str, body: dict[str, Any]) -> None:
        scalars = {
            k: v
            for k, v in body.items()
            if v is not None and not _is_table_array(v) and not isinstance(v, dict)
        }
        inline = {k: v for k, v in body.items() if isinstance(v, dict)}
        arrays = {k: v for k, v in body.items() if _is_table_array(v)}
        lines.append(f"[{name}]")
        for k, v in {**scalars, **inline}.items():
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        lines.append("")
        for k, arr in arrays.items():
            for entry in arr:
                lines.append(f"[[{name}.{_toml_key(k)}]]")
                for kk, vv in entry.items():
                    if vv is not None:
                        lines.append(f"{_toml_key(kk)} = {_toml_value(vv)}")
                lines.append("")

    for name, body in doc.items():
        table(name, body)
    text = "\n".join(lines).rstrip() + "\n"
    tomllib.loads(text)  # never write what we cannot read back
    return text


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def read_image_set(folder: Path) -> dict[str, Any]:
    with open(Path(folder) / IMAGE_SET, "rb") as fh:
        return tomllib.load(fh)

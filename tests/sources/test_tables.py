"""Metadata tables read as text: the Arrow path (well-formed tables) and the Python path (anything
unusual) give the same rows, row numbers and column names; the Arrow path holds no Python string
per value."""

from __future__ import annotations

import tracemalloc

import pandas as pd
import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.sources.base import ROW_COL, TABLE_COL
from aqqua_packer.sources.tables import _read_arrow, decode_text, read_table, read_text_table

CLEAN = {
    "plain.csv": "file,date,lat\r\na.png,2024-05-01,43.1\r\nb.png,2024-05-02,43.2\r\n",
    "quoted.csv": 'file,"note, with comma",lat\na.png,"said ""hi""",43.1\nb.png,,\n',
    "tabs.tsv": "object_id\tobject_lat\tobject_label\n[t]\t[f]\t[t]\nx1\t43.1\tCopepoda\nx2\t43.2\t\n",
    "semicolon.txt": "id;depth;label\n1;5;a\n2;6;b\n",
    "repeats.csv": "name,name,,lat\n a , b ,c,1\n",
    "only_cr.csv": "file,lat\ra.png,1\rb.png,2",
    "no_final_newline.csv": "file,lat\na.png,1\nb.png,2",
}
UNUSUAL = {
    "blank_line.csv": "file,lat\na.png,1\n\nb.png,2\n",  # row numbers skip the blank line
    "short_row.csv": "file,lat,lon\na.png,1\nb.png,2,3\n",  # padded with ""
    "trailing_empty.csv": "file,lat\na.png,1,\nb.png,2,,\n",  # empty extras dropped
    "newline_in_value.csv": 'file,note\na.png,"two\nlines"\nb.png,x\n',
}


def _python_path(path, skip_type_line):
    data = path.read_bytes()
    return read_text_table(
        decode_text(data, path.name), path.name, suffix=path.suffix, skip_type_line=skip_type_line
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a[ROW_COL].tolist() == b[ROW_COL].tolist()
    for c in a.columns:
        assert a[c].tolist() == b[c].tolist(), c


@pytest.mark.parametrize("name", sorted(CLEAN))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_clean_table_takes_the_arrow_path_and_reads_as_the_python_parser_does(
    tmp_path, name, encoding
):
    text = CLEAN[name].replace("a.png", "é.png")
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    skip = name.endswith(".tsv")
    fast = _read_arrow(path.read_bytes(), name, path.suffix, skip)
    assert fast is not None, "a well-formed table must not need the slow parser"
    _same(read_table(path, name=name, skip_type_line=skip), _python_path(path, skip))
    assert fast[ROW_COL].iloc[0] == (3 if skip else 2)
    if "a.png" in CLEAN[name]:
        assert "é.png" in fast.iloc[:, 0].tolist()


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_an_unusual_table_falls_back_and_keeps_row_numbers_as_a_person_counts(tmp_path, name):
    path = tmp_path / name
    path.write_text(UNUSUAL[name], encoding="utf-8")
    assert _read_arrow(path.read_bytes(), name, path.suffix, False) is None
    rows = read_table(path, name=name)
    _same(rows, _python_path(path, False))
    if name == "blank_line.csv":
        assert rows[ROW_COL].tolist() == [2, 4]
    if name == "short_row.csv":
        assert rows["lon"].tolist() == ["", "3"]
    assert set(rows[TABLE_COL]) == {name}


def test_extra_values_still_name_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("file,lat\na.png,1\nb.png,2,oops\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.csv, row 3: 3 values but 2 column names"):
        read_table(path, name="bad.csv")


def test_a_large_table_costs_no_python_string_per_value(tmp_path):
    path = tmp_path / "meta.csv"
    n = 50_000
    with path.open("w", encoding="utf-8") as fh:
        fh.write("file,date,time,lat,lon,depth,pixel_um,label\n")
        for i in range(n):
            fh.write(
                f"img_{i:06d}.png,2024-05-{1 + i % 28:02d},12:00:00,43.1,7.3,{i % 200},12.5,cop\n"
            )
    tracemalloc.start()
    try:
        rows = read_table(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == n and rows["file"].iloc[-1] == f"img_{n - 1:06d}.png"
    # Python objects for 8 columns x 50,000 values would be > 20 MB (the old parser: ~45 MB);
    # Arrow's buffers are outside tracemalloc: Python holds the file's bytes and a few arrays.
    size = path.stat().st_size
    assert peak < 1.2 * size + 2**20, f"{peak / 2**20:.1f} MiB of Python objects while reading"

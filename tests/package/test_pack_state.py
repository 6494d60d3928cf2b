"""The resume state of a package being written: typed records (package -> shards -> files) whose
shards go open -> closing -> closed and never back, written to state.json in the layout earlier
versions wrote, so a package they left half-written still resumes."""

from __future__ import annotations

import json

import pytest
from pkgtools import MAPS, content, plankton_dataset

from aqqua_packer.package import layout
from aqqua_packer.package.pack_state import (
    CLOSED,
    CLOSING,
    OPEN,
    FileRecord,
    PackState,
    ShardRecord,
    StateError,
)
from aqqua_packer.package.verify import verify_package
from aqqua_packer.package.write import PackOptions
from aqqua_packer.progress import Cancelled, Task
from aqqua_packer.workflow import Request, pack

# state.json as the writer before the typed records wrote it (json.dumps(dict, indent=1)): one
# shard closed, one closing (a crash came between the Parquet files and hashing data.mdb).
LEGACY_STATE = {
    "format": 1,
    "fingerprint": "ab" * 32,
    "package_number": 1342550549513,
    "image_set_uuid": "9d20ac02-74d9-4753-aad2-0dbe49e9f4e8",
    "prefix": "cruise-m106",
    "created": "2026-11-23T11:12:07Z",
    "shards": [
        {
            "index": 0,
            "id": 5499087050805248,
            "status": "closed",
            "first": 0,
            "next": 12,
            "count": 11,
            "skipped": [[4, "cannot decode"]],
            "channels": [["grey"]],
            "files": {
                "cruise-m106-meta-5499087050805248.parquet": ["11" * 32, 5000],
                "cruise-m106-raw-5499087050805248.parquet": ["22" * 32, 4000],
                "cruise-m106-images-5499087050805248.lmdb/data.mdb": ["33" * 32, 90000],
            },
        },
        {
            "index": 1,
            "id": 5499087050805249,
            "status": "closing",
            "first": 12,
            "next": 20,
            "count": 8,
            "skipped": [],
            "channels": [["grey"], ["red", "green", "blue"]],
            "files": {
                "cruise-m106-meta-5499087050805249.parquet": ["44" * 32, 3000],
                "cruise-m106-raw-5499087050805249.parquet": ["55" * 32, 2000],
            },
        },
    ],
}


def _open_shard(index: int = 0, first: int = 0) -> ShardRecord:
    return ShardRecord.opened(index, layout.shard_id(2**40, index), first)


# --- transitions --------------------------------------------------------------------------------
def test_a_shard_goes_open_then_closing_then_closed():
    rec = _open_shard()
    assert rec.status == OPEN
    rec.add(0, 5000, ["grey"])
    rec.skip(1, "cannot decode")
    rec.add(2, 7000, ["red", "green", "blue"])
    assert (rec.next, rec.count, rec.skipped) == (3, 2, [(1, "cannot decode")])
    assert rec.channels == [["grey"], ["red", "green", "blue"]]
    rec.begin_close({"m.parquet": FileRecord("aa" * 32, 10)})
    assert rec.status == CLOSING
    rec.finish_close(("x.lmdb/data.mdb", FileRecord("bb" * 32, 90)))
    assert rec.status == CLOSED
    assert rec.files == {
        "m.parquet": FileRecord("aa" * 32, 10),
        "x.lmdb/data.mdb": FileRecord("bb" * 32, 90),
    }
    assert rec.bytes == 100


def test_a_shard_never_goes_back_or_skips_a_state():
    rec = _open_shard()
    with pytest.raises(StateError, match="finish closing shard 0: it is open"):
        rec.finish_close(None)
    rec.begin_close({})
    for step in (
        lambda: rec.add(0, 1, ["grey"]),
        lambda: rec.skip(0, "x"),
        lambda: rec.begin_close({}),
    ):
        with pytest.raises(StateError, match="it is closing"):
            step()
    rec.finish_close(None)
    with pytest.raises(StateError, match="it is closed"):
        rec.finish_close(None)


def test_an_open_shard_is_never_written_to_state_json():
    state = PackState.new("f" * 64, 2**40, "p")
    with pytest.raises(StateError, match="open"):
        state.record(_open_shard())
    assert state.shards == []


def test_an_open_shard_resumes_from_the_progress_its_last_commit_recorded():
    rec = _open_shard(index=2, first=40)
    assert (rec.next, rec.count) == (40, 0)  # a new shard starts at its first item
    rec.add(40, 5000, ["grey"])
    rec.add(41, 5000, ["grey"])
    again = ShardRecord.opened(2, rec.id, 40, json.loads(json.dumps(rec.progress_json())), [])
    assert (again.next, again.count, again.est, again.channels) == (42, 2, rec.est, [["grey"]])


def test_the_package_record_keeps_its_shards_in_index_order_and_replaces_by_index():
    state = PackState.new("f" * 64, 2**40, "p")
    for index in (1, 0):
        rec = _open_shard(index, first=10 * index)
        rec.add(10 * index, 100, ["grey"])
        rec.begin_close({})
        state.record(rec)
    assert [s.index for s in state.shards] == [0, 1]
    assert [s.index for s in state.closing()] == [0, 1]
    state.shards[1].finish_close(None)
    state.record(state.shards[1])
    assert [s.index for s in state.closing()] == [0]
    assert (state.next_index, state.next_position, state.images) == (2, 11, 2)


# --- state.json ---------------------------------------------------------------------------------
def test_state_json_of_an_earlier_version_reads_as_typed_records_and_writes_back_the_same():
    text = json.dumps(LEGACY_STATE, indent=1)
    state = PackState.from_json(text)
    assert state.package_number == 1342550549513 and state.prefix == "cruise-m106"
    closed, closing = state.shards
    assert (closed.status, closing.status) == (CLOSED, CLOSING)
    assert closed.skipped == [(4, "cannot decode")]
    assert closed.files["cruise-m106-images-5499087050805248.lmdb/data.mdb"] == FileRecord(
        "33" * 32, 90000
    )
    assert state.closing() == [closing]
    assert state.file_digests()["cruise-m106-raw-5499087050805249.parquet"] == "55" * 32
    assert state.to_json().decode() == text  # byte for byte what the earlier writer wrote


def test_keys_a_later_version_adds_to_state_json_are_kept():
    d = {**LEGACY_STATE, "acceptance": {"by": "someone"}}
    state = PackState.from_json(json.dumps(d))
    assert json.loads(state.to_json())["acceptance"] == {"by": "someone"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("fingerprint"),
        lambda d: d["shards"][0].update(status="open"),
        lambda d: d["shards"][0]["files"].update(x=["aa"]),
    ],
)
def test_a_state_file_that_does_not_read_is_named_as_such(damage):
    d = json.loads(json.dumps(LEGACY_STATE))
    damage(d)
    with pytest.raises(StateError):
        PackState.from_json(json.dumps(d))


# --- a half-written package of the previous version resumes -----------------------------------
OPTS = dict(workers=1, shard_bytes=150 * 1024, commit_every=3, package_number=2**40 + 7)


def test_a_package_half_written_with_the_previous_state_format_resumes_to_the_same_package(
    tmp_path,
):
    src = plankton_dataset(tmp_path / "src", 30, seed=8)
    request = Request([src], maps=MAPS)
    ref = tmp_path / "ref"
    pack(request, ref, options=PackOptions(**OPTS))

    out = tmp_path / "pkg"

    def on_event(ev):
        if ev.phase == "pack" and ev.done >= 24:
            task.cancel()

    task = Task(on_event=on_event, min_interval=0)
    with pytest.raises(Cancelled):
        pack(request, out, options=PackOptions(**OPTS), task=task)
    state_path = out / layout.STATE_DIR / "state.json"
    d = json.loads(state_path.read_text())
    assert len(d["shards"]) >= 2, "the test needs two closed shards"
    assert set(d) == set(LEGACY_STATE)
    assert all(set(s) == set(LEGACY_STATE["shards"][0]) for s in d["shards"])
    # as the previous version left it when killed between "closing" and "closed": the last
    # shard's data.mdb not hashed yet
    last = d["shards"][-1]
    last["status"] = "closing"
    del last["files"][f"{layout.images_dir(d['prefix'], last['id'])}/data.mdb"]
    state_path.write_bytes(json.dumps(d, indent=1).encode())

    result = pack(request, out, options=PackOptions(**OPTS))
    assert result.resumed
    assert content(out) == content(ref)
    assert verify_package(out).ok

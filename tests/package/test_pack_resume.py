"""A pack that is killed, cancelled or loses power continues where it stopped, and the result is
the package an uninterrupted run writes: same shards, uuids, pixels and rows."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time

import pytest
from pkgtools import MAPS, cli, content, map_args, pack_cmd, plankton_dataset

from aqqua_packer import open_package
from aqqua_packer.package import layout
from aqqua_packer.package.write import PackOptions
from aqqua_packer.progress import Cancelled, Task
from aqqua_packer.workflow import Request, pack

# Small shards and small transactions, so kills land in every phase: scanning, packing, closing a
# shard, writing the manifest.
OPTS = ("--shard-size", "600K", "--commit-every", "7", "--workers", "2")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return plankton_dataset(tmp_path_factory.mktemp("src"), 100, seed=5)


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "pkg"
    t0 = time.monotonic()
    r = subprocess.run(pack_cmd(dataset, out, *OPTS), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out, time.monotonic() - t0


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun_gives_the_uninterrupted_package(
    dataset, reference, tmp_path
):
    ref, seconds = reference
    seed = int(os.environ.get("AQQUA_KILL_SEED", time.time()))
    rng = random.Random(seed)
    out = tmp_path / "pkg"
    kills, while_packing, runs = 0, 0, 0
    # At least six kills, at least three of them once packing has begun (the rest may land in
    # start-up and scanning, which must be harmless too).
    while kills < 6 or while_packing < 3:
        runs += 1
        assert runs < 60, f"could not kill often enough (seed {seed})"
        proc = subprocess.Popen(
            pack_cmd(dataset, out, *OPTS), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0.05, seconds * 0.8))
        if proc.poll() is None:
            packing = (out / layout.STATE_DIR / "state.json").exists()
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            while_packing += packing
        else:
            proc.wait()
            assert proc.returncode == 0, proc.stderr.read()
            # finished before we got our kills in: start over, counting afresh
            shutil.rmtree(out)
            kills = while_packing = 0
    r = subprocess.run(pack_cmd(dataset, out, *OPTS), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"seed {seed}: {r.stderr}"
    assert not (out / layout.STATE_DIR).exists()
    assert content(out) == content(ref), f"seed {seed}"
    v = cli("verify", str(out), "--json")
    assert v.returncode == 0, v.stdout


def test_cancel_stops_promptly_and_the_next_run_continues_to_the_same_package(
    dataset, reference, tmp_path
):
    ref, _ = reference
    out = tmp_path / "pkg"
    events = []

    def on_event(ev):
        events.append(ev)
        if ev.phase == "pack" and ev.done >= 30:
            task.cancel()

    task = Task(on_event=on_event, min_interval=0)
    request = Request([dataset], maps=MAPS)
    opts = PackOptions(workers=2, shard_bytes=600 * 1024, commit_every=7)
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        pack(request, out, options=opts, task=task)
    assert time.monotonic() - t0 < 30
    stopped_at = max(e.done for e in events if e.phase == "pack")
    assert stopped_at < 100
    assert not (out / layout.MANIFEST).exists()
    resumed = Task(min_interval=0)
    seen = []
    resumed.on_event = seen.append
    result = pack(request, out, options=opts, task=resumed)
    assert result.resumed
    first_pack = next(e for e in seen if e.phase == "pack")
    assert first_pack.done >= 28  # continued, not restarted (the last transaction may be redone)
    assert content(out) == content(ref)


def test_rerun_of_a_complete_package_does_nothing(dataset, reference):
    ref, _ = reference
    before = content(ref)
    r = cli("pack", str(dataset), "--out", str(ref), "-q", *map_args(), *OPTS)
    assert r.returncode == 0, r.stderr
    assert "already complete" in r.stdout
    assert content(ref) == before


def test_a_package_is_not_continued_with_other_input(dataset, tmp_path):
    out = tmp_path / "pkg"
    task = Task(min_interval=0)
    task.on_event = lambda ev: task.cancel() if ev.phase == "pack" and ev.done >= 10 else None
    with pytest.raises(Cancelled):
        pack(
            Request([dataset], maps=MAPS),
            out,
            options=PackOptions(workers=1, commit_every=3),
            task=task,
        )
    before = _files(out)
    assert any(name.endswith("data.mdb") and size for name, (size, _) in before.items())
    other = [m if not m.startswith("pixel_size") else "pixel_size=depth" for m in MAPS]
    r = cli("pack", str(dataset), "--out", str(out), "-q", *map_args(other))
    assert r.returncode == 2
    assert "unfinished package of other images" in r.stderr
    assert _files(out) == before  # what was packed is still there, untouched
    # and the run that started it continues from it (not from the start) to the whole package
    seen: list = []
    result = pack(
        Request([dataset], maps=MAPS),
        out,
        options=PackOptions(workers=1, commit_every=3),
        task=Task(on_event=seen.append, min_interval=0),
    )
    assert result.resumed and result.images == 100
    assert next(e for e in seen if e.phase == "pack").done >= 9
    assert len(open_package(out)) == 100


def _files(folder) -> dict[str, tuple[int, str]]:
    """Every file of a package folder (the lock aside): size and sha256."""
    import hashlib

    return {
        p.relative_to(folder).as_posix(): (
            p.stat().st_size,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "lock"
    }

"""Benchmark: upload throughput of a package over SFTP against OpenSSH's `sftp` and `scp` on the
same loopback sshd in the same run, and the cost of an interruption and resume.

    python tests/bench/bench_send.py [--mb 1000] [--runs 1]

Needs root (it starts sshd with a test user, like the transfer tests).  Prints MB/s and ratios;
the target is aqqua-packer >= 0.6x of `sftp`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aqqua_packer.progress import Cancelled, Task  # noqa: E402
from aqqua_packer.transfer import SendOptions, plan, send_package  # noqa: E402
from tests.transfer.conftest import make_package  # noqa: E402
from tests.transfer.servers import TEST_USER, SSHServer, user_dir  # noqa: E402


def fresh(base: Path, name: str) -> Path:
    d = base / name
    if d.exists():
        shutil.rmtree(d)
    return user_dir(base, name)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1000, help="package size in MB (default 1000)")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aqqua-bench-send-", dir="/tmp"))
    os.chmod(work, 0o755)
    os.environ["AQQUA_PACKER_HOME"] = str(work / "home")
    try:
        total = args.mb * 1_000_000
        n_big = 4
        sizes = {
            f"bench-images-{i:03d}.lmdb/data.mdb": total // n_big - 200_000 for i in range(n_big)
        }
        sizes |= {
            "image-set.toml": 1000,
            "bench-meta-000.parquet": 400_000,
            "bench-raw-000.parquet": 399_000,
        }
        print(f"making a {args.mb} MB package …", flush=True)
        pkg = make_package(work / "pkg", sizes, name="bench")
        nbytes = sum(p.stat().st_size for p in pkg.rglob("*") if p.is_file())
        server = SSHServer(work / "sshd").start()
        known = work / "known_hosts"
        known.write_text(server.host_key_line())
        ssh_opts = [
            "-i",
            str(server.client_key),
            "-o",
            f"UserKnownHostsFile={known}",
            "-o",
            "BatchMode=yes",
        ]
        results: dict[str, list[float]] = {}

        def run_sftp() -> None:
            dest = fresh(work, "sftp-dest")
            batch = work / "batch"
            batch.write_text(f"put -r {pkg} {dest}/\n")
            subprocess.run(
                [
                    "sftp",
                    "-q",
                    "-b",
                    str(batch),
                    "-P",
                    str(server.port),
                    *ssh_opts,
                    f"{TEST_USER}@127.0.0.1",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )

        def run_scp() -> None:
            dest = fresh(work, "scp-dest")
            subprocess.run(
                [
                    "scp",
                    "-q",
                    "-r",
                    "-P",
                    str(server.port),
                    *ssh_opts,
                    str(pkg),
                    f"{TEST_USER}@127.0.0.1:{dest}/",
                ],
                check=True,
            )

        def ours(verify: str):
            def run() -> None:
                dest = fresh(work, f"ours-{verify}")
                shutil.rmtree(work / "home", ignore_errors=True)
                r = send_package(
                    pkg,
                    server.url(str(dest)),
                    SendOptions(identity=server.client_key, known_hosts=known, verify=verify),
                )
                assert r.complete

            return run

        for _ in range(args.runs):
            for name, fn in (
                ("openssh sftp", run_sftp),
                ("openssh scp", run_scp),
                ("aqqua-packer (size check)", ours("size")),
                ("aqqua-packer (sha256 at server)", ours("auto")),
            ):
                results.setdefault(name, []).append(timed(fn))
                print(f"  {name:34s} {nbytes / results[name][-1] / 1e6:7.1f} MB/s", flush=True)

        # resume: cancel at half, resume; compare with one uninterrupted run (size check, no hashing)
        dest = fresh(work, "resume")
        shutil.rmtree(work / "home", ignore_errors=True)
        opts = SendOptions(identity=server.client_key, known_hosts=known, verify="size")
        task = Task(on_event=lambda ev: ev.bytes_done > nbytes // 2 and task.cancel())
        t0 = time.perf_counter()
        try:
            send_package(pkg, server.url(str(dest)), opts, task)
        except Cancelled:
            pass
        first = time.perf_counter() - t0
        had = plan(pkg, server.url(str(dest))).bytes_arrived
        t1 = time.perf_counter()
        r = send_package(pkg, server.url(str(dest)), opts)
        second = time.perf_counter() - t1
        server.stop()

        best = {k: min(v) for k, v in results.items()}
        mbs = {k: nbytes / v / 1e6 for k, v in best.items()}
        print(
            f"\npackage: {nbytes / 1e6:.0f} MB in {len(sizes) + 1} files; best of {args.runs} run(s); loopback, same sshd"
        )
        for k in best:
            print(
                f"  {k:34s} {best[k]:6.2f} s  {mbs[k]:7.1f} MB/s  = {mbs[k] / mbs['openssh sftp']:.2f}x sftp, {mbs[k] / mbs['openssh scp']:.2f}x scp"
            )
        plain = best["aqqua-packer (size check)"]
        resent = r.bytes_sent + 0  # the second run's payload
        print(
            f"  resume: interrupted run {first:.2f} s + resumed run {second:.2f} s = {first + second:.2f} s "
            f"vs {plain:.2f} s uninterrupted ({(first + second) / plain - 1:+.1%}); "
            f"the journal had {had / 1e6:.1f} MB confirmed; the resumed run sent {resent / 1e6:.1f} MB "
            f"(total {had / 1e6 + resent / 1e6:.1f} MB of {nbytes / 1e6:.1f} MB)"
        )
        target = mbs["aqqua-packer (size check)"] / mbs["openssh sftp"]
        print(f"\ntarget >= 0.6x of sftp: {'MET' if target >= 0.6 else 'NOT MET'} ({target:.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

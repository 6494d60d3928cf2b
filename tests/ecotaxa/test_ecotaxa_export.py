"""`aqqua-packer ecotaxa export ID --out DIR` against the stand-in EcoTaxa server: the job is
polled with its trailing slash, the file is fetched only once the job is finished (before that the
back-end answers 500), a download the server cuts midway resumes with `Range: bytes=N-`, and the
zip packs and verifies like any EcoTaxa export."""

from __future__ import annotations

import hashlib

import pytest
from conftest import BOB

from aqqua_packer.cli import main
from aqqua_packer.package.read import open_package


def test_export_resumes_an_interrupted_download_then_packs_and_verifies(
    ecotaxa, alice_env, capsys, tmp_path
):
    served = ecotaxa.state.export_zips[104]
    ecotaxa.state.drop_download_after = len(served) // 3  # the connection drops a third of the way
    ecotaxa.state.job_polls = 3
    out = tmp_path / "dl"
    code = main(
        ["ecotaxa", "export", "104", "--out", str(out), "--server", ecotaxa.url, "--poll", "0.01"]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert f"resumed at byte {len(served) // 3}" in text and "with 5 images" in text
    [zip_path] = out.glob("*.zip")
    assert zip_path.name == "export__TSV_104_20260627_1012.zip"
    assert hashlib.sha256(zip_path.read_bytes()).digest() == hashlib.sha256(served).digest()
    paths = [p for m, p in ecotaxa.state.requests if m == "GET" and p.startswith("/jobs/")]
    assert paths[:3] == ["/jobs/41/"] * 3 and paths[3:] == ["/jobs/41/file"] * 2
    assert not list(out.glob("*.part")) and not list(out.glob(".ecotaxa-export-*"))

    pkg = tmp_path / "pkg"
    # the served m106 rows: one off Tasmania at the instant the others are off Cape Verde
    assert (
        main(["pack", str(out), "--out", str(pkg), "--workers", "1", "--accept", "ship_speed"]) == 0
    )
    assert main(["verify", str(pkg)]) == 0
    with open_package(pkg) as p:
        assert len(p) == 5
        assert p.meta["image-pixel-size-micrometers"].eq(10.6).all()


def test_export_without_manage_is_explained(ecotaxa, capsys, monkeypatch):

    monkeypatch.setenv("AQQUA_ECOTAXA_PASSWORD", "carolpw")
    code = main(
        [
            "ecotaxa",
            "export",
            "104",
            "--out",
            "x",
            "--server",
            ecotaxa.url,
            "--user",
            "carol@lab.org",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "EcoTaxa refuses to export project 104 “ZooScan m106” with its images: that needs Manage"
        in err
    )
    assert "you have Annotate rights" in err and "Alice Martin <alice@lab.org>" in err
    assert BOB not in ecotaxa.state.privileges[104]


def test_an_export_broken_off_in_one_run_continues_in_the_next(
    ecotaxa, alice_env, capsys, tmp_path
):
    from aqqua_packer.ecotaxa.client import EcoTaxaError
    from aqqua_packer.ecotaxa.export import download, start_or_resume_job, wait_for_job
    from aqqua_packer.ecotaxa.login import connect
    from aqqua_packer.progress import Task

    served = ecotaxa.state.export_zips[104]
    out = tmp_path / "dl"
    client = connect(ecotaxa.url, "alice@lab.org")
    job = start_or_resume_job(client, 104, out)
    wait_for_job(client, job, Task(), poll_seconds=0.01)
    ecotaxa.state.drop_download_after = 5000
    with pytest.raises(EcoTaxaError, match="run the same command again"):
        download(client, job, out, 104, Task(), attempts=1)  # the first run gives up
    assert (out / "export__TSV_104_20260627_1012.zip.part").stat().st_size == 5000

    code = main(
        ["ecotaxa", "export", "104", "--out", str(out), "--server", ecotaxa.url, "--poll", "0.01"]
    )
    assert code == 0, capsys.readouterr()
    assert "resumed at byte 5000" in capsys.readouterr().out
    assert [m for m, p in ecotaxa.changing_requests()] == ["POST"]  # one export job, not two
    assert (out / "export__TSV_104_20260627_1012.zip").read_bytes() == served

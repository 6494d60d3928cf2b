"""The command line as a lab member meets it first (issue 14): who is contributing, mistyped
addresses and impossible folders named for what they are, a package size before packing, and a
--help that says what each command does with an example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aqqua_packer.cli import main
from aqqua_packer.problems import Problem
from aqqua_packer.resources import sample_data_dir

ROOT = Path(__file__).resolve().parent.parent
MAPS = [
    "image=image_file",
    "datetime=date_time_utc",
    "latitude=latitude",
    "longitude=longitude",
    "depth=depth_m",
    "pixel_size=pixel_size_um",
]


def _pack_args(out: Path, *extra: str) -> list[str]:
    maps = [a for m in MAPS for a in ("--map", m)]
    return [
        "pack",
        str(sample_data_dir()),
        "--out",
        str(out),
        "-q",
        "--skip-incomplete",
        *maps,
        *extra,
    ]


def _image_set(out: Path) -> str:
    return (out / "image-set.toml").read_text(encoding="utf-8")


def test_pack_takes_contributor_email_institution_name_and_licence(tmp_path, capsys):
    args = ["--contributor", "Ann Lee", "--email", "ann@example.org", "--institution", "IMEV"]
    args += ["--name", "Cruise 42", "--licence", "CC0-1.0"]
    assert main(_pack_args(tmp_path / "p", *args)) == 0
    toml = _image_set(tmp_path / "p")
    assert "Ann Lee" in toml and "ann@example.org" in toml and "IMEV" in toml
    assert "Cruise 42" in toml and "CC0-1.0" in toml
    assert "warning" not in capsys.readouterr().err


def test_pack_without_identity_uses_the_one_the_wizard_remembered_and_says_so(
    tmp_path, capsys, _scratch_home
):
    about = {"contributor": "Ann Lee", "email": "ann@example.org", "institution": "IMEV"}
    about |= {"coauthors": ["Bo Chen"], "licence": "CC0-1.0"}
    (_scratch_home / "settings.json").write_text(json.dumps({"about": about}), encoding="utf-8")
    assert main(_pack_args(tmp_path / "p", "--name", "Cruise 42")) == 0
    err = capsys.readouterr().err
    assert "remembered from the desktop wizard" in err and "Ann Lee" in err
    toml = _image_set(tmp_path / "p")
    assert "Ann Lee" in toml and "ann@example.org" in toml and "CC0-1.0" in toml
    assert "Bo Chen" in toml


def test_pack_without_any_identity_warns_once_and_writes_what_it_has(tmp_path, capsys):
    assert main(_pack_args(tmp_path / "p")) == 0
    err = capsys.readouterr().err
    assert err.count("warning") == 1
    assert "--contributor" in err and "--email" in err and "--name" in err
    assert (tmp_path / "p" / "manifest.sha256").exists()


def test_check_json_gives_the_estimated_package_bytes_and_the_text_says_why(capsys):
    maps = [a for m in MAPS for a in ("--map", m)]
    main(["check", str(sample_data_dir()), "-q", "--json", *maps])
    d = json.loads(capsys.readouterr().out)
    assert d["estimated_package_bytes"] > 100_000
    main(["check", str(sample_data_dir()), "-q", *maps])
    out = capsys.readouterr().out
    assert "The package will take about" in out and "decoded pixels" in out


def test_a_send_address_missing_its_colon_is_questioned_not_taken_as_a_folder(tmp_path, capsys):
    assert main(_pack_args(tmp_path / "p", "--name", "x")) == 0
    capsys.readouterr()
    code = main(["send", str(tmp_path / "p"), "sftp//upload.example.org/incoming"])
    err = capsys.readouterr().err
    assert code != 0
    assert "Did you mean sftp://upload.example.org/incoming" in err
    assert "plugged in" not in err


def test_pack_into_a_system_folder_says_it_cannot_be_written_not_that_the_disk_is_full(
    tmp_path, capsys
):
    if not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    assert main(_pack_args(Path("/proc/aqqua-x"))) != 0
    err = capsys.readouterr().err
    assert "full" not in err and "does not allow new folders" in err


def test_pack_below_a_file_says_a_file_is_in_the_way(tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    assert main(_pack_args(tmp_path / "a-file" / "x")) != 0
    err = capsys.readouterr().err
    assert "a file is in the way" in err and "run the same command again" not in err


def test_verify_on_source_data_says_it_is_not_a_package_yet(shared_fixtures, capsys):
    assert main(["verify", str(shared_fixtures / "uvp6"), "-q"]) == 1
    out = capsys.readouterr().out
    assert "this is not an AqQua package" in out and "uvp6" in out and "Pack it first" in out
    assert "not finished" not in out


def test_a_problem_without_a_file_does_not_start_with_a_comma():
    p = Problem("implausible", "check the unit", field="pixel_size", value="10")
    assert str(p) == "field pixel_size, value '10': check the unit"


def test_gui_without_a_screen_says_so_in_one_line_and_exits_non_zero():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run(
        [sys.executable, "-m", "aqqua_packer", "gui"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for Linux sessions without a screen")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "needs a screen" in r.stderr
    assert "Reinstalling" not in r.stderr


@pytest.mark.parametrize(
    "command", ["scan", "check", "pack", "verify", "info", "send", "gui", "demo", "inventory"]
)
def test_every_command_help_has_a_description_and_an_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "example:" in text and f"aqqua-packer {command}" in text.split("example:")[1]
    usage_end = text.index("\n\n")
    assert len(text[usage_end:].split("positional arguments")[0].strip()) > 40  # a description
    if "positional arguments:" in text:
        section = text.split("positional arguments:")[1].split("options:")[0].splitlines()
        for i, ln in enumerate(section):
            for name in ("SRC", "DIR", "PACKAGE"):
                if ln.strip().startswith(name):
                    said = ln.strip()[len(name) :].replace("[SRC ...]", "").strip()
                    said = said or (section[i + 1].strip() if i + 1 < len(section) else "")
                    assert len(said) > 10, ln  # SRC, DIR and PACKAGE are described
    for opt in ("--json", "--retries"):
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(opt)), None)
        if line is not None:
            assert len(line.strip()) > len(opt) + 20, line


def test_pack_says_when_local_times_are_taken_as_utc(shared_fixtures, tmp_path, capsys):
    sets = ["latitude=1", "longitude=2", "altitude=0"]
    args = [a for s in sets for a in ("--set", s)] + ["--name", "f", "-q"]
    args += ["--contributor", "Ann Lee", "--email", "ann@example.org"]
    args += ["--accept", "sources_disagree"]  # the run's name says 2017, its list 2019 (real)
    src = str(shared_fixtures / "flowcam")
    assert main(["pack", src, "--out", str(tmp_path / "a"), *args]) == 0
    assert "taken as UTC" in capsys.readouterr().err
    assert main(["pack", src, "--out", str(tmp_path / "b"), *args, "--set", "timezone=UTC"]) == 0
    assert "taken as UTC" not in capsys.readouterr().err

"""The wizard driven like a user drives it, on the bundled sample data and on real instrument
files: pages advance only when valid, counts follow the mapping, cancel stops, resume continues,
and the package written through the GUI is the one the CLI writes."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from aqqua_packer.cli import main as cli_main
from aqqua_packer.gui.project import Project, Settings, project_path
from aqqua_packer.mapping import FieldSpec
from aqqua_packer.package.read import open_package
from aqqua_packer.resources import sample_data_dir

from .conftest import (
    SAMPLE_CLI_MAPS,
    SAMPLE_MAPPING,
    apply_mapping,
    fill_about,
    wait_checked,
    wait_scanned,
)


def _to_map_page(qtbot, w, sources) -> None:
    fill_about(w)
    assert w.wizard.next()
    w.add_sources(sources)
    wait_scanned(qtbot, w)
    assert w.wizard.next(), w.wizard.current.blocker()
    wait_checked(qtbot, w)


def _pack_through_gui(qtbot, w, out: Path, timeout: int = 120000):
    w.pages.pack.out.setText(str(out))
    with qtbot.waitSignal(w.pack_finished, timeout=timeout) as sig:
        w.pages.pack.start_btn.click()
    return sig.args[0]


def _cli_pack(src: Path, out: Path, *args: str) -> int:
    """``aqqua-packer pack`` with the dataset answers ``fill_about`` gives the wizard."""
    about = ["--name", "Test dataset", "--contributor", "Ada Lovelace"]
    about += ["--email", "ada@example.org", "--institution", "Analytical Engines Ltd"]
    return cli_main(["pack", str(src), "--out", str(out), *args, *about])


def package_content(path: Path) -> dict:
    """What a package says, without what is random per run (uuids, package number, dates)."""
    pkg = open_package(path)
    volatile = {"image-uuid", "shard-id", "image-lmdb-key", "image-set-uuid"}
    images = {}
    for arr, meta in pkg:
        name = meta["image-filename"]
        keep = {k: str(v) for k, v in meta.items() if k not in volatile and "uuid" not in k}
        images[name] = (arr.dtype.str, arr.shape, hashlib.sha256(arr.tobytes()).hexdigest(), keep)
    raw = pkg.raw.drop(columns=[c for c in pkg.raw.columns if "uuid" in c], errors="ignore")
    raw = raw.sort_values(list(raw.columns)).reset_index(drop=True)
    return {"images": images, "raw": raw.astype(str).to_dict("list")}


# --- page by page ---------------------------------------------------------------------------
def test_about_page_keeps_next_off_until_name_email_and_dataset_name_are_given(window):
    w = window
    about = w.pages.about
    assert w.wizard.index == 0
    assert not w.wizard.next_btn.isEnabled()
    assert not w.wizard.next()
    about.contributor.setText("Ada Lovelace")
    about.email.setText("not an address")
    assert "e-mail" in w.wizard.reason.text()
    about.email.setText("ada@example.org")
    assert not w.wizard.next_btn.isEnabled()
    about.name.setText("Sample")
    assert w.wizard.next_btn.isEnabled()
    about.interp.setChecked(True)
    about.volume.setText("-2")
    assert not w.wizard.next_btn.isEnabled()
    about.volume.setText("0.5")
    assert w.wizard.next()
    assert w.wizard.index == 1


def test_about_answers_are_remembered_for_the_next_dataset(qtbot, window):
    fill_about(window)
    window.wizard.next()
    from aqqua_packer.gui.main_window import MainWindow

    w2 = MainWindow(offer_continue=False)
    qtbot.addWidget(w2)
    assert w2.pages.about.contributor.text() == "Ada Lovelace"
    assert w2.pages.about.email.text() == "ada@example.org"
    assert w2.pages.about.name.text() == ""  # a new dataset gets a new name


def test_sources_page_scans_the_sample_data_in_the_background_and_shows_what_it_found(
    qtbot, window
):
    w = window
    fill_about(w)
    w.wizard.next()
    assert "Add at least one" in w.wizard.reason.text()
    w.add_sources([sample_data_dir()])
    assert w.pages.sources.busy()  # returned at once; the scan runs in a worker
    wait_scanned(qtbot, w)
    top = w.pages.sources.tree.topLevelItem(0)
    assert top.text(2) == "40"
    assert top.text(3) == "1"  # metadata.csv
    assert w.wizard.next_btn.isEnabled()


def test_a_source_that_does_not_exist_is_reported_and_blocks_next(qtbot, window, tmp_path):
    w = window
    fill_about(w)
    w.wizard.next()
    w.add_sources([tmp_path / "no-such-folder"])
    wait_scanned(qtbot, w)
    top = w.pages.sources.tree.topLevelItem(0)
    assert "no such file" in top.text(5)
    assert not w.wizard.next_btn.isEnabled()


def test_map_page_advances_only_when_every_required_field_has_a_source(qtbot, window):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    assert w.wizard.next_btn.isEnabled()
    w.pages.mapping.set_field("pixel_size", None)
    w.pages.mapping.set_field("datetime", None)
    wait_checked(qtbot, w)
    eff = w.pages.mapping.effective().fields
    # a field the user cleared stays cleared (no reader or matcher suggests it back), so the page
    # names what is missing and does not advance
    assert "datetime" not in eff and "pixel_size" not in eff
    assert "Date and time" in w.pages.mapping.blocker()
    assert not w.wizard.next()
    assert not w.wizard.next_btn.isEnabled()


def test_a_bad_mapping_shows_its_count_of_invalid_images(qtbot, window):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    good = w.pages.mapping.counts()["latitude"]
    assert good.invalid == 0 and good.ready == 38  # one empty latitude, one image without a row
    # latitude taken from the taxon column: names, not coordinates
    w.pages.mapping.set_field("latitude", FieldSpec(column="taxon"))
    wait_checked(qtbot, w)
    bad = w.pages.mapping.counts()["latitude"]
    assert bad.invalid == 39 and bad.ready == 0
    assert "39 invalid" in w.pages.mapping.rows["latitude"].counts.text()
    assert "0 of 40 images ready" in w.pages.mapping.summary.text()
    assert not w.wizard.next_btn.isEnabled()


def test_preview_needs_a_choice_when_some_images_are_not_ready_and_exports_the_report(
    qtbot, window, tmp_path
):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    assert w.wizard.next()
    prev = w.pages.preview
    assert "37 of 40 images ready" in prev.counts_label.text()
    assert not w.wizard.next_btn.isEnabled()
    # the table filters by field and by text, and sorts by row number
    n_all = prev.visible_problem_count()
    prev.field_filter.setCurrentIndex(prev.field_filter.findData("datetime"))
    assert 0 < prev.visible_problem_count() < n_all
    prev.field_filter.setCurrentIndex(0)
    prev.search.setText("2095")
    assert prev.visible_problem_count() == 1
    prev.search.setText("")
    prev.export(tmp_path / "gaps.csv")
    rows = list(csv.DictReader(open(tmp_path / "gaps.csv", encoding="utf-8")))
    assert {r["value"] for r in rows} >= {"2095-06-12T09:00:00Z"}
    assert len(rows) == len(w.session.mapped.problems)
    # the map and the histogram got every readable position and time
    assert prev.map.lon.size == 38 and prev.hist.times.size == 38
    prev.set_ready_only(True)
    assert w.wizard.next()


def test_thumbnail_grid_decodes_only_what_is_shown_even_for_100000_images(qtbot):
    from aqqua_packer.gui.widgets.thumbnails import ThumbnailGrid
    from aqqua_packer.sources.base import ImageRef

    src = next(iter(sorted((sample_data_dir() / "images").glob("*.png"))))
    refs = [ImageRef(name=f"img_{i:06d}.png", path=str(src)) for i in range(100_000)]
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.resize(1000, 600)
    grid.show()
    grid.model_.set_images(refs)
    qtbot.waitUntil(lambda: grid.model_.loads >= 10, timeout=10000)
    qtbot.wait(300)
    assert grid.model_.loads < 400  # a screenful, not 100,000
    grid.scrollToBottom()
    qtbot.waitUntil(lambda: grid.model_._cache.get(99_999) is not None, timeout=10000)
    grid.model_.shutdown()


# --- packing --------------------------------------------------------------------------------
@pytest.mark.slow
def test_package_written_through_the_gui_equals_the_one_the_cli_writes(qtbot, window, tmp_path):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    w.wizard.next()
    w.pages.preview.set_ready_only(True)
    assert w.wizard.next()
    result = _pack_through_gui(qtbot, w, tmp_path / "gui")
    assert result.images == 37 and result.skipped == 3
    assert w.pages.pack.verified.ok
    assert w.wizard.next_btn.isEnabled()

    maps = [a for m in SAMPLE_CLI_MAPS for a in ("--map", m)]
    assert _cli_pack(sample_data_dir(), tmp_path / "cli", "--skip-incomplete", *maps) == 0
    gui, cli = package_content(tmp_path / "gui"), package_content(tmp_path / "cli")
    assert len(gui["images"]) == 37
    assert gui == cli


def test_the_real_zooscan_fixture_goes_through_the_wizard_like_through_the_cli(
    qtbot, window, tmp_path, shared_fixtures
):
    src = shared_fixtures / "zooscan" / "m106_mn01_n1_sml"
    w = window
    _to_map_page(qtbot, w, [src])
    assert w.session.all_scans()[0].kind == "zooscan"
    # row 409 is off Tasmania at the instant the others are off Cape Verde: confirmed as written
    assert int(w.session.mapped.ready.sum()) == 4
    assert w.wizard.next()
    w.pages.preview.confirm_boxes["ship_speed"].setChecked(True)
    wait_checked(qtbot, w)
    assert int(w.session.mapped.ready.sum()) == 5
    assert w.wizard.next(), w.wizard.current.blocker()  # every image ready: no choice needed
    result = _pack_through_gui(qtbot, w, tmp_path / "gui")
    assert result.images == 5
    assert _cli_pack(src, tmp_path / "cli", "--accept", "ship_speed") == 0
    gui = package_content(tmp_path / "gui")
    assert "-44.725" in {m["image-latitude"][:7] for *_, m in gui["images"].values()}
    assert gui == package_content(tmp_path / "cli")


def _many_images(folder: Path, n: int, size: int = 24) -> None:
    from PIL import Image

    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(1)
    with open(folder / "metadata.csv", "w", encoding="utf-8") as fh:
        fh.write("image_file,date_time_utc,latitude,longitude,depth_m,pixel_size_um\n")
        for i in range(n):
            name = f"p_{i:05d}.png"
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(
                folder / "images" / name, compress_level=1
            )
            fh.write(
                # one station a day, a degree apart: a cruise a ship can sail (plausibility.py)
                f"{name},2024-05-0{1 + i % 9}T10:{i % 60:02d}:00Z,{40 + i % 9},{-20 - i % 9},{5 + i % 50},12.5\n"
            )


@pytest.mark.slow
def test_cancel_really_stops_the_pack_and_resume_after_reopening_the_app_finishes_it(
    qtbot, window, tmp_path
):
    from aqqua_packer.gui.main_window import MainWindow

    _many_images(tmp_path / "src", 1500)
    w = window
    _to_map_page(qtbot, w, [tmp_path / "src"])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    assert w.wizard.next() and w.wizard.next()
    pack = w.pages.pack
    pack.out.setText(str(tmp_path / "pkg"))
    pack.start_btn.click()
    worker = pack.worker
    qtbot.waitUntil(
        lambda: (
            worker.last_event is not None
            and worker.last_event.phase == "pack"
            and worker.last_event.done > 0
        ),
        timeout=60000,
    )
    pack.cancel_btn.click()
    qtbot.waitUntil(lambda: pack.worker is None, timeout=20000)
    assert worker.outcome == "cancelled"
    assert not worker._proc.is_alive()  # the pack process really ended
    assert w.session.project.pack_state == "interrupted"
    assert pack.start_btn.text() == "Resume packing"
    assert not w.wizard.next_btn.isEnabled()
    done_before = worker.last_event.done
    w.close()

    # the next day: the app offers to continue, and the pack resumes where it stopped
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.show()
    assert "pack was interrupted" in w2.banner_text.text()
    w2.continue_btn.click()
    assert w2.wizard.index == 4
    wait_scanned(qtbot, w2, timeout=60000)
    wait_checked(qtbot, w2, timeout=60000)
    qtbot.waitUntil(lambda: w2.pages.pack.start_btn.isEnabled(), timeout=20000)
    assert w2.pages.pack.start_btn.text() == "Resume packing"
    with qtbot.waitSignal(w2.pack_finished, timeout=120000) as sig:
        w2.pages.pack.start_btn.click()
    result = sig.args[0]
    assert result.resumed and result.images == 1500
    assert w2.pages.pack.verified.ok
    assert done_before < 1500
    w2.close()


# --- sending --------------------------------------------------------------------------------
@pytest.mark.slow
def test_send_to_a_folder_gives_an_account_of_what_arrived(qtbot, window, tmp_path):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    w.wizard.next()
    w.pages.preview.set_ready_only(True)
    w.wizard.next()
    _pack_through_gui(qtbot, w, tmp_path / "pkg")
    assert w.wizard.next()
    send = w.pages.send
    (tmp_path / "drive").mkdir()
    send.set_destination({"kind": "folder", "folder": str(tmp_path / "drive")})
    with qtbot.waitSignal(w.send_finished, timeout=60000) as sig:
        send.send_btn.click()
    assert sig.args[0].complete
    states = {send.files.topLevelItem(i).text(2) for i in range(send.files.topLevelItemCount())}
    assert states == {"arrived, verified by sha256"}
    assert "Done: all" in send.account.toPlainText()  # issue 14: a Done state
    assert (tmp_path / "drive" / "pkg" / "manifest.sha256").exists()
    # the Globus hand-off stages the package in the shared folder and says what happens next
    (tmp_path / "share").mkdir()
    send.set_destination(
        {
            "kind": "globus",
            "endpoint": "aaaa-bbbb",
            "path": "aqqua/incoming/",
            "globus_share": str(tmp_path / "share"),
        }
    )
    assert send.target_label.text() == "globus://aaaa-bbbb/aqqua/incoming/"
    with qtbot.waitSignal(w.send_finished, timeout=60000) as sig:
        send.send_btn.click()
    assert sig.args[0].handed_off
    assert (tmp_path / "share" / "pkg" / "manifest.sha256").exists()
    assert "globus" in send.account.toPlainText().lower()


def test_test_connection_to_a_folder_writes_and_removes_a_probe(qtbot, window, tmp_path):
    send = window.pages.send
    send.set_destination({"kind": "folder", "folder": str(tmp_path)})
    send.test_btn.click()
    qtbot.waitUntil(
        lambda: (
            send.worker is None
            and "Connect" in send.test_result.text()
            and "…" not in send.test_result.text()
        ),
        timeout=20000,
    )
    assert "Connected" in send.test_result.text()
    assert list(tmp_path.iterdir()) == []


# --- saving and coming back -------------------------------------------------------------------
def test_reopening_offers_to_continue_where_the_user_left_off(qtbot, window):
    from aqqua_packer.gui.main_window import MainWindow

    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, {"datetime": SAMPLE_MAPPING["datetime"]})
    w.close()
    saved = json.loads(project_path().read_text(encoding="utf-8"))
    assert saved["step"] == 2 and saved["sources"] == [str(sample_data_dir().resolve())]

    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.show()
    assert w2.banner.isVisible()
    assert "Map fields" in w2.banner_text.text()
    w2.continue_btn.click()
    assert w2.wizard.index == 2
    wait_scanned(qtbot, w2)
    wait_checked(qtbot, w2)
    assert w2.pages.mapping.rows["datetime"].column.currentData() == "date_time_utc"
    assert w2.pages.about.name.text() == "Test dataset"
    w2.close()


def test_passwords_never_reach_the_project_or_the_settings(qtbot, window):
    send = window.pages.send
    send.set_destination({"kind": "sftp", "host": "example.org", "user": "ada", "path": "inbox"})
    send.password.setText("s3cret-pw")
    send.save_destination("AqQua inbox")
    window.save_project()
    for path in (project_path(), Settings().path):
        assert "s3cret-pw" not in path.read_text(encoding="utf-8")
    assert Settings().destinations()["AqQua inbox"]["host"] == "example.org"
    p = Project.from_dict({"destination": {"url": "sftp://ada:pw@host/x", "password": "pw"}})
    p.save()
    assert (
        "pw@" not in project_path().read_text() and '"password"' not in project_path().read_text()
    )


@pytest.fixture
def ftp_server(tmp_path):
    """pyftpdlib on 127.0.0.1, one user with a password."""
    import socket
    import threading

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    home = tmp_path / "ftp-home"
    home.mkdir()
    auth = DummyAuthorizer()
    auth.add_user("lab", "Zoo-pl4nkton-pw", str(home), perm="elradfmwMT")

    class Handler(FTPHandler):
        pass

    Handler.authorizer = auth
    Handler.auth_failed_timeout = 0.1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedFTPServer(("127.0.0.1", port), Handler)
    t = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    t.start()
    yield home, port
    server.close_all()
    t.join(5)


@pytest.mark.slow
def test_send_over_ftp_with_a_typed_password_that_is_never_saved(
    qtbot, window, tmp_path, ftp_server
):
    home, port = ftp_server
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    w.wizard.next()
    w.pages.preview.set_ready_only(True)
    w.wizard.next()
    _pack_through_gui(qtbot, w, tmp_path / "pkg")
    assert w.wizard.next()
    send = w.pages.send
    send.set_destination(
        {"kind": "ftp", "host": "127.0.0.1", "port": port, "user": "lab", "path": "inbox"}
    )
    assert send.target_label.text() == f"ftp://lab@127.0.0.1:{port}/~/inbox"
    send.password.setText("wrong")
    send.test_btn.click()
    qtbot.waitUntil(
        lambda: send.worker is None and "…" not in send.test_result.text(), timeout=30000
    )
    assert "Connected" not in send.test_result.text()
    send.password.setText("Zoo-pl4nkton-pw")
    send.test_btn.click()
    qtbot.waitUntil(
        lambda: send.worker is None and "Connected" in send.test_result.text(), timeout=30000
    )
    # a slow link: pause part-way, then resume
    send.bwlimit.setText("120K")
    send.send_btn.click()
    worker = send.worker
    qtbot.waitUntil(
        lambda: worker.last_event is not None and worker.last_event.bytes_done > 100_000,
        timeout=30000,
    )
    send.pause_btn.click()
    qtbot.waitUntil(lambda: send.worker is None, timeout=30000)
    assert worker.outcome == "cancelled"
    assert send.send_btn.text() == "Resume"
    assert not (home / "inbox" / "pkg" / "manifest.sha256").exists()
    send.bwlimit.setText("")
    with qtbot.waitSignal(w.send_finished, timeout=60000) as sig:
        send.send_btn.click()
    result = sig.args[0]
    assert result.complete
    assert result.bytes_sent < result.bytes_total  # what had arrived was not sent again
    assert (home / "inbox" / "pkg" / "manifest.sha256").exists()
    w.save_project()
    from aqqua_packer.gui.project import home_dir

    for f in home_dir().rglob("*"):
        if f.is_file():
            assert b"Zoo-pl4nkton-pw" not in f.read_bytes(), f


def test_what_the_map_page_shows_is_what_the_check_uses_even_after_not_mapped(qtbot, window):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    for name in ("label", "latitude"):
        w.pages.mapping.rows[name].mode.setCurrentIndex(0)  # "Not mapped", as a user picks it
        wait_checked(qtbot, w)
        used = w.session.mapped.mapping.fields.get(name)
        shown = w.pages.mapping.rows[name].spec()
        assert (shown and shown.column) == (used and used.column), name


def test_not_mapped_keeps_a_suggested_field_out_of_the_check_and_the_package_like_the_cli(
    qtbot, window, tmp_path
):
    from aqqua_packer.gui.pages.pack import pack_job
    from aqqua_packer.progress import Task

    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    assert "label" in w.session.mapped.mapping.fields  # suggested from the taxon column
    w.pages.mapping.rows["label"].mode.setCurrentIndex(0)  # "Not mapped", as a user picks it
    wait_checked(qtbot, w)
    assert "label" not in w.session.mapped.mapping.fields
    w.pages.mapping.populate()
    assert w.pages.mapping.rows["label"].mode.currentIndex() == 0
    # what the pack process runs, and the CLI with --map label= (turned down) write the same
    pack_job(w.session.request(), tmp_path / "gui", True, w.session.dataset_info(), task=Task())
    maps = [a for m in SAMPLE_CLI_MAPS for a in ("--map", m)]
    assert (
        _cli_pack(
            sample_data_dir(), tmp_path / "cli", "--skip-incomplete", "--map", "label=", *maps
        )
        == 0
    )
    meta = open_package(tmp_path / "gui").meta
    assert "image-label" not in meta.columns or meta["image-label"].isna().all()
    assert package_content(tmp_path / "gui") == package_content(tmp_path / "cli")


def test_a_mapping_saved_as_a_profile_loads_into_the_next_project_and_the_cli(
    qtbot, window, tmp_path
):
    w = window
    _to_map_page(qtbot, w, [sample_data_dir()])
    apply_mapping(qtbot, w, SAMPLE_MAPPING)
    w.pages.mapping.rows["label"].mode.setCurrentIndex(0)
    wait_checked(qtbot, w)
    w.pages.mapping.save_profile(tmp_path / "profile.json")
    saved = json.loads((tmp_path / "profile.json").read_text(encoding="utf-8"))
    assert saved["fields"]["datetime"]["column"] == "date_time_utc"
    assert saved["fields"]["label"] is None  # turned down, and it stays so

    assert w.new_project(ask=False)
    w2 = w
    fill_about(w2)
    w2.wizard.next()
    w2.add_sources([sample_data_dir()])
    wait_scanned(qtbot, w2)
    w2.wizard.next()
    wait_checked(qtbot, w2)
    w2.pages.mapping.load_profile(tmp_path / "profile.json")
    wait_checked(qtbot, w2)
    assert int(w2.session.mapped.ready.sum()) == 37
    assert w2.pages.mapping.rows["datetime"].column.currentData() == "date_time_utc"
    assert "label" not in w2.session.mapped.mapping.fields
    assert (
        cli_main(["check", str(sample_data_dir()), "--profile", str(tmp_path / "profile.json")])
        == 1
    )  # 3 gaps


def test_dropping_a_folder_on_the_sources_page_adds_and_scans_it(qtbot, window):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    w = window
    fill_about(w)
    w.wizard.next()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_data_dir()))])
    ev = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    w.pages.sources.dropEvent(ev)
    wait_scanned(qtbot, w)
    assert w.session.project.sources == [str(sample_data_dir().resolve())]
    assert w.pages.sources.image_count() == 40


def test_menus_have_the_usual_shortcuts_and_the_about_box_names_the_version(window):
    from aqqua_packer import __version__

    shortcuts = {
        a.shortcut().toString()
        for m in window.menuBar().findChildren(type(window.file_menu))
        for a in m.actions()
    }
    assert {"Ctrl+N", "Ctrl+O", "Ctrl+S", "Ctrl+Q", "Ctrl+L", "Alt+Right", "Alt+Left"} <= shortcuts
    assert __version__ in window.about_text()
    assert any(
        a.text() == "&About AqQua Packer"
        for m in window.menuBar().findChildren(type(window.file_menu))
        for a in m.actions()
    )


def test_every_field_row_explains_itself_in_a_tooltip(window):
    from aqqua_packer.fields import FIELDS

    for f in FIELDS:
        assert window.pages.mapping.rows[f.name].label.toolTip() == f.help


def test_trying_the_sample_data_leaves_the_users_own_project_and_answers_alone(
    qtbot, window, tmp_path
):
    from aqqua_packer.gui.main_window import MainWindow, demo_project_path

    w = window
    (tmp_path / "cruise").mkdir()
    w.add_sources([tmp_path / "cruise"])
    wait_scanned(qtbot, w)
    w.save_project()
    mine = {
        k: v
        for k, v in json.loads(project_path().read_text(encoding="utf-8")).items()
        if k != "saved_at"
    }
    w.pages.sources.sample_btn.click()  # "Try with sample data"
    wait_scanned(qtbot, w)
    assert w.pages.sources.image_count() == 40
    w.wizard.next()
    w.close()
    after = json.loads(project_path().read_text(encoding="utf-8"))
    assert {k: v for k, v in after.items() if k != "saved_at"} == mine
    assert "sample-data" in demo_project_path().read_text(encoding="utf-8")
    assert (Settings().get("about") or {}).get("contributor") != "Sample Contributor"
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert str(tmp_path / "cruise") in "".join(Project.load().sources)
    w2.close()

"""The Send page's newer ways, driven in the real wizard: the advice by size, an rclone remote
from the user's own rclone config, a link service (archive parts) and the WebDAV/Nextcloud form."""

from __future__ import annotations

import pytest

from tests.transfer.conftest import assert_identical, make_package


@pytest.fixture
def package(tmp_path):
    return make_package(tmp_path / "p", {"image-set.toml": 400, "a-000.lmdb/data.mdb": 300_000})


def test_the_send_page_recommends_a_cloud_drive_for_a_small_package_and_says_why(
    qtbot, window, package
):
    send = window.pages.send
    window.session.project.package = str(package)
    send.set_destination({"kind": "sftp", "host": "h"})
    send.show_plan()
    text = send.advice.text()
    assert "under 20 GB" in text and "cloud drive" in text and "(Your choice works too.)" in text
    from aqqua_packer.workflow import recommend_way

    assert recommend_way(50 * 10**9).way == "link" and recommend_way(500 * 10**9).way == "server"


def test_an_rclone_remote_from_the_users_config_is_listed_and_used(
    qtbot, window, package, tmp_path, monkeypatch
):
    conf = tmp_path / "rclone.conf"
    conf.write_text("[here]\ntype = local\n")
    monkeypatch.setenv("RCLONE_CONFIG", str(conf))
    monkeypatch.setenv("AQQUA_PACKER_HOME", str(tmp_path / "home"))
    send = window.pages.send
    window.session.project.package = str(package)
    send.set_destination({"kind": "rclone", "path": str(tmp_path / "cloud")})
    assert [send.remotes.combo.itemText(i) for i in range(send.remotes.combo.count())] == ["here"]
    assert send.target_label.text() == f"rclone:here:{tmp_path / 'cloud'}"
    send.path.setText(str(tmp_path / "cloud"))
    with qtbot.waitSignal(window.send_finished, timeout=60000) as sig:
        send.send_btn.click()
    assert sig.args[0].complete
    assert_identical(package, tmp_path / "cloud" / package.name)


def test_a_link_service_makes_the_parts_and_says_what_to_upload(qtbot, window, package, tmp_path):
    send = window.pages.send
    window.session.project.package = str(package)
    send.set_destination({"kind": "link", "folder": str(tmp_path / "parts")})
    assert send.blocker() == ""
    send.send_btn.click()
    qtbot.waitUntil(lambda: "Upload these files" in send.account.toPlainText(), timeout=30000)
    assert (tmp_path / "parts" / "SHA256SUMS").exists()
    assert "p.tar" in send.account.toPlainText() or package.name in send.account.toPlainText()


def test_webdav_and_nextcloud_addresses_are_built_from_the_form(qtbot, window, package):
    send = window.pages.send
    window.session.project.package = str(package)
    send.set_destination(
        {"kind": "nextcloud", "host": "cloud.example.org", "user": "ana", "path": "AqQua"}
    )
    assert send.target_label.text() == "nextcloud://ana@cloud.example.org:443/AqQua"
    assert send.ca_file.isVisibleTo(send) and not send.key.isVisibleTo(send)
    send.set_destination({"kind": "davs", "host": "h", "port": 8443, "user": "bo", "path": "/in"})
    assert send.target_label.text() == "davs://bo@h:8443/in"
    send.show_plan()
    assert "smaller shard size" in send.advice.text()

"""Sending over FTP and FTPS to a real pyftpdlib server on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest

from aqqua_packer.transfer import AuthenticationFailed, PasswordNeeded, SendOptions, send_package

from .conftest import assert_identical
from .servers import TEST_PASSWORD, FTPServer, self_signed_cert


def test_ftp_package_arrives_identical_and_warns_about_the_clear_password(ftpd, small_package):
    warnings = []
    result = send_package(
        small_package,
        ftpd.url("/in/box"),
        SendOptions(password=TEST_PASSWORD, on_warning=warnings.append),
    )
    assert result.complete
    assert_identical(small_package, ftpd.home / "in" / "box" / small_package.name)
    assert len(warnings) == 1 and "does not offer encryption" in warnings[0]
    # pyftpdlib cannot hash: data files are checked by reading ranges back, the manifest entirely
    by = {f.path: f.verified_by for f in result.files}
    assert (
        by["manifest.sha256"] == "sha256" and by["cruise-42-images-000.lmdb/data.mdb"] == "ranges"
    )
    assert (
        send_package(
            small_package, ftpd.url("/in/box"), SendOptions(password=TEST_PASSWORD)
        ).bytes_sent
        == 0
    )


def test_ftp_wrong_password_is_a_clear_message_without_the_password(ftpd, small_package, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationFailed) as err:
        send_package(
            small_package, ftpd.url("/in"), SendOptions(password="guess-" + TEST_PASSWORD[::-1])
        )
    assert "refused user" in str(err.value)
    for text in (str(err.value), caplog.text):
        assert TEST_PASSWORD[::-1] not in text and TEST_PASSWORD not in text
    assert not (ftpd.home / "in").exists()


def test_ftp_without_password_asks_for_one(ftpd, small_package):
    with pytest.raises(PasswordNeeded):
        send_package(small_package, ftpd.url("/in"), SendOptions())


def test_ftp_dotdot_stays_inside_the_named_folder(ftpd, small_package):
    from aqqua_packer.problems import UserError

    with pytest.raises(UserError, match=r"'\.\.'"):
        send_package(
            small_package, ftpd.url("/in/../../../etc"), SendOptions(password=TEST_PASSWORD)
        )


@pytest.fixture
def ftps_server(tmp_path):
    pytest.importorskip("OpenSSL", reason="absent: pyOpenSSL, which pyftpdlib's FTPS server needs")
    cert = self_signed_cert(tmp_path)
    server = FTPServer(tmp_path / "root", tls=True, tls_required=True, cert=cert).start()
    yield server, tmp_path / "cert.pem"
    server.stop()


def test_ftps_with_a_trusted_certificate_sends_encrypted(ftps_server, small_package):
    server, cert = ftps_server
    warnings = []
    result = send_package(
        small_package,
        server.url("/in", scheme="ftps"),
        SendOptions(password=TEST_PASSWORD, ftps_ca=cert, on_warning=warnings.append),
    )
    assert result.complete and warnings == []
    assert_identical(small_package, server.home / "in" / small_package.name)


def test_ftps_refuses_an_untrusted_certificate_before_the_password(ftps_server, small_package):
    from aqqua_packer.problems import UserError

    server, _cert = ftps_server
    with pytest.raises(UserError, match="does not trust"):
        send_package(
            small_package, server.url("/in", scheme="ftps"), SendOptions(password=TEST_PASSWORD)
        )
    assert not (server.home / "in").exists()


def test_plain_ftp_address_upgrades_to_tls_when_the_server_offers_it(ftps_server, small_package):
    server, _cert = ftps_server  # this server requires TLS: a clear login would be refused
    warnings = []
    result = send_package(
        small_package,
        server.url("/in"),
        SendOptions(password=TEST_PASSWORD, on_warning=warnings.append),
    )
    assert result.complete and warnings == []


def test_ftp_leftovers_of_an_earlier_packing_are_tidied_away(ftpd, small_package):
    stale = ftpd.home / "in" / small_package.name / ".cruise-42-meta-000.parquet.0123456789ab.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an older packing's half-sent shard")
    assert send_package(
        small_package, ftpd.url("/in"), SendOptions(password=TEST_PASSWORD)
    ).complete
    assert not stale.exists()
    assert_identical(small_package, ftpd.home / "in" / small_package.name)

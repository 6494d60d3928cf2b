"""A package the real packer wrote travels over SFTP and passes the package verifier at arrival."""

from __future__ import annotations

import pytest

from aqqua_packer import workflow
from aqqua_packer.transfer import SendOptions


@pytest.mark.slow
def test_a_packed_sample_travels_over_sftp_and_verifies_at_arrival(
    sshd, remote_dir, known_hosts, tmp_path
):
    from aqqua_packer.package.verify import verify_package
    from aqqua_packer.package.write import PackOptions
    from aqqua_packer.resources import sample_data_dir

    out = tmp_path / "sample-package"
    workflow.pack(
        workflow.Request(sources=[sample_data_dir()]),
        out,
        options=PackOptions(workers=1, skip_incomplete=True),
    )
    result = workflow.send(
        out,
        sshd.url(str(remote_dir)),
        options=SendOptions(identity=sshd.client_key, known_hosts=known_hosts),
    )
    assert result.complete and {f.verified_by for f in result.files} == {"sha256"}
    arrived = verify_package(remote_dir / out.name)
    assert arrived.ok, arrived

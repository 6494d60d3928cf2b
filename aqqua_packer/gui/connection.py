""" "Test connection" for the Send page: log in, make the folder, write and remove a tiny probe
file — everything a send needs, without sending the package.  No Qt here."""

from __future__ import annotations

from ..problems import UserError
from ..progress import Task, null_task

PROBE = ".aqqua-packer-probe"


def test_connection(target: str, options=None, task: Task | None = None) -> str:
    """Return a one-line account of what worked; raise UserError saying what did not."""
    from ..transfer import SendOptions, parse_target
    from ..transfer.engine import open_session  # the engine's own way to connect: an honest test

    task = task or null_task()
    options = options or SendOptions()
    tgt = parse_target(target)
    if tgt.scheme == "rclone":
        from ..transfer.rclone import test_remote

        return test_remote(tgt, options)
    if tgt.scheme == "globus":
        raise UserError(
            "A Globus hand-off cannot be tested here; “Send” stages the package and tells you the next step."
        )
    task.status(f"Connecting to {tgt.canonical}")
    session = open_session(tgt, options)
    try:
        task.check()
        session.mkdirs("")
        w = session.open_write(PROBE, 0)
        w.write(b"AqQua Packer connection test\n")
        w.finish()
        session.remove(PROBE)
    finally:
        session.close()
    return f"logged in to {tgt.canonical}; the folder can be written"

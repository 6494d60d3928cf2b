"""The Send page's newer ways: WebDAV, Nextcloud, any rclone remote, a link service (archive
parts), and the advice which way AqQua recommends for the package's size."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from urllib.parse import quote

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

from ... import workflow

NEW_KINDS = (
    ("nextcloud", "Nextcloud"),
    ("davs", "WebDAV (HTTPS)"),
    ("rclone", "Cloud drive through rclone (Google Drive, Dropbox, OneDrive, S3, …)"),
    ("link", "Link service (GigaMove, …): make parts to upload in the browser"),
)
DAV_PORTS = {"davs": 443, "nextcloud": 443}


def url_for(d: dict) -> str | None:
    """The target for the new kinds (None for the others; "" for a link service, not a target)."""
    kind = d.get("kind")
    if kind in DAV_PORTS:
        user = quote(d.get("user", "").strip(), safe="")
        port = int(d.get("port") or DAV_PORTS[kind])
        path = quote("/" + d.get("path", "").strip().lstrip("/"))
        return f"{kind}://{user}@{d.get('host', '').strip()}:{port}{path}"
    if kind == "rclone":
        path = d.get("path", "").strip()
        return f"rclone:{d.get('remote', '')}:{path.rstrip('/') if path != '/' else path}"
    if kind == "link":
        return ""
    return None


def advice_text(total_bytes: int, kind: str) -> str:
    """ "AqQua recommends … because …", and a word on plain WebDAV's whole-shard restarts."""
    advice = workflow.recommend_way(total_bytes)
    text = advice.why
    if kind not in advice.kinds and kind != "folder":
        text += " (Your choice works too.)"
    if kind == "davs":
        text += (
            " A plain WebDAV upload starts an interrupted shard again from its beginning: pack with a "
            "smaller shard size (512M) for this way."
        )
    return text


def terminal_command(cmd: list[str]) -> list[str] | None:
    """How to run ``cmd`` in a new terminal window on this computer (None: no terminal found)."""
    if sys.platform == "win32":
        return ["cmd", "/c", "start", "rclone config", "cmd", "/k", subprocess.list2cmdline(cmd)]
    if sys.platform == "darwin":
        script = f'tell application "Terminal" to do script "{shlex.join(cmd)}"'
        return ["osascript", "-e", script]
    for term, flag in (
        ("x-terminal-emulator", "-e"),
        ("gnome-terminal", "--"),
        ("konsole", "-e"),
        ("xfce4-terminal", "-x"),
        ("xterm", "-e"),
    ):
        if shutil.which(term):
            return [term, flag, *cmd]
    return None


class RcloneRemotes(QWidget):
    """The user's rclone remotes, and "New remote…", which starts `rclone config` in a terminal."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setToolTip("The remotes you set up with rclone (`rclone config`).")
        self.refresh_btn = QPushButton("↻")
        self.refresh_btn.setFixedWidth(36)
        self.refresh_btn.setToolTip("Read the list of remotes again")
        self.new_btn = QPushButton("New remote…")
        self.new_btn.setToolTip(
            "Opens rclone's own set-up in a terminal: choose the cloud (Google Drive, Dropbox, …), "
            "log in in the browser, then come back and press ↻."
        )
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.combo, 1)
        h.addWidget(self.refresh_btn)
        h.addWidget(self.new_btn)
        self.message = ""
        self.refresh_btn.clicked.connect(self.refresh)
        self.new_btn.clicked.connect(self.start_config)
        self.combo.currentIndexChanged.connect(self.changed)

    def refresh(self, keep: str = "") -> None:
        keep = keep or self.remote()
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in workflow.rclone_remotes():
            self.combo.addItem(name, name)
        if keep and self.combo.findData(keep) < 0:
            self.combo.addItem(keep, keep)
        self.combo.setCurrentIndex(max(0, self.combo.findData(keep)))
        self.combo.blockSignals(False)
        self.changed.emit()

    def remote(self) -> str:
        return self.combo.currentData() or ""

    def start_config(self) -> bool:
        """Start `rclone config` in a terminal; False (and ``message`` says what to run) if none."""
        cmd = workflow.rclone_config_command()
        how = terminal_command(cmd)
        if how is None:
            self.message = f"No terminal found: run this yourself, then press ↻:  {shlex.join(cmd)}"
            return False
        subprocess.Popen(how, env=dict(os.environ), start_new_session=True)
        self.message = "rclone config runs in the terminal; press ↻ when the new remote is made."
        return True

"""The project the user builds in the wizard, saved as they go, and the settings remembered
between projects.  Plain JSON in ``$AQQUA_PACKER_HOME`` (or ``~/.aqqua-packer``).

Passwords are never written: a destination is saved without one, and ``strip_secrets`` removes any
``user:password@`` from a URL before it is stored.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("aqqua_packer.gui")

PROJECT_VERSION = 1
_SAVE_LOCK = threading.Lock()
_save_seq = [0, 0]  # [last issued, last written]: an older autosave never overwrites a newer one
SECRET_KEYS = {"password", "passphrase", "secret", "token"}


def home_dir() -> Path:
    return Path(os.environ.get("AQQUA_PACKER_HOME") or Path.home() / ".aqqua-packer")


def project_path() -> Path:
    """The autosaved project ("continue where you left off")."""
    return home_dir() / "project.json"


def settings_path() -> Path:
    return home_dir() / "settings.json"


def strip_secrets(value: Any) -> Any:
    """A copy with passwords removed: keys named like secrets dropped, URL passwords cut."""
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items() if k.lower() not in SECRET_KEYS}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"^([a-z][a-z0-9+.-]*://[^/:@]*):[^/@]*@", r"\1@", value, flags=re.I)
    return value


def write_json(path: Path, data: Any) -> None:
    """Atomic write (temp file, fsync, rename): a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(strip_secrets(data), fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot read (%s); starting afresh", path, exc)
        return None


@dataclass
class Project:
    """Everything the wizard needs to come back to the same place."""

    step: int = 0
    dataset: dict[str, Any] = field(default_factory=dict)  # package.dataset.DatasetInfo.to_dict()
    volume_sampled: str = ""  # litres per image, when the data may be used for interpolation
    sources: list[str] = field(default_factory=list)
    mapping: dict[str, Any] = field(default_factory=dict)  # a mapping profile (given fields only)
    unmapped: list[str] = field(
        default_factory=list
    )  # suggested fields the user set to "Not mapped"
    ready_only: bool = False  # pack only the ready images
    out_dir: str = ""
    pack_state: str = ""  # "", "running", "interrupted", "done"
    pack_verified: bool = False  # the package at ``package`` passed its last verify
    package: str = ""
    destination: dict[str, Any] = field(default_factory=dict)  # no password, ever
    send_state: str = ""  # "", "running", "interrupted", "done"
    # EcoTaxa projects shared with AqQua from the wizard: {server, user, account,
    # shared: {projid: {title, since}}}; no password or token, ever
    ecotaxa: dict[str, Any] = field(default_factory=dict)
    saved_at: float = 0.0
    version: int = PROJECT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Project:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (d or {}).items() if k in known})

    def save(self, path: Path | None = None) -> Path:
        path = path or project_path()
        self.saved_at = time.time()
        _save_seq[0] += 1
        with _SAVE_LOCK:
            _save_seq[1] = _save_seq[0]
            write_json(path, self.to_dict())
        return path

    def save_in_background(self, path: Path | None = None) -> None:
        """Autosave without making the UI wait for the disk (fsync on a busy ship computer can
        take a while); saves are written in order, the newest last."""
        path = path or project_path()
        self.saved_at = time.time()
        data = self.to_dict()
        _save_seq[0] += 1
        seq = _save_seq[0]

        def run() -> None:
            with _SAVE_LOCK:
                if seq < _save_seq[1]:
                    return
                _save_seq[1] = seq
                try:
                    write_json(path, data)
                except OSError as exc:
                    log.warning("cannot save the project to %s: %s", path, exc)

        threading.Thread(target=run, name="autosave", daemon=False).start()

    @classmethod
    def load(cls, path: Path | None = None) -> Project | None:
        data = read_json(path or project_path())
        if not isinstance(data, dict) or data.get("version") != PROJECT_VERSION:
            return None
        return cls.from_dict(data)

    @property
    def worth_continuing(self) -> bool:
        """True when there is something to come back to (not an empty or a finished project)."""
        return bool(self.sources) and self.send_state != "done"

    def summary(self) -> str:
        from .pages import STEP_TITLES

        step = STEP_TITLES[min(self.step, len(STEP_TITLES) - 1)]
        when = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at)) if self.saved_at else ""
        )
        name = self.dataset.get("name") or "unnamed dataset"
        extra = ""
        if self.pack_state in ("running", "interrupted"):
            extra = "; a pack was interrupted and can be resumed"
        elif self.send_state in ("running", "interrupted"):
            extra = "; an upload was interrupted and can be resumed"
        return f"“{name}”, {len(self.sources)} source(s), at step “{step}” (saved {when}){extra}"


class Settings:
    """What is remembered across projects: the "about you" answers and saved destinations."""

    def __init__(self, path: Path | None = None):
        self.path = path or settings_path()
        data = read_json(self.path)
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = strip_secrets(value)
        self.save()

    def save(self) -> None:
        try:
            write_json(self.path, self.data)
        except OSError as exc:
            log.warning("cannot save settings to %s: %s", self.path, exc)

    # saved destinations: {name: {kind, host, port, user, path, key_file, ...}}, never a password
    def destinations(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("destinations", {}))

    def save_destination(self, name: str, dest: dict[str, Any]) -> None:
        dests = self.destinations()
        dests[name] = strip_secrets(dest)
        self.set("destinations", dests)

    def delete_destination(self, name: str) -> None:
        dests = self.destinations()
        dests.pop(name, None)
        self.set("destinations", dests)

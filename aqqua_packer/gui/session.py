"""The wizard's shared state: the saved ``Project`` plus what lives only in memory (scans, the
current ``Mapped``), with signals the pages listen to.  Re-checking the mapping runs in a worker,
debounced, so typing in the Map page never blocks."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..problems import UserError
from ..workflow import DatasetInfo, FieldSpec, Mapped, Mapping, Request, Scan, check
from .project import Project, Settings
from .workers import Worker

log = logging.getLogger("aqqua_packer.gui")


class Session(QObject):
    changed = Signal()  # the project changed: autosave
    scans_changed = Signal()
    mapped_changed = Signal()  # a new Mapped (or None) is available
    checking_changed = Signal(bool)
    check_failed = Signal(str)

    def __init__(
        self, project: Project | None = None, settings: Settings | None = None, parent=None
    ):
        super().__init__(parent)
        self.project = project or Project()
        self.settings = settings or Settings()
        self.scans: dict[str, list[Scan]] = {}
        self.scan_errors: dict[str, str] = {}
        self.mapped: Mapped | None = None
        self._check_worker: Worker | None = None
        self._check_again = False
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self._start_check)

    # --- what the core is given -------------------------------------------------------------
    def all_scans(self) -> list[Scan]:
        out: list[Scan] = []
        for src in self.project.sources:
            out.extend(self.scans.get(src, []))
        return out

    def given_mapping(self) -> Mapping:
        try:
            m = Mapping.from_profile(self.project.mapping or {"fields": {}})
        except UserError as exc:
            log.warning("saved mapping ignored: %s", exc)
            m = Mapping()
        m.unmapped = set(m.unmapped) | {u for u in self.project.unmapped if u not in m.fields}
        if self.project.volume_sampled.strip() and "volume_sampled" not in m.fields:
            m.fields["volume_sampled"] = FieldSpec(
                constant=self.project.volume_sampled.strip(), unit="L"
            )
        return m

    def request(self) -> Request:
        return Request(
            sources=[Path(s) for s in self.project.sources], mapping=self.given_mapping()
        )

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo.from_dict(self.project.dataset)

    # --- changes ---------------------------------------------------------------------------
    def touch(self) -> None:
        self.changed.emit()

    def set_mapping_field(self, name: str, spec: FieldSpec | None) -> None:
        """``spec=None`` means "Not mapped": neither the user's choice nor a reader's suggestion."""
        fields = dict((self.project.mapping or {}).get("fields", {}))
        unmapped = [u for u in self.project.unmapped if u != name]
        if spec is None:
            fields.pop(name, None)
            unmapped.append(name)
        else:
            fields[name] = spec.to_dict()
        self.project.unmapped = unmapped
        accepted = (self.project.mapping or {}).get("accepted")
        self.project.mapping = {"aqqua-profile": 1, "fields": fields}
        if accepted:
            self.project.mapping["accepted"] = list(accepted)
        self.touch()
        self.recheck()

    def accepted(self) -> list[str]:
        """The suspicious kinds the user confirmed (kept in the project's mapping profile)."""
        return [str(a) for a in (self.project.mapping or {}).get("accepted") or []]

    def set_accepted(self, kind: str, on: bool) -> None:
        """Confirm (or withdraw the confirmation of) one suspicious kind, then check again."""
        kinds = [k for k in self.accepted() if k != kind] + ([kind] if on else [])
        mapping = dict(self.project.mapping or {"aqqua-profile": 1, "fields": {}})
        if kinds:
            mapping["accepted"] = kinds
        else:
            mapping.pop("accepted", None)
        self.project.mapping = mapping
        self.touch()
        self.recheck()

    def set_mapping(self, mapping: Mapping) -> None:
        self.project.mapping = mapping.to_profile()
        self.project.unmapped = sorted(mapping.unmapped)
        self.touch()
        self.recheck()

    def set_scans(self, source: str, scans: list[Scan] | None, error: str | None = None) -> None:
        if scans is None:
            self.scans.pop(source, None)
        else:
            self.scans[source] = scans
        if error:
            self.scan_errors[source] = error
        else:
            self.scan_errors.pop(source, None)
        self.scans_changed.emit()
        self.recheck()

    # --- re-checking in the background -----------------------------------------------------
    @property
    def checking(self) -> bool:
        return self._debounce.isActive() or (
            self._check_worker is not None and self._check_worker.running
        )

    def recheck(self, now: bool = False) -> None:
        """Apply the mapping again soon (debounced); the newest request wins."""
        if now:
            self._debounce.stop()
            self._start_check()
        else:
            self._debounce.start()
        self.checking_changed.emit(True)

    def _start_check(self) -> None:
        if self._check_worker is not None and self._check_worker.running:
            self._check_again = True
            self._check_worker.cancel()
            return
        scans = self.all_scans()
        if not scans:
            self.mapped = None
            self.mapped_changed.emit()
            self.checking_changed.emit(False)
            return
        given = self.given_mapping()
        w = Worker(
            # the mapping, and a look at every image (kept with the scans: done once)
            lambda task: check(Request(sources=[], mapping=given), task, scans=scans),
            name="check",
            parent=self,
            background=True,
        )
        w.done.connect(self._check_done)
        w.failed.connect(self.check_failed)
        w.finished.connect(self._check_finished)
        self._check_worker = w
        w.start()

    def _check_done(self, mapped: Mapped) -> None:
        if self._check_again:
            return
        self.mapped = mapped
        self.mapped_changed.emit()

    def _check_finished(self) -> None:
        w = self._check_worker
        if w is not None:
            w.deleteLater()
        self._check_worker = None
        if self._check_again:
            self._check_again = False
            self._start_check()
        else:
            self.checking_changed.emit(False)

    def shutdown(self) -> None:
        self._debounce.stop()
        if self._check_worker is not None:
            self._check_worker.cancel()
            self._check_worker.wait(10000)

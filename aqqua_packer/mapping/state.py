"""What the converters and the steps of one scan share: the dataset's settings, the sources of
the fields (each looked up once), and the results so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..problems import Problem
from ..progress import Task
from ..sources.base import Scan
from . import parsers
from .items import Items
from .model import Mapping
from .values import Result, ScanContext, Source, source_of


@dataclass
class Settings:
    tz: object = UTC
    tz_bad: bool = False
    surface: float | None = None
    surface_bad: bool = False
    zero_ok: bool = False


def read_settings(mapping: Mapping, problems: list[Problem]) -> Settings:
    st = Settings()
    for name in ("timezone", "surface_altitude", "zero_position_confirmed"):
        spec = mapping.get(name)
        if spec is None or not spec.has_source:
            continue
        if spec.constant is None:
            problems.append(
                Problem(
                    "bad_setting",
                    f"{name} is one value for the whole dataset: give it as a value, not a column",
                    field=name,
                    value=spec.column or spec.pattern,
                )
            )
            if name == "timezone":
                st.tz_bad = True
            elif name == "surface_altitude":
                st.surface_bad = True
            continue
        try:
            if name == "timezone":
                st.tz = parsers.parse_timezone(spec.constant)
            elif name == "surface_altitude":
                st.surface = parsers.parse_length(spec.constant, spec.unit)
            else:
                st.zero_ok = parsers.parse_bool(spec.constant)
        except parsers.ParseError as exc:
            problems.append(Problem("bad_setting", str(exc), field=name, value=spec.constant))
            if name == "timezone":
                st.tz_bad = True
            elif name == "surface_altitude":
                st.surface_bad = True
    return st


@dataclass
class ScanState:
    """One scan being mapped: ``out`` holds each field's result as the loop and the steps make it."""

    scan: Scan
    items: Items
    mapping: Mapping
    settings: Settings
    now: datetime
    problems: list[Problem]  # problems found while mapping, in the order found
    task: Task | None = None
    out: dict[str, Result] = field(default_factory=dict)
    _ctx: ScanContext | None = None
    _sources: dict[str, Source | None] = field(default_factory=dict)

    @property
    def m(self) -> int:
        return len(self.items)

    def src(self, name: str) -> Source | None:
        """The text each item has for field ``name``, or None when nothing is mapped to it (a
        missing column is reported once, on the first look)."""
        if self.task is not None:
            self.task.check()  # between fields: the GUI cancels a check when the user edits again
        if name not in self._sources:
            spec = self.mapping.get(name)
            if spec is None or not spec.has_source or name == "image":
                self._sources[name] = None
            else:
                if self._ctx is None:
                    self._ctx = ScanContext.of(self.scan, self.items)
                self._sources[name] = source_of(name, spec, self.scan, self._ctx, self.problems)
        return self._sources[name]

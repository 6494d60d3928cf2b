"""What plausibility.py knows about each instrument: how to tell it from a scan, when it first took
images, the dates its clock falls back to, and its usual pixel size and volume per image.

Sources are cited per line; docs/mapping.md ("Plausibility") has the same table in plain words.
"""

from __future__ import annotations

from datetime import date

from ..sources.base import Scan

_SENSOR_NAMES = (
    ("planktoscope", ("planktoscope",)),
    ("uvp6", ("uvp6", "uvp 6")),
    ("uvp5", ("uvp5", "uvp 5")),
    ("ifcb", ("ifcb", "flowcytobot")),
    ("flowcam", ("flowcam",)),
    ("zooscan", ("zooscan",)),
)
KNOWN_INSTRUMENTS = frozenset(n for n, _ in _SENSOR_NAMES) | {"microscopy"}


def instrument_of(scan: Scan) -> str:
    """The instrument behind a scan: its reader's kind, or for a plain EcoTaxa/generic table the
    instrument its ``acq_instrument`` (the scan's sensor) names."""
    kind = (scan.kind or "").lower()
    if kind in KNOWN_INSTRUMENTS:
        return kind
    sensor = (getattr(scan, "sensor", "") or "").lower()
    for name, keys in _SENSOR_NAMES:
        if any(k in sensor for k in keys):
            return name
    return kind


# The first year an instrument model took images; a date before it is a clock or format error.
# ZooScan and microscopes image stored samples, whose sampling dates can be decades older: exempt.
FIRST_USE = {
    "flowcam": date(1998, 1, 1),  # Sieracki et al. 1998, Mar Ecol Prog Ser 168:285-296
    "ifcb": date(2006, 1, 1),  # Olson & Sosik 2007, Limnol Oceanogr Methods 5:195-203 (MVCO 2006)
    "uvp5": date(2008, 1, 1),  # Picheral et al. 2010, Limnol Oceanogr Methods 8:462-473
    "uvp6": date(2017, 1, 1),  # Picheral et al. 2022, Limnol Oceanogr Methods 20:115-129
    "planktoscope": date(2019, 1, 1),  # Pollina et al. 2020 bioRxiv 2020.04.23.056978
}

# Dates clocks fall back to: Unix epoch, GPS epoch, many real-time clocks' reset, Mac/LabVIEW epoch.
DEFAULT_DATES = (date(1970, 1, 1), date(1980, 1, 6), date(2000, 1, 1), date(1904, 1, 1))
# A PlanktoScope without network time starts its clock (no battery) at 2019-02-14 on every boot:
# every run in ../shared/fixtures-real (planktoscope_corrections, planktoscope_export_table's
# acq_local_datetime) starts there; runs of a day or two carry it to the following days.
PLANKTOSCOPE_CLOCK_START = (date(2019, 2, 14), date(2019, 2, 28))

# The pixel sizes an instrument usually has (µm); values outside parse but deserve a look.  The
# parser refuses the wider PIXEL_SIZE_RANGES outright.
USUAL_PIXEL_SIZE = {
    "planktoscope": (0.5, 5.0),  # 0.75-2.8 µm/px by lens pair (Pollina et al. 2022, Front Mar Sci)
    "ifcb": (0.2, 0.5),  # about 3.4 px/µm (0.29 µm) (Olson & Sosik 2007)
    "flowcam": (0.2, 10.0),  # 0.6 µm (20x) to 7 µm (2x) objectives (VisualSpreadsheet cal_const)
    "uvp5": (60.0, 200.0),  # 88 µm (HD) to 174 µm (SD) (Picheral et al. 2010)
    "uvp6": (50.0, 150.0),  # 73 µm (Picheral et al. 2022)
    "zooscan": (5.0, 25.0),  # 10.6 µm at 2400 dpi, 5.3 µm at 4800 dpi (Gorsky et al. 2010)
}

# Volume imaged per image (L).
USUAL_VOLUME_L = {
    "uvp5": (0.2, 2.0),  # about 1 L per image (Picheral et al. 2010)
    "uvp6": (0.2, 2.0),  # about 0.65 L per image (Picheral et al. 2022)
    "ifcb": (1e-6, 0.01),  # at most 5 mL analysed per sample (Olson & Sosik 2007)
    "planktoscope": (1e-7, 0.1),  # µL per frame, mL per run (Pollina et al. 2022)
    "flowcam": (1e-8, 0.1),  # µL to mL per particle or run
}

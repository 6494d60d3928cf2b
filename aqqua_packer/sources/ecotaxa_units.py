"""Pixel size and volume columns of EcoTaxa tables, each in the unit its instrument writes.

EcoTaxa has no unit convention of its own: PlanktoScope writes ``process_pixel`` in µm and
``acq_imaged_volume`` in mL, UVP5/UVP6 ``acq_volimage`` in L and (old UVP5 headers) ``acq_pixel`` in
mm, FlowCam exports VisualSpreadsheet's calibration in µm per pixel.  See docs/instruments.md,
"Field sheets".
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .suggested import col, samples, spec

# FlowCam runs exported for EcoTaxa carry VisualSpreadsheet's calibration (µm per pixel, the
# "Calibration Factor" of its setup and run summary, CalConst in its .ctx and .lst) under these names.
FLOWCAM_CALIBRATION_COLUMNS = (
    "acq_calibration_factor",
    "process_calibration_factor",
    "acq_calibration_constant",
    "acq_cal_const",
    "acq_calconst",
    "process_cal_const",
    "calibration_factor",
    "calibration_constant",
    "calconst",
    "cal_const",
)
FLOWCAM_CALIBRATION = "µm per pixel (FlowCam VisualSpreadsheet calibration)"


def pixel_size_suggestion(rows: pd.DataFrame) -> dict[str, Any] | None:
    """Pixel size from the EcoTaxa columns instruments use, each in its own unit."""
    for name, unit, why in (
        ("process_particle_pixel_size_um", "um", "µm per pixel"),
        ("process_particle_pixel_size_µm", "um", "µm per pixel"),
        ("process_particle_pixel_size_mm", "mm", "mm per pixel"),
        ("process_pixel", "um", "µm per pixel (ZooProcess, PlanktoScope)"),
        *((name, "um", FLOWCAM_CALIBRATION) for name in FLOWCAM_CALIBRATION_COLUMNS),
    ):
        c = col(rows, name)
        if c:
            return spec(
                c,
                f"column {c!r} is the pixel size in {why}: {', '.join(samples(rows, c))}",
                unit=unit,
            )
    c = col(rows, "acq_pixel")
    if c:
        vals = samples(rows, c)
        try:
            v = float(vals[0].replace(",", "."))
        except (ValueError, IndexError):
            v = 0.0
        inst = col(rows, "acq_instrument")
        uvp = not inst or any("uvp" in x.lower() for x in samples(rows, inst))
        if 0 < v < 5 and uvp:
            return spec(
                c,
                f"column {c!r} looks like mm per pixel (older UVP5 headers): {', '.join(vals)}",
                unit="mm",
                confidence=0.7,
            )
        why = "UVP6" if uvp else f"acq_instrument {samples(rows, inst, 1)[0]}"  # type: ignore[arg-type]
        return spec(c, f"column {c!r} is µm per pixel ({why}): {', '.join(vals)}", unit="um")
    return None


# Volume columns EcoTaxa tables carry, each in its instrument's unit (volume_sampled is litres).
VOLUME_COLUMNS = (
    ("acq_imaged_volume", "ml", "millilitres imaged in the acquisition (PlanktoScope)"),
    ("acq_volimage", "l", "litres imaged per image (UVP5, UVP6)"),
)


def volume_suggestion(rows: pd.DataFrame, prefix: str = "") -> dict[str, Any] | None:
    """The imaged volume in the unit its instrument writes it (never the volume pumped or
    filtered: PlanktoScope's ``acq_volume`` is millilitres pumped through the flow cell)."""
    for name, unit, why in VOLUME_COLUMNS:
        c = col(rows, prefix + name)
        if c:
            return spec(c, f"column {c!r} is the {why}: {', '.join(samples(rows, c))}", unit=unit)
    return None

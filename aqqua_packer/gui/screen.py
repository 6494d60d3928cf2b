"""Whether there is a screen to open a window on; no Qt here, so the CLI asks before starting Qt."""

from __future__ import annotations

import os
import sys

from ..problems import UserError


def need_a_screen(command: str) -> None:
    """Qt aborts (exit 134, "Reinstalling the application may fix this problem") when Linux has
    no screen; say so in one line before Qt is started."""
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("QT_QPA_PLATFORM")
    ):
        raise UserError(
            f"`aqqua-packer {command}` needs a screen, and this session has none (no DISPLAY or "
            "WAYLAND_DISPLAY: logged in over ssh?). Start it on the computer's desktop, or use "
            "the commands without a window: aqqua-packer check, pack, send (see aqqua-packer --help).",
            exit_code=2,
        )

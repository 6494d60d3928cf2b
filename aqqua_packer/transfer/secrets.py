"""Passwords in the operating system's keyring (Windows Credential Manager, macOS Keychain, the
Secret Service on Linux), for the CLI and the GUI alike.

Where no keyring works (a headless ship computer, CI), every function degrades to "nothing kept"
instead of failing: the user is asked again, or uses AQQUA_PASSWORD or an SSH key.
"""

from __future__ import annotations

import logging

from .target import Target

log = logging.getLogger("aqqua_packer.transfer")


def get_password(target: Target) -> str | None:
    try:
        import keyring

        return keyring.get_password(target.key, target.user or "")
    except Exception as exc:  # no backend, a locked keyring, a D-Bus error: all mean "not kept"
        log.info("no password from the keyring (%s)", type(exc).__name__)
        return None


def set_password(target: Target, password: str) -> bool:
    """Keep the password; False (and nothing kept) where no keyring is available."""
    try:
        import keyring

        keyring.set_password(target.key, target.user or "", password)
        return True
    except Exception as exc:
        log.info("could not keep the password in the keyring (%s)", type(exc).__name__)
        return False


def forget_password(target: Target) -> None:
    try:
        import keyring

        keyring.delete_password(target.key, target.user or "")
    except Exception as exc:
        log.debug("nothing to forget in the keyring (%s)", type(exc).__name__)

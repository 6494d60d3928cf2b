"""Logging in: the session token lives in the operating system's keyring (never in a file, never
in a log) until EcoTaxa refuses it, then the user is asked for the password again.

The password comes from ``AQQUA_ECOTAXA_PASSWORD``, else the keyring, else the caller's prompt.
Where no keyring works (a headless ship computer, CI), nothing is kept and the user is asked
each time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from .client import Client, EcoTaxaError, SessionExpired

log = logging.getLogger("aqqua_packer.ecotaxa")
PASSWORD_ENV = "AQQUA_ECOTAXA_PASSWORD"


def _service(server: str, what: str) -> str:
    return f"aqqua-packer ecotaxa {what} {server.rstrip('/')}"


def _get(service: str, user: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(service, user)
    except Exception as exc:  # no backend, a locked keyring: "not kept"
        log.info("nothing from the keyring (%s)", type(exc).__name__)
        return None


def _set(service: str, user: str, secret: str) -> bool:
    try:
        import keyring

        keyring.set_password(service, user, secret)
        return True
    except Exception as exc:
        log.info("could not keep it in the keyring (%s)", type(exc).__name__)
        return False


def _delete(service: str, user: str) -> None:
    try:
        import keyring

        keyring.delete_password(service, user)
    except Exception:
        pass


def stored_token(server: str, email: str) -> str | None:
    return _get(_service(server, "token"), email.lower())


def keep_token(server: str, email: str, token: str) -> bool:
    return _set(_service(server, "token"), email.lower(), token)


def forget_token(server: str, email: str) -> None:
    _delete(_service(server, "token"), email.lower())


def stored_password(server: str, email: str) -> str | None:
    return _get(_service(server, "password"), email.lower())


def keep_password(server: str, email: str, password: str) -> bool:
    return _set(_service(server, "password"), email.lower(), password)


def connect(
    server: str,
    email: str,
    ask_password: Callable[[], str | None] | None = None,
    *,
    password: str | None = None,
    use_keyring: bool = True,
    timeout: float = 60.0,
) -> Client:
    """A logged-in client: the kept token when EcoTaxa still accepts it, else a fresh login.

    If the token expires during the run, the client logs in again the same way (once per
    request) and keeps the new token.
    """
    email = email.strip()
    if not email:
        raise EcoTaxaError("give your EcoTaxa e-mail (--user EMAIL)")

    def get_password() -> str:
        pw = password or os.environ.get(PASSWORD_ENV)
        if not pw and use_keyring:
            pw = stored_password(server, email)
        if not pw and ask_password:
            pw = ask_password()
        if not pw:
            raise SessionExpired(
                f"no EcoTaxa password for {email}: set {PASSWORD_ENV}, or run this on a terminal "
                "to be asked"
            )
        return pw

    def fresh_token() -> str:
        token = Client(server, timeout=timeout).login(email, get_password())
        if use_keyring:
            keep_token(server, email, token)
        return token

    client = Client(server, timeout=timeout)
    token = stored_token(server, email) if use_keyring else None
    if token:
        client.token = token
        try:
            me = client.call("GET", "/users/me", retry=False)
            if (me.get("email") or "").lower() == email.lower():
                client._me = me
            else:
                token = None
        except SessionExpired:
            log.info("the kept EcoTaxa session has expired; asking for the password again")
            forget_token(server, email)
            token = None
    if not token:
        client.token = fresh_token()
    client.relogin = fresh_token
    return client

"""A small client for EcoTaxa's JSON API (stdlib HTTP only).

Every failure becomes one ``EcoTaxaError`` line a user can act on: a wrong password, an expired
session, no rights, a project that does not exist, the server unreachable.  The session token is
sent as ``Authorization: Bearer`` and never logged.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..problems import UserError

log = logging.getLogger("aqqua_packer.ecotaxa")

DEFAULT_SERVER = "https://ecotaxa.obs-vlfr.fr/api"
AQQUA_EMAIL = "aqqua@geomar.de"
RIGHTS = ("Manage", "Annotate", "View")  # the only privileges (BO/ProjectPrivilege.py:18-20)
LISTS = {"Manage": "managers", "Annotate": "annotators", "View": "viewers"}
ACCESS = {"0": "private", "1": "public", "2": "open"}


class EcoTaxaError(UserError):
    """One line for the user; ``status`` is the HTTP status (0 when the server was not reached)."""

    def __init__(self, message: str, *, status: int = 0, detail: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail


class SessionExpired(EcoTaxaError):
    """The token was refused (401): log in again."""


class WrongPassword(EcoTaxaError):
    pass


class NoRights(EcoTaxaError):
    pass


class NotFound(EcoTaxaError):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


def person(user: dict[str, Any] | None) -> str:
    """'Name <email>' for a MinUserModel."""
    if not user:
        return "nobody"
    return f"{user.get('name') or '?'} <{user.get('email') or '?'}>"


def right_of(project: dict[str, Any], user_id: int) -> str:
    """The user's privilege on a project, derived from the member lists (the API's
    ``highest_right`` is always "" in listings, facts: GET /projects/search)."""
    for right in RIGHTS:
        if any(u.get("id") == user_id for u in project.get(LISTS[right]) or []):
            return right
    return ""


def managers_text(project: dict[str, Any]) -> str:
    return ", ".join(person(u) for u in project.get("managers") or []) or "its managers"


class Client:
    """One EcoTaxa server, one user session.

    ``relogin`` (optional) is called once when the server answers 401 (the token expired during a
    run); it returns a fresh token, and the request is sent again.  A 401 happens before anything
    is changed on the server, so repeating the request is safe.
    """

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        relogin: Callable[[], str] | None = None,
    ):
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.relogin = relogin
        self._me: dict[str, Any] | None = None

    # --- transport ---------------------------------------------------------------------------
    def open(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ):
        """The raw response object (for streaming); HTTP errors are raised as EcoTaxaError."""
        url = self.server + path
        data = None
        hdrs = {"Accept": "application/json", "User-Agent": "aqqua-packer"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if auth and self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        hdrs.update(headers or {})
        req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            exc.close()
            raise self._error(exc.code, raw, method, path) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EcoTaxaError(
                f"cannot reach the EcoTaxa server at {self.server} ({reason}); check the address "
                "and your internet connection"
            ) from None

    def call(
        self, method: str, path: str, *, body: Any = None, auth: bool = True, retry: bool = True
    ) -> Any:
        try:
            with self.open(method, path, body=body, auth=auth) as resp:
                raw = resp.read()
        except SessionExpired:
            if not (retry and self.relogin):
                raise
            log.info("the EcoTaxa session expired; logging in again")
            self.token = self.relogin()
            return self.call(method, path, body=body, auth=auth, retry=False)
        return json.loads(raw.decode("utf-8")) if raw else None

    def _error(self, status: int, raw: bytes, method: str, path: str) -> EcoTaxaError:
        text = raw.decode("utf-8", "replace")
        detail: Any = text
        try:
            detail = json.loads(text).get("detail", text)
        except (ValueError, AttributeError):
            pass
        log.info("EcoTaxa %s %s -> %s %s", method, path.split("?")[0], status, str(detail)[:200])
        if status == 401:
            return SessionExpired(
                "your EcoTaxa session has expired; log in again", status=status, detail=str(detail)
            )
        if status == 403 and detail == "Not authenticated":
            return SessionExpired("you are not logged in to EcoTaxa", status=status)
        if status == 403:
            return NoRights(
                f"EcoTaxa refused: you have no rights for this ({method} {path.split('?')[0]})",
                status=status,
                detail=str(detail),
            )
        if status == 404:
            return NotFound(f"not found on EcoTaxa: {path.split('?')[0]}", status=status)
        if status == 422:
            if isinstance(detail, list):
                detail = "; ".join(
                    f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail
                )
            return EcoTaxaError(
                f"EcoTaxa refused the request: {detail}", status=status, detail=str(detail)
            )
        if status >= 500:
            return EcoTaxaError(
                f"the EcoTaxa server failed ({status}) on {method} {path.split('?')[0]}",
                status=status,
                detail=text[:500],
            )
        return EcoTaxaError(
            f"EcoTaxa answered {status}: {detail}", status=status, detail=str(detail)
        )

    # --- users -------------------------------------------------------------------------------
    def login(self, email: str, password: str) -> str:
        try:
            token = self.call(
                "POST", "/login", body={"username": email, "password": password}, auth=False
            )
        except NoRights:
            raise WrongPassword(
                f"EcoTaxa did not accept the e-mail or password for {email} at {self.server}",
                status=403,
            ) from None
        if not isinstance(token, str) or not token:
            raise EcoTaxaError(f"{self.server} did not answer like an EcoTaxa server to the login")
        self.token = token
        self._me = None
        return token

    def me(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self.call("GET", "/users/me")
        return self._me

    def search_users(self, name_pattern: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"by_name": name_pattern})
        return self.call("GET", f"/users/search?{q}") or []

    def user(self, user_id: int) -> dict[str, Any]:
        try:
            return self.call("GET", f"/users/{int(user_id)}")
        except NotFound:
            raise NotFound(f"there is no EcoTaxa user number {user_id}", status=404) from None

    def find_user(self, email_or_id: str) -> dict[str, Any]:
        """The user with this e-mail.  EcoTaxa searches names only (never e-mails, facts:
        GET /users/search), so search by the parts of the e-mail's local part and match the
        e-mail here.  A number is taken as the user id."""
        if str(email_or_id).isdigit():
            return self.user(int(email_or_id))
        email = email_or_id.strip().lower()
        local = email.split("@")[0]
        tried = []
        for part in [
            local,
            *[p for p in local.replace("-", ".").replace("_", ".").split(".") if p],
        ]:
            if part in tried or len(part) < 2:
                continue
            tried.append(part)
            for u in self.search_users(f"%{part}%"):
                if (u.get("email") or "").lower() == email:
                    return u
        raise NotFound(
            f"no active EcoTaxa user with the e-mail {email_or_id} (searched the names "
            f"{', '.join(tried)}); give the user's number instead",
            status=404,
        )

    # --- projects ----------------------------------------------------------------------------
    def session_renewed(self) -> bool:
        """True when the token had expired and a fresh one was obtained.  The project routes
        take a bad token for an anonymous visitor instead of answering 401 (facts: common
        rules), so after a refusal or an anonymous-looking answer, ask a route that does say."""
        before = self.token
        self._me = None
        self.me()
        return self.token != before

    def projects(self, *, for_managing: bool = False) -> list[dict[str, Any]]:
        q = "?for_managing=true" if for_managing else ""
        found = self.call("GET", f"/projects/search{q}") or []
        anonymous = all(not p.get("contact") and not p.get("managers") for p in found)
        if anonymous and self.session_renewed():
            found = self.call("GET", f"/projects/search{q}") or []
        return sorted(found, key=lambda p: p["projid"])

    def project(self, projid: int, *, for_managing: bool = False) -> dict[str, Any]:
        q = "?for_managing=true" if for_managing else ""
        try:
            try:
                return self.call("GET", f"/projects/{int(projid)}{q}")
            except NoRights:
                if not self.session_renewed():
                    raise
                return self.call("GET", f"/projects/{int(projid)}{q}")
        except NotFound:
            raise NotFound(
                f"project {projid} does not exist on {self.server}", status=404
            ) from None

    def update_project(self, projid: int, model: dict[str, Any]) -> None:
        """PUT the *whole* project: EcoTaxa replaces, it does not patch (facts: PUT /projects)."""
        self.call("PUT", f"/projects/{int(projid)}", body=model)

    # --- exports and jobs --------------------------------------------------------------------
    def start_export(self, projid: int, *, with_images: str = "all") -> int:
        body = {
            "filters": {},
            "request": {"project_id": int(projid), "split_by": "none", "with_images": with_images},
        }
        return int(self.call("POST", "/object_set/export/general", body=body)["job_id"])

    def job(self, job_id: int) -> dict[str, Any]:
        return self.call("GET", f"/jobs/{int(job_id)}/")  # the trailing slash is required

    def open_job_file(self, job_id: int, start: int = 0):
        headers = {"Range": f"bytes={start}-"} if start else {}
        try:
            return self.open("GET", f"/jobs/{int(job_id)}/file", headers=headers)
        except SessionExpired:
            if not self.relogin:
                raise
            self.token = self.relogin()
            return self.open("GET", f"/jobs/{int(job_id)}/file", headers=headers)

"""Grant or revoke *View* on many EcoTaxa projects, safely.

EcoTaxa's PUT /projects/{id} replaces the whole project (facts: PUT /projects), so every change
here is: read the project for managing, change only the viewer list, write it all back, read it
again and check that every other member, every right and the contact are as before.  A user is
never added when they are already in a list (the server fails with a 500), projects the user
cannot manage are left alone (and their managers named), and a second run changes nothing.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..progress import Task
from .client import (
    LISTS,
    Client,
    EcoTaxaError,
    NoRights,
    NotFound,
    managers_text,
    person,
    right_of,
)

log = logging.getLogger("aqqua_packer.ecotaxa")

# Fields the server computes or fills on reading; they are not part of what a PUT keeps.
VOLATILE = {"objcount", "pctvalidated", "pctclassified", "highest_right"}
MEMBER_LISTS = ("managers", "annotators", "viewers")


class RunStopped(EcoTaxaError):
    """EcoTaxa refused or failed a change; the run stops there."""


class VerificationFailed(RunStopped):
    """After a write, the project differs from what was meant beyond the viewer list."""


def _stopped(report: Report, out: Outcome, on_outcome) -> None:
    report.outcomes.append(out)
    if on_outcome:
        on_outcome(out)


@dataclass
class Outcome:
    """What happened (or would happen) to one project."""

    projid: int
    title: str = ""
    action: str = "none"  # "add", "remove", "none", "refused", "missing", "failed"
    message: str = ""
    done: bool = False  # the change was written and read back

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self, dry_run: bool) -> str:
        head = f"project {self.projid}" + (f" “{self.title}”" if self.title else "")
        return f"{head}: {self.message}"


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(o.action in ("add", "remove", "none") for o in self.outcomes)

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.done]


def _ids(users: Iterable[dict[str, Any]] | None) -> list[int]:
    return sorted(int(u["id"]) for u in users or [])


def members(project: dict[str, Any]) -> dict[str, list[int]]:
    return {k: _ids(project.get(k)) for k in MEMBER_LISTS}


def differences(
    before: dict[str, Any], after: dict[str, Any], viewer_id: int, grant: bool
) -> list[str]:
    """What differs between the project before and after the write, except the one viewer."""
    out = []
    want = members(before)
    want["viewers"] = sorted(
        set(want["viewers"]) | {viewer_id} if grant else set(want["viewers"]) - {viewer_id}
    )
    got = members(after)
    for k in MEMBER_LISTS:
        if want[k] != got[k]:
            out.append(f"{k} should be {want[k]} but are {got[k]}")
    b_contact = (before.get("contact") or {}).get("id")
    a_contact = (after.get("contact") or {}).get("id")
    if b_contact != a_contact:
        out.append(f"the contact was user {b_contact}, now {a_contact}")
    for k in sorted(set(before) | set(after)):
        if k in VOLATILE or k in MEMBER_LISTS or k == "contact":
            continue
        b, a = before.get(k), after.get(k)
        if k == "bodc_variables":  # keys never sent read back as null after a PUT (facts)
            b = {kk: vv for kk, vv in (b or {}).items() if vv is not None}
            a = {kk: vv for kk, vv in (a or {}).items() if vv is not None}
        if b != a:
            out.append(f"{k} was {b!r}, now {a!r}")
    return out


def _where(user: dict[str, Any], project: dict[str, Any]) -> str:
    for right, lst in LISTS.items():
        if any(u.get("id") == user["id"] for u in project.get(lst) or []):
            return right
    return ""


def _refusal(client: Client, projid: int, me_id: int) -> Outcome:
    """The user cannot manage this project: say which right they have and who manages it."""
    try:
        p = client.project(projid)
    except NoRights:
        return Outcome(
            projid, action="refused", message="you have no rights on it; nothing changed"
        )
    mine = right_of(p, me_id) or "no"
    return Outcome(
        projid,
        p.get("title", ""),
        action="refused",
        message=(
            f"you have {mine} rights only, and sharing needs Manage; nothing changed. "
            f"Ask its managers: {managers_text(p)}"
        ),
    )


def change_viewer(
    client: Client,
    projids: Iterable[int],
    viewer: dict[str, Any],
    *,
    grant: bool,
    dry_run: bool = False,
    task: Task | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Report:
    """Grant (``grant=True``) or revoke View for ``viewer`` (a MinUserModel) on each project.

    Stops with ``VerificationFailed`` as soon as a project reads back different from what was
    written beyond the viewer list; the projects done before it are in the exception's report.
    """
    task = task or Task()
    ids = list(dict.fromkeys(int(i) for i in projids))
    me_id = int(client.me()["id"])
    report = Report(dry_run=dry_run)
    task.start("share" if grant else "unshare", len(ids), unit="projects")
    who = person(viewer)
    for projid in ids:
        task.check()
        try:
            out = _one(client, projid, viewer, who, me_id, grant=grant, dry_run=dry_run)
        except VerificationFailed as exc:
            _stopped(report, Outcome(projid, action="failed", message=str(exc)), on_outcome)
            exc.report = report  # type: ignore[attr-defined]
            raise
        except EcoTaxaError as exc:  # a 500, a 422, the server gone: stop, and say where
            if exc.status in (0, 401, 403) and not isinstance(exc, NoRights):
                raise
            stop = RunStopped(
                f"project {projid}: {exc}; EcoTaxa kept the project as it was. Stopped; the "
                "projects after it were not touched",
                status=exc.status,
                detail=exc.detail,
            )
            _stopped(report, Outcome(projid, action="failed", message=str(stop)), on_outcome)
            stop.report = report  # type: ignore[attr-defined]
            raise stop from None
        report.outcomes.append(out)
        if on_outcome:
            on_outcome(out)
        task.advance(1)
    task.finish()
    return report


def _one(
    client: Client,
    projid: int,
    viewer: dict[str, Any],
    who: str,
    me_id: int,
    *,
    grant: bool,
    dry_run: bool,
) -> Outcome:
    try:
        before = client.project(projid, for_managing=True)
    except NotFound as exc:
        return Outcome(projid, action="missing", message=str(exc))
    except NoRights:
        return _refusal(client, projid, me_id)
    title = before.get("title", "")
    has = _where(viewer, before)
    would = "would be" if dry_run else "was"
    if grant:
        if has:
            return Outcome(
                projid, title, "none", f"{who} can already see it ({has}); nothing to do"
            )
        action, msg = (
            "add",
            f"{who} {would} added as a viewer; nothing else {'would change' if dry_run else 'changed'}",
        )
    else:
        if not has:
            return Outcome(projid, title, "none", f"{who} has no access to it; nothing to do")
        if has != "View":
            return Outcome(
                projid,
                title,
                "none",
                f"{who} is a {'manager' if has == 'Manage' else 'annotator'} there, not only a "
                "viewer; left as it is (change it in EcoTaxa if that is meant)",
            )
        action, msg = (
            "remove",
            f"{who} {would} removed from the viewers; nothing else {'would change' if dry_run else 'changed'}",
        )
    contact = before.get("contact") or {}
    if contact and contact.get("id") not in _ids(before.get("managers")):
        return Outcome(
            projid,
            title,
            "refused",
            f"its contact {person(contact)} is not among its managers, so EcoTaxa would refuse "
            "any change; fix the contact in EcoTaxa first",
        )
    if dry_run:
        return Outcome(projid, title, action, msg)
    model = copy.deepcopy(before)
    if grant:
        model["viewers"] = list(model.get("viewers") or []) + [
            {k: viewer.get(k) for k in ("id", "email", "name", "organisation")}
        ]
    else:
        model["viewers"] = [u for u in model.get("viewers") or [] if u.get("id") != viewer["id"]]
    model["projid"] = projid
    client.update_project(projid, model)
    after = client.project(projid, for_managing=True)
    diffs = differences(before, after, int(viewer["id"]), grant)
    if diffs:
        raise VerificationFailed(
            f"project {projid} “{title}” reads back different from what was written: "
            + "; ".join(diffs)
            + ". Stopped; no other project was touched after it"
        )
    return Outcome(projid, title, action, msg, done=True)


def managed_ids(client: Client) -> list[int]:
    return [int(p["projid"]) for p in client.projects(for_managing=True)]


def shared_ids(client: Client, viewer: dict[str, Any]) -> list[int]:
    """Projects listed for the user where ``viewer`` is a viewer."""
    return [
        int(p["projid"])
        for p in client.projects()
        if any(u.get("id") == viewer["id"] for u in p.get("viewers") or [])
    ]

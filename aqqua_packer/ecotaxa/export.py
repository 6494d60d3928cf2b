"""Export one EcoTaxa project with its images, download the zip (resuming where a download broke
off), and check it with the packer's own EcoTaxa reader so ``aqqua-packer pack DIR`` works.

Facts used (../shared/ecotaxa-api-facts.md): POST /object_set/export/general with
``{"filters": {}, "request": {...}}``; exporting with images needs Manage (View never suffices);
GET /jobs/{id}/ needs its trailing slash; GET /jobs/{id}/file before the job is finished fails
with a 500, so it is only asked for once the job's state is "F"; the file answers ``Range:
bytes=N-`` with 206.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..problems import UserError
from ..progress import Task
from .client import Client, EcoTaxaError, NoRights, managers_text, right_of

log = logging.getLogger("aqqua_packer.ecotaxa")
STATES = {"P": "waiting", "R": "running", "A": "asking a question", "E": "failed", "F": "finished"}


@dataclass
class Exported:
    projid: int
    job_id: int
    zip_path: Path
    images: int
    resumed_at: list[int]  # byte offsets a broken download was resumed from


def _state_path(out: Path, projid: int) -> Path:
    return out / f".ecotaxa-export-{projid}.json"


def _filename(disposition: str | None, projid: int, job_id: int) -> str:
    m = re.search(r'filename="?([^";]+)"?', disposition or "")
    name = Path(m.group(1)).name if m else ""
    return name if name.endswith(".zip") else f"export_{projid}_job{job_id}.zip"


def start_or_resume_job(client: Client, projid: int, out: Path) -> int:
    """The job of an earlier interrupted run, when it is still there; else a new export job."""
    state = _read_state(out, projid)
    if state and state.get("server") == client.server:
        try:
            job = client.job(int(state["job_id"]))
            if job.get("state") in ("P", "R", "F"):
                log.info("continuing export job %s", state["job_id"])
                return int(state["job_id"])
        except EcoTaxaError:
            pass
    project = client.project(projid)
    try:
        job_id = client.start_export(projid, with_images="all")
    except NoRights:
        mine = right_of(project, int(client.me()["id"])) or "no"
        raise NoRights(
            f"EcoTaxa refuses to export project {projid} “{project.get('title', '')}” with its "
            f"images: that needs Manage rights, and you have {mine} rights. Ask its managers "
            f"({managers_text(project)}) to export it or to make you a manager",
            status=403,
        ) from None
    _write_state(out, projid, {"server": client.server, "job_id": job_id})
    return job_id


def _read_state(out: Path, projid: int) -> dict | None:
    try:
        return json.loads(_state_path(out, projid).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_state(out: Path, projid: int, state: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    p = _state_path(out, projid)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, p)


def wait_for_job(client: Client, job_id: int, task: Task, poll_seconds: float = 5.0) -> dict:
    """Poll the job until it is finished (EcoTaxa's scheduler runs every 5 s)."""
    task.start("export", 100, unit="%")
    last = -1
    while True:
        task.check()
        job = client.job(job_id)
        state = job.get("state")
        pct = int(job.get("progress_pct") or 0)
        if pct != last:
            task.advance(max(0, pct - max(last, 0)))
            last = pct
        task.status(
            f"EcoTaxa is preparing the export: {STATES.get(state, state)}, "
            f"{job.get('progress_msg') or ''}".rstrip(", ")
        )
        if state == "F":
            return job
        if state == "E":
            raise EcoTaxaError(
                f"EcoTaxa could not export (job {job_id}): "
                + ("; ".join(job.get("errors") or []) or "no reason given")
            )
        if state == "A":
            raise EcoTaxaError(
                f"EcoTaxa's export job {job_id} is waiting for an answer; open it on the EcoTaxa "
                "site (Jobs) to answer, then run this again"
            )
        time.sleep(poll_seconds)


def download(
    client: Client, job_id: int, out: Path, projid: int, task: Task, attempts: int = 5
) -> tuple[Path, list[int]]:
    """Download the job's zip into ``out``; a broken connection resumes with ``Range: bytes=N-``
    from what is already on disk (``.part``), here and in a later run."""
    out.mkdir(parents=True, exist_ok=True)
    state = _read_state(out, projid) or {}
    name = state.get("file") if state.get("job_id") == job_id else None
    resumed: list[int] = []
    total = state.get("size") if name else None
    for _attempt in range(attempts):
        task.check()
        part = out / f"{name}.part" if name else None
        start = part.stat().st_size if part and part.exists() else 0
        if start and total and start >= total:
            break
        try:
            resp = client.open_job_file(job_id, start)
        except EcoTaxaError as exc:
            if exc.status == 416 and start:  # our part is already whole (or stale): start over
                part.unlink()
                continue
            raise
        with resp:
            if not name:
                name = _filename(resp.headers.get("content-disposition"), projid, job_id)
                part = out / f"{name}.part"
            if start and resp.status != 206:
                start = 0  # the server sent the whole file again
            length = resp.headers.get("content-length")
            total = start + int(length) if length is not None else None
            _write_state(
                out,
                projid,
                {"server": client.server, "job_id": job_id, "file": name, "size": total},
            )
            if start:
                resumed.append(start)
            task.start("download", None, unit="files", bytes_total=total)
            task.advance(0, start)
            try:
                with open(part, "ab" if start else "wb") as fh:
                    while True:
                        task.check()
                        chunk = resp.read(256 * 1024)
                        if not chunk:
                            break
                        fh.write(chunk)
                        task.advance(0, len(chunk))
                    fh.flush()
                    os.fsync(fh.fileno())
            except (OSError, ConnectionError, http.client.HTTPException) as exc:
                log.info("download broke off at %s bytes (%s); resuming", part.stat().st_size, exc)
                continue
        if total is None or part.stat().st_size >= total:
            break
        log.info("download ended early at %s of %s bytes; resuming", part.stat().st_size, total)
    else:
        raise EcoTaxaError(
            f"the download of export job {job_id} kept breaking off; run the same command again "
            "to continue it"
        )
    part = out / f"{name}.part"
    final = out / name
    if part.exists():
        if total is not None and part.stat().st_size != total:
            raise EcoTaxaError(
                f"{part}: the download is {part.stat().st_size} bytes, not {total}; run again"
            )
        try:
            with zipfile.ZipFile(part) as z:
                bad = z.testzip()
        except zipfile.BadZipFile:
            part.unlink()
            raise EcoTaxaError(
                f"{part}: EcoTaxa's export is not a readable zip; run again"
            ) from None
        if bad:
            part.unlink()
            raise EcoTaxaError(f"{part}: {bad} is damaged in the download; run again")
        os.replace(part, final)
    task.finish(f"downloaded {final.name}")
    return final, resumed


def export_project(
    client: Client, projid: int, out: Path, task: Task | None = None, *, poll_seconds: float = 5.0
) -> Exported:
    """Export ``projid`` with images into ``out`` and check the zip with the EcoTaxa reader."""
    from ..sources.registry import scan_path

    task = task or Task()
    out = Path(out)
    job_id = start_or_resume_job(client, projid, out)
    wait_for_job(client, job_id, task, poll_seconds)
    path, resumed = download(client, job_id, out, projid, task)
    scans = scan_path(path, task)
    images = sum(len(s.images) for s in scans)
    if not images:
        raise UserError(f"{path}: the export holds no images the packer can read")
    _state_path(out, projid).unlink(missing_ok=True)
    return Exported(projid, job_id, path, images, resumed)

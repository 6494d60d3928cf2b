"""Hand a package to Globus: stage it where Globus Connect Personal shares, then transfer.

Target: ``globus://AQQUA_ENDPOINT_ID/destination/folder``.  The package is staged into the shared
folder (hard links when it is on the same disk, otherwise a verified copy through the drive
target), next to it go ``NAME.globus-batch.txt`` (for ``globus transfer --batch``) and
``NAME.checksums.sha256`` (every file, manifest included, for AqQua to check).  When ``globus-sdk``
is installed (``pip install aqqua-packer[globus]``) and ``GLOBUS_CLIENT_ID`` and
``GLOBUS_CLIENT_SECRET`` name a Globus app the contributor registered, the transfer is submitted
with checksum verification; otherwise the result's notes give the exact steps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..problems import UserError
from ..progress import Task
from .base import SendOptions
from .engine import FileState, SendResult, send_with_session
from .manifest import LocalPackage
from .target import Target

GCP_PATHS = Path.home() / ".globusonline" / "lta" / "config-paths"


def shared_folder(options: SendOptions) -> Path:
    """The folder to stage into: --globus-share, else the first one Globus Connect Personal shares."""
    if options.globus_share is not None:
        return Path(options.globus_share).expanduser().resolve()
    if GCP_PATHS.is_file():
        for line in GCP_PATHS.read_text(encoding="utf-8", errors="replace").splitlines():
            path = line.split(",")[0].strip()
            if path and not path.startswith("#"):
                return Path(path).expanduser().resolve()
    raise UserError(
        "Which folder does Globus Connect Personal share? Give it with --globus-share FOLDER "
        "(in Globus Connect Personal: Preferences → Access)."
    )


def _stage_by_links(pkg: LocalPackage, dest: Path) -> bool:
    """Hard-link every file into ``dest`` (same disk: instant, no space); False if that is impossible."""
    made: list[Path] = []
    try:
        for f in pkg.all_files:
            target = dest.joinpath(*f.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                if os.path.samefile(target, pkg.local(f)):
                    continue
                target.unlink()
            os.link(pkg.local(f), target)
            made.append(target)
        return True
    except OSError:
        for p in made:
            p.unlink(missing_ok=True)
        return False


def _endpoint_path(path: Path) -> str:
    """How Globus Connect Personal names a local path (Windows drives become /C/…)."""
    text = path.as_posix()
    if len(text) > 1 and text[1] == ":":
        text = "/" + text[0].upper() + text[2:]
    return text


def send_globus(pkg: LocalPackage, tgt: Target, options: SendOptions, task: Task) -> SendResult:
    share = shared_folder(options)
    if not share.is_dir():
        raise UserError(f"{share}: the Globus shared folder does not exist.")
    dest = share / pkg.name
    t0 = time.monotonic()
    notes: list[str] = []
    linked = options.copy_mode in ("auto", "link") and _stage_by_links(pkg, dest)
    if not linked:
        if options.copy_mode == "link":
            raise UserError(
                f"{share}: cannot hard-link the package there (another disk?); use copy mode."
            )
        copy = send_with_session(pkg, Target("folder", local=share), options, task)
        if not copy.complete:
            copy.notes.insert(
                0, "Staging for Globus stopped before it finished; run the same command again."
            )
            return copy
        notes.append(f"Copied and verified the package into {dest}.")
    else:
        notes.append(f"Linked the package into {dest} (same disk: no extra space used).")
    readme_free = [f"{pkg.name}/{f.path}" for f in pkg.all_files]
    batch = share / f"{pkg.name}.globus-batch.txt"
    batch.write_text("".join(f"{p} {p}\n" for p in readme_free), encoding="utf-8")
    sums = share / f"{pkg.name}.checksums.sha256"
    sums.write_text(
        "".join(f"{f.sha256}  {pkg.name}/{f.path}\n" for f in pkg.all_files), encoding="utf-8"
    )
    src_ep = options.globus_source_endpoint or os.environ.get("GLOBUS_SOURCE_ENDPOINT")
    dest_path = tgt.path.rstrip("/") + "/"
    submitted = _submit(pkg, share, src_ep, tgt.host, dest_path, notes)
    if not submitted:
        notes.append(
            "To send it with the Globus CLI:  globus transfer --batch "
            f"{batch} --verify-checksum --sync-level checksum --label 'AqQua {pkg.name}' "
            f"{src_ep or 'YOUR_ENDPOINT_ID'}:{_endpoint_path(share)}/ {tgt.host}:{dest_path}"
        )
        notes.append(
            f"Or in the Globus web app (app.globus.org): File Manager → left: your endpoint, folder "
            f"{_endpoint_path(share)}, select {pkg.name}; right: collection {tgt.host}, path {dest_path}; "
            "Transfer & Sync Options: tick 'verify file integrity after transfer'; Start."
        )
    states = [
        FileState(f.path, f.size, f.sha256, "arrived", f.size, "staged") for f in pkg.all_files
    ]
    task.finish(f"{pkg.name}: staged for Globus in {dest}")
    return SendResult(
        package=pkg.root,
        target=tgt.canonical,
        journal=batch,
        files=states,
        complete=False,
        stopped="handed off to Globus",
        elapsed=time.monotonic() - t0,
        notes=notes,
        handed_off=True,
    )


def _submit(
    pkg: LocalPackage,
    share: Path,
    src_ep: str | None,
    dst_ep: str,
    dest_path: str,
    notes: list[str],
) -> bool:
    """Submit with globus-sdk when it is installed and app credentials are set; say why not otherwise."""
    try:
        import globus_sdk  # type: ignore[import-not-found]
    except ImportError:
        notes.append(
            "globus-sdk is not installed (pip install 'aqqua-packer[globus]'), so nothing was submitted."
        )
        return False
    client_id, secret = os.environ.get("GLOBUS_CLIENT_ID"), os.environ.get("GLOBUS_CLIENT_SECRET")
    if not (client_id and secret and src_ep):
        notes.append(
            "GLOBUS_CLIENT_ID, GLOBUS_CLIENT_SECRET and your endpoint id are not all set, so nothing was submitted."
        )
        return False
    auth = globus_sdk.ConfidentialAppAuthClient(client_id, secret)
    authorizer = globus_sdk.ClientCredentialsAuthorizer(auth, globus_sdk.TransferClient.scopes.all)
    tc = globus_sdk.TransferClient(authorizer=authorizer)
    data = globus_sdk.TransferData(
        source_endpoint=src_ep,
        destination_endpoint=dst_ep,
        label=f"AqQua {pkg.name}"[:128],
        sync_level="checksum",
        verify_checksum=True,
    )
    for f in pkg.all_files:
        data.add_item(
            f"{_endpoint_path(share)}/{pkg.name}/{f.path}", f"{dest_path}{pkg.name}/{f.path}"
        )
    try:
        result = tc.submit_transfer(data)
    except globus_sdk.GlobusAPIError as exc:
        raise UserError(f"Globus refused the transfer: {exc.message}") from exc
    notes.append(
        f"Submitted Globus transfer task {result['task_id']}; follow it at https://app.globus.org/activity."
    )
    return True

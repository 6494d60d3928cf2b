"""Sending a package: one engine, kinds of target in a registry (``target.KIND_MODULES``): sftp,
ftp/ftps, a folder or drive, Globus, WebDAV, Nextcloud, any rclone remote.

``send_package(package, target, options, task)`` sends (or resumes sending) the files listed in the
package's ``manifest.sha256``, the manifest last, and returns a ``SendResult``.  ``plan(package,
target)`` tells, from the journal alone and without touching the network, what has arrived.
"""

from .base import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyInfo,
    HostKeyUnknown,
    PasswordNeeded,
    RemoteFullError,
    RemoteQuotaError,
    SendOptions,
)
from .engine import EXIT_INCOMPLETE, FileState, Plan, SendResult, plan, send_package
from .manifest import MANIFEST, LocalPackage, PackageFile, read_package
from .target import (
    Target,
    TargetKind,
    kind_for,
    kinds,
    parse_duration,
    parse_rate,
    parse_target,
    register,
)

__all__ = [
    "EXIT_INCOMPLETE",
    "MANIFEST",
    "AuthenticationFailed",
    "FileState",
    "HostKeyChanged",
    "HostKeyInfo",
    "HostKeyUnknown",
    "RemoteQuotaError",
    "LocalPackage",
    "PackageFile",
    "PasswordNeeded",
    "Plan",
    "SendOptions",
    "SendResult",
    "RemoteFullError",
    "Target",
    "TargetKind",
    "kind_for",
    "kinds",
    "register",
    "parse_duration",
    "parse_rate",
    "parse_target",
    "plan",
    "read_package",
    "send_package",
]

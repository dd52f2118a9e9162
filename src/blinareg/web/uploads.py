"""Uploaded import files waiting between the dry run and the confirmation, kept on the server's disk.

A pending upload is a folder `<upload dir>/<sha256(token)>/` holding the uploaded file (or the unpacked CSV
folder) and `pending.json`: who uploaded it, their centers at the time, the registry it is for, what kind of
file it is, the REDCap data access group mapping, and when it expires. Only the hash of the random token
names the folder, so a directory listing gives no token away. Every server process (`blinareg serve
--workers N`) sees the same folders, and they survive a restart. A confirmation claims the folder by
renaming it (atomic: two confirmations of one upload cannot both import), after checking that the same user
with the same centers confirms before expiry. Expired folders and the leftovers of interrupted requests are
removed whenever an upload is checked or confirmed.

Settings (environment, read when the app is made): BLINAREG_MAX_UPLOAD_MB (default 100),
BLINAREG_UPLOAD_DIR (default `<system temp dir>/blinareg-uploads`; with server processes on several
machines it must be a shared folder), BLINAREG_UPLOAD_EXPIRY_MINUTES (default 60).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from blinareg.errors import UserError

MAX_UPLOAD_SETTING = "BLINAREG_MAX_UPLOAD_MB"
UPLOAD_DIR_SETTING = "BLINAREG_UPLOAD_DIR"
UPLOAD_EXPIRY_SETTING = "BLINAREG_UPLOAD_EXPIRY_MINUTES"
DEFAULT_MAX_UPLOAD_MB = 100
DEFAULT_EXPIRY_MINUTES = 60
_METADATA = "pending.json"
_STAGING = "incoming-"  # a folder being written by a dry run
_CLAIMED = "claimed-"  # a folder being imported by a confirmation
_MB = 1024 * 1024


def _positive_number(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{name}={text!r}: expected a whole number") from None
    if value < 1:
        raise UserError(f"{name}={text!r}: expected a number of 1 or more")
    return value


@dataclass(frozen=True)
class UploadSettings:
    max_bytes: int = DEFAULT_MAX_UPLOAD_MB * _MB
    directory: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "blinareg-uploads")
    expiry: dt.timedelta = dt.timedelta(minutes=DEFAULT_EXPIRY_MINUTES)

    @classmethod
    def from_environment(cls) -> UploadSettings:
        directory = os.environ.get(UPLOAD_DIR_SETTING, "").strip()
        return cls(
            max_bytes=_positive_number(MAX_UPLOAD_SETTING, DEFAULT_MAX_UPLOAD_MB) * _MB,
            directory=Path(directory) if directory else cls().directory,
            expiry=dt.timedelta(minutes=_positive_number(UPLOAD_EXPIRY_SETTING, DEFAULT_EXPIRY_MINUTES)),
        )

    @property
    def limit_text(self) -> str:
        """The limit in words, for the refusal of a larger upload."""
        size = f"{self.max_bytes / _MB:g} MB" if self.max_bytes >= _MB else f"{self.max_bytes} bytes"
        return f"{size} (the server's setting {MAX_UPLOAD_SETTING})"


@dataclass(frozen=True)
class Upload:
    """An uploaded file kept between the dry run and the confirmation."""

    owner: str
    centers: tuple[str, ...]  # the owner's centers when uploading: confirming needs the same
    registry: str  # a hash of the database URL: an upload belongs to one registry
    folder: Path
    path: Path  # the file or the unpacked folder the reader reads
    name: str  # the file name the user uploaded (problems and the audit trail name it)
    kind: str
    center_id: str | None
    groups: tuple[str, ...] = ()  # REDCap data access groups found in the export
    dag_map: dict[str, str] = field(default_factory=dict)  # data access group -> center
    expires_at: float = 0.0  # seconds since the epoch

    def metadata(self) -> dict[str, object]:
        values = asdict(self)
        values.pop("folder")
        values["path"] = self.path.relative_to(self.folder).as_posix()
        return values


class PendingUploads:
    """The pending uploads of one registry in the settings' folder."""

    def __init__(self, settings: UploadSettings, database_url: str) -> None:
        self.settings = settings
        self.registry = hashlib.sha256(database_url.encode()).hexdigest()[:16]

    def _root(self) -> Path:
        root = self.settings.directory
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return root

    def new_folder(self) -> Path:
        """An empty private folder for a file being uploaded (staged until `keep`)."""
        return Path(tempfile.mkdtemp(prefix=_STAGING, dir=self._root()))

    def expires_at(self) -> float:
        return time.time() + self.settings.expiry.total_seconds()

    def _folder(self, token: str) -> Path:
        return self.settings.directory / hashlib.sha256(token.encode()).hexdigest()

    def keep(self, upload: Upload) -> str:
        """Keep `upload` (its folder moves under the token's name); returns the token."""
        _write_metadata(upload.folder, upload.metadata())
        token = secrets.token_urlsafe(32)
        upload.folder.rename(self._folder(token))
        return token

    def update(self, token: str, upload: Upload) -> None:
        """Save a changed mapping of a pending upload (same token, same folder)."""
        _write_metadata(self._folder(token), upload.metadata())

    def find(self, token: str, *, owner: str, centers: frozenset[str]) -> Upload | None:
        """The pending upload of `token` if it is this user's, with these centers, and not expired."""
        if not token or len(token) > 100:
            return None
        return self._load(self._folder(token), owner=owner, centers=centers)

    def claim(self, token: str, *, owner: str, centers: frozenset[str]) -> Upload | None:
        """Take the pending upload of `token` for importing it (it stops waiting); None when it is not
        this user's, with these centers, or expired, or already claimed."""
        if self.find(token, owner=owner, centers=centers) is None:
            return None
        claimed = self.settings.directory / f"{_CLAIMED}{secrets.token_hex(8)}"
        try:
            self._folder(token).rename(claimed)
        except OSError:  # another request claimed it first
            return None
        os.utime(claimed)  # `clean` counts a claimed folder's age from its claim, not from its upload
        return self._load(claimed, owner=owner, centers=centers, expired_too=True)

    def _load(self, folder: Path, *, owner: str, centers: frozenset[str], expired_too: bool = False) -> Upload | None:
        try:
            values = json.loads((folder / _METADATA).read_text(encoding="utf-8"))
            upload = Upload(
                owner=str(values["owner"]),
                centers=tuple(values["centers"]),
                registry=str(values["registry"]),
                folder=folder,
                path=folder / str(values["path"]),
                name=str(values["name"]),
                kind=str(values["kind"]),
                center_id=values["center_id"],
                groups=tuple(values["groups"]),
                dag_map=dict(values["dag_map"]),
                expires_at=float(values["expires_at"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if upload.owner != owner or frozenset(upload.centers) != centers or upload.registry != self.registry:
            return None
        if not expired_too and upload.expires_at <= time.time():
            return None
        return upload

    def discard(self, upload: Upload) -> None:
        shutil.rmtree(upload.folder, ignore_errors=True)

    def clean(self) -> None:
        """Remove expired uploads, and staged or claimed folders older than the expiry (interrupted requests)."""
        root = self.settings.directory
        if not root.is_dir():
            return
        now = time.time()
        for folder in root.iterdir():
            if not folder.is_dir():
                continue
            try:
                if folder.name.startswith((_STAGING, _CLAIMED)):
                    stale = folder.stat().st_mtime + self.settings.expiry.total_seconds() < now
                else:
                    values = json.loads((folder / _METADATA).read_text(encoding="utf-8"))
                    stale = float(values["expires_at"]) <= now
            except (OSError, ValueError, KeyError, TypeError):
                stale = False  # not one of ours, or being written: left alone
            if stale:
                shutil.rmtree(folder, ignore_errors=True)


def _write_metadata(folder: Path, values: dict[str, object]) -> None:
    partial = folder / f"{_METADATA}.partial"
    partial.write_text(json.dumps(values, sort_keys=True), encoding="utf-8")
    partial.replace(folder / _METADATA)

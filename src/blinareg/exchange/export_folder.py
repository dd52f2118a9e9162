"""Write a standards export (ADaM, FHIR, OMOP) as one folder, atomically.

The files are written into a hidden temporary folder beside the target and renamed into place at the
end, so a failed export leaves nothing half-written: either the complete new folder or the old one.
An existing target is replaced only when it is empty or was written by an earlier export of the same
format (it holds the marker file `MARKER` naming that format); anything else is refused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from blinareg.errors import UserError

__all__ = ["MARKER", "export_folder", "move_into_place"]

MARKER = ".blinareg-export"


def _check_target(path: Path, format_name: str) -> None:
    if not path.exists():
        return
    if not path.is_dir():
        raise UserError(f"{path} exists and is not a folder; a {format_name} export is a folder")
    entries = list(path.iterdir())
    if not entries:
        return
    marker = path / MARKER
    previous = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    if previous != format_name:
        found = f"an export of format {previous}" if previous else "files that are not a blinareg export"
        raise UserError(f"{path} holds {found}; export {format_name} to a new or empty folder")


@contextlib.contextmanager
def export_folder(path: str | os.PathLike, format_name: str) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces `path`, on any error it is removed."""
    path = Path(path)
    _check_target(path, format_name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror}") from None
    try:
        yield temp
        (temp / MARKER).write_text(format_name + "\n", encoding="utf-8")
        move_into_place(temp, path)
    except OSError as error:
        shutil.rmtree(temp, ignore_errors=True)
        raise UserError(f"{path}: cannot write: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def move_into_place(temp: Path, path: Path) -> None:
    """Rename the folder `temp` to `path`; an existing `path` is replaced (restored if the rename fails)."""
    if not path.exists():
        os.rename(temp, path)
        return
    backup = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
    backup.rmdir()
    os.rename(path, backup)
    try:
        os.rename(temp, path)
    except BaseException:
        os.rename(backup, path)
        raise
    shutil.rmtree(backup, ignore_errors=True)

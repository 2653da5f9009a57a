"""Atomic file writes: a crash at any moment leaves either the old file or the new one.

Floor 0 (standard library only). One implementation for checkpoints, results and reports:
a uniquely named temp file in the same folder -> write -> flush -> fsync -> os.replace ->
fsync the folder (so the rename itself survives a crash). On any failure the temp file is
removed and the target is untouched.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_bytes(path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            _chmod_like(handle.fileno(), path)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


def write_text(path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def _fsync_folder(folder: Path):
    """Make the rename durable; some platforms cannot open a folder, which is fine there."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()   # read once, at import: os.umask can only be read by setting it


def _chmod_like(fd: int, path: Path):
    """Give the temp file the mode `path` has, or a new file's usual mode (0666 less the umask):
    mkstemp makes it 0600, which would leave every result readable by its owner only."""
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_UMASK
    with contextlib.suppress(OSError, AttributeError):    # no fchmod on Windows
        os.fchmod(fd, mode)

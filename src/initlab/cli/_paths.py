"""Paths the commands write to: refused when empty or not writable before any work, and an
output folder that a failed run leaves as it found it."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import InvalidValueError


def check_not_empty(value, option: str, what: str):
    """An empty path would silently mean the current folder, or nothing at all."""
    if value is not None and not str(value).strip():
        raise InvalidValueError(f"{option}: expected {what}, got an empty string")
    if value is not None and "\0" in str(value):
        raise InvalidValueError(f"{option}: expected {what}, got {str(value)!r}, which holds a NUL character")


def check_writable_folder(folder, option: str, given=None):
    """`folder` takes new files, or can be created: tried with a temporary folder (removed at
    once) in the nearest folder on its path that exists, so that a place that cannot be
    written fails before any work, naming the option and the value `given` (default: folder)."""
    folder = Path(folder)
    given = str(folder if given is None else given)
    nearest = next(path for path in (folder, *folder.parents) if path.exists())
    if not nearest.is_dir():
        raise InvalidValueError(f"{option}: {str(nearest)!r} is an existing file, expected a folder"
                                + ("" if nearest == folder else f" (on the way to {str(folder)!r})"))
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".initlab-write-test-", dir=nearest))
    except OSError as exc:
        raise InvalidValueError(f"{option}: expected a path where files can be written, got {given!r} "
                                f"(writing in {str(nearest)!r} failed: {exc.strerror})") from None


def prepare_out(out, force: bool, resumes=(), allowed=None) -> Path:
    """Create the output folder; refuse an empty path, a file, a folder that cannot be written,
    and an existing non-empty folder unless force, or unless it holds finished tasks of the
    studies in `resumes` only (an earlier, perhaps interrupted, run of the same command, which
    this run continues). A folder holding tasks of a study outside `allowed` (default:
    `resumes`) is refused even with force."""
    check_not_empty(out, "--out", "a folder path")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidValueError(f"--out: {out} exists and is not a folder")
    tasks = out / "tasks"
    held = sorted(p.name for p in tasks.iterdir() if p.is_dir()) if tasks.is_dir() else []
    others = [name for name in held if name not in (resumes if allowed is None else allowed)]
    if others:
        raise InvalidValueError(f"--out: {out} holds the finished tasks of another study ({', '.join(others)}); "
                                "choose another folder")
    if out.exists() and any(out.iterdir()) and not force and not (held and set(held) <= set(resumes)):
        raise InvalidValueError(f"--out: folder {out} already exists and is not empty; pass --force to overwrite")
    check_writable_folder(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def output_folder(out, force: bool, resumes=(), allowed=None):
    """prepare_out for the body of a run; when the run fails, the folders it created and left
    empty are removed again (a failed run leaves nothing behind but the tasks it finished)."""
    created = [path for path in (Path(out), *Path(out).parents) if not path.exists()]
    folder = prepare_out(out, force, resumes, allowed)
    try:
        yield folder
    except BaseException:
        for path in created:                 # the deepest first
            if not path.is_dir() or any(path.iterdir()):
                break
            path.rmdir()
        raise


def remove_stale_outputs(out: Path):
    """With --force: the earlier run's files that this run may not rewrite (figures of studies
    not chosen this time, an old report or result); finished tasks stay, they are reused."""
    for path in Path(out).iterdir():
        if path.is_file() and path.suffix in (".png", ".gif", ".html", ".json", ".csv"):
            path.unlink()

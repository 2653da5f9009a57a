"""Atomic writes: the old file or the new one, never half of either, and no temp files left."""
import os
import stat

import pytest

from initlab import atomic


def test_checkpoints_results_and_reports_share_one_implementation():
    import inspect
    from initlab import checkpoint, report
    from initlab.cli import _common
    for module in (checkpoint, report, _common):
        assert "mkstemp" not in inspect.getsource(module)


def test_atomic_write_text_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "result.json"
    atomic.write_text(path, "first")
    atomic.write_text(path, "second")
    assert path.read_text() == "second"
    assert os.listdir(tmp_path) == ["result.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~atomic._UMASK   # not mkstemp's 0600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    atomic.write_text(path, "good")

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_text(path, "bad")
    assert path.read_text() == "good" and os.listdir(tmp_path) == ["result.json"]


def test_the_rename_is_made_durable_by_syncing_the_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic.write_text(tmp_path / "a.txt", "text")
    assert synced == [False, True]                      # the file, then its folder



"""One run per checkpoint folder (two real processes), Ctrl-C that always saves, and the
smaller promises of issue 18: a full disk names the file and the option, no numerical
warning before a DivergenceError, a checkpoint's own contents are blamed on the checkpoint."""
import errno
import json
import os
import re
import signal
import sys
import time
import warnings

import numpy as np
import pytest

from initlab import atomic, checkpoint, layers, optim
from initlab.cli import main
from initlab.model import Sequential
from initlab.runfolder import FolderLock, Interrupt, RunFolder

from test_cli_train import assert_same_run, final_accuracy, rows, spawn, wait_for_step

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fcntl.flock and POSIX signals")

# digits, 300 examples: 14 steps per epoch; a checkpoint every step keeps the run slow enough
# that the signals surely arrive while it trains
SMALL = ["train", "--n", "300", "--batch-size", "16", "--seed", "2", "--epochs", "12"]


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_a_second_run_on_a_folder_in_use_is_refused_naming_the_holder(tmp_path):
    # the first run is killed below, long before its 1,000 epochs: it must still hold the folder
    # however slowly the second process starts on a busy machine
    first = spawn(tmp_path, *SMALL[:-2], "--epochs", "1000", "--checkpoint-dir", "run", "--checkpoint-every", "1")
    wait_for_step(first, tmp_path / "run", 2)
    # a fresh run with --force, and a resume, while the first still writes: both refused
    for argv in (["--checkpoint-dir", "run", "--force"], ["--resume", "run"]):
        second = spawn(tmp_path, *SMALL[:-2], "--epochs", "20", *argv)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 1, (out, err)
        assert re.search(rf"'run' is in use by another initlab run \(PID {first.pid}, started \d{{4}}-\d\d-\d\d ", err), err
        assert len(err.strip().splitlines()) == 1
    first.send_signal(signal.SIGKILL)            # the OS releases the lock of a killed run
    first.communicate()
    stale = tmp_path / "run" / ".step-00000099.safetensors.x1y2z3.tmp"   # as a kill mid-write leaves it
    stale.write_bytes(b"half a checkpoint")
    after = spawn(tmp_path, *SMALL[:-2], "--epochs", "1", "--checkpoint-dir", "run", "--force")
    out, err = after.communicate(timeout=300)
    assert after.returncode == 0, err
    assert not stale.exists() and not (tmp_path / "run" / FolderLock.INFO).exists()


@pytest.mark.slow
def test_a_double_ctrl_c_still_writes_the_checkpoint_and_resumes_bit_identical(tmp_path):
    three = [*SMALL[:-2], "--epochs", "3"]             # 42 steps
    full = spawn(tmp_path, *three, "--save", "full.safetensors")
    run = spawn(tmp_path, *three, "--checkpoint-dir", "run", "--checkpoint-every", "1")
    wait_for_step(run, tmp_path / "run", 20)
    run.send_signal(signal.SIGINT)
    time.sleep(0.002)
    run.send_signal(signal.SIGINT)    # a quick second press: "please wait" if the run still steps
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "Traceback" not in err
    stopped = int(re.search(r"interrupted after step (\d+); checkpoint written to", err)[1])
    assert (tmp_path / "run" / f"step-{stopped:08d}.safetensors").exists()
    checkpoint.load(tmp_path / "run" / f"step-{stopped:08d}.safetensors")     # complete, every CRC good
    resumed = spawn(tmp_path, "train", "--resume", "run", "--save", "resumed.safetensors")
    (out, err), (full_out, _) = resumed.communicate(timeout=300), full.communicate(timeout=300)
    assert resumed.returncode == 0 and full.returncode == 0, err
    assert rows(out) == rows(full_out) and final_accuracy(out) == final_accuracy(full_out)
    assert_same_run(tmp_path / "resumed.safetensors", tmp_path / "full.safetensors")


def test_ctrl_c_presses_while_saving_wait_for_the_checkpoint(capsys):
    interrupt = Interrupt()
    interrupt._handle(signal.SIGINT, None)
    assert interrupt.requested
    written = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            interrupt._handle(signal.SIGINT, None)       # second: acknowledged
            interrupt._handle(signal.SIGINT, None)       # third: an abort, after the write
            interrupt._handle(signal.SIGINT, None)
            written.append("checkpoint")                 # the write still completes
    assert written == ["checkpoint"] and "please wait" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt):               # not saving: the third press aborts at once
        interrupt._handle(signal.SIGINT, None)


def test_an_abort_says_what_is_kept(capsys, tmp_path, monkeypatch):
    """A third Ctrl-C outside a write stops the run at once, saying which checkpoint is kept."""
    def aborted_fit(*args, **kw):
        raise KeyboardInterrupt

    folder = tmp_path / "run"
    assert main(["train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder)]) == 0
    capsys.readouterr()
    from initlab.cli import train as cli_train
    monkeypatch.setattr(cli_train, "fit", aborted_fit)
    status = main(["train", "--resume", str(folder), "--epochs", "2"])
    err = capsys.readouterr().err
    assert status == 130 and "aborted; no checkpoint of this run was written" in err
    assert [p.name for p in folder.iterdir()] == ["best.safetensors", "step-00000004.safetensors"] or \
        sorted(p.name for p in folder.iterdir())[0] == "best.safetensors"


def test_two_locks_on_one_folder_in_one_process_conflict_and_release(tmp_path):
    first = FolderLock(tmp_path, "--checkpoint-dir").acquire()
    info = json.loads((tmp_path / FolderLock.INFO).read_text())
    assert info["pid"] == os.getpid()
    with pytest.raises(Exception, match=rf"in use by another initlab run \(PID {os.getpid()}, started"):
        FolderLock(tmp_path, "--checkpoint-dir").acquire()
    first.release()
    assert not (tmp_path / FolderLock.INFO).exists()
    FolderLock(tmp_path, "--checkpoint-dir").acquire().release()


def test_a_failed_fresh_run_leaves_no_folder_behind(capsys, tmp_path):
    folder = tmp_path / "new" / "run"
    status = main(["train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder), "--lr", "1e30"])
    assert status == 1 and "diverged" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_full_disk_names_the_file_and_the_option(capsys, tmp_path, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(atomic, "write_bytes", full)
    folder = tmp_path / "run"
    status = main(["train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder)])
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "--checkpoint-dir: cannot write checkpoint" in err and "No space left on device" in err
    assert str(folder / "best.safetensors") in err or str(folder / "step-00000003.safetensors") in err
    status = main(["train", "--n", "60", "--epochs", "1", "--save", str(tmp_path / "model.safetensors")])
    err = capsys.readouterr().err
    assert status == 1 and f"--save: cannot write {str(tmp_path / 'model.safetensors')!r}" in err


def test_no_numerical_warning_precedes_a_divergence_error(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(["train", "--n", "60", "--epochs", "2", "--init", "normal(std=1e10)"])
    assert status == 1 and "diverged" in capsys.readouterr().err
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_a_resumed_checkpoint_with_an_absurd_layer_is_blamed_on_the_checkpoint(capsys, tmp_path):
    folder = tmp_path / "run"
    assert main(["train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder)]) == 0
    capsys.readouterr()
    path = checkpoint.CheckpointDir(folder).latest()
    tensors, metadata = checkpoint.read(path)
    config = json.loads(metadata["model_config"])
    config["layers"][0]["out_channels"] = 10**9
    metadata["model_config"] = json.dumps(config)
    metadata[checkpoint.METADATA_CHECKSUM] = checkpoint.metadata_checksum(metadata)
    import safetensors.numpy
    path.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    status = main(["train", "--resume", str(folder), "--epochs", "2"])
    err = capsys.readouterr().err
    assert status == 1 and f"checkpoint {str(path)!r}" in err and "parameter values" in err
    assert "--n" not in err and "--model" not in err


@pytest.mark.parametrize("argv, words", [
    (["--epochs", "１２"], ["--epochs", "ASCII digits"]),
    (["--n", "٣٠٠"], ["--n", "ASCII digits"]),
    (["--checkpoint-every", "３", "--checkpoint-dir", "x"], ["--checkpoint-every", "'３'"]),
    (["--checkpoint-every", str(10**30), "--checkpoint-dir", "x"], ["--checkpoint-every", "at most 1,000,000"]),
    (["--keep", str(10**30), "--checkpoint-dir", "x"], ["--keep", "at most 1,000,000"]),
])
def test_count_options_refuse_other_digits_and_absurd_sizes(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(["train", *argv])
    except SystemExit as exc:          # argparse's own usage errors
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words), err
    assert not (tmp_path / "x").exists()


def test_run_folder_refuses_a_used_folder_until_forced(tmp_path):
    model = Sequential([layers.Dense(2, 2, rng=0)])
    (tmp_path / "run").mkdir()
    checkpoint.save(tmp_path / "run" / "step-00000001.safetensors", model, optim.SGD(model, 0.1))
    with RunFolder(tmp_path / "run") as folder, pytest.raises(Exception, match="already holds checkpoints"):
        folder.check_fresh()
    with RunFolder(tmp_path / "run", force=True) as folder:
        folder.check_fresh()
        folder.save(5, model, None)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["step-00000005.safetensors"]

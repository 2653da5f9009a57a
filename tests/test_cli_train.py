"""`initlab train` end to end: output, determinism, exit statuses, checkpoints, kill and resume."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from initlab import checkpoint, optim
from initlab.cli import main
from initlab.cli import train as cli_train
from initlab.errors import DataError

FINAL = re.compile(r"^test accuracy: (\d\.\d{4})$")
ROW = re.compile(r"^\s+\d+\s+\d+\.\d{4}\s+\d\.\d{4}\s+(\d+\.\d{4}|-)\s+(\d\.\d{4}|-)\s+\d+\.\d{2}$")
TINY = ["train", "--n", "300", "--epochs", "2", "--batch-size", "16"]
LAUNCH = "import sys; from initlab.cli import main; sys.exit(main(sys.argv[1:]))"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def rows(out):
    """The epoch rows without their (wall-clock) seconds column."""
    return [line.rsplit(None, 1)[0] for line in out.splitlines() if ROW.match(line)]


def final_accuracy(out):
    match = FINAL.match(out.rstrip("\n").splitlines()[-1])
    assert match, f"last line is not 'test accuracy: X.XXXX': {out.splitlines()[-1]!r}"
    return float(match[1])


# ------------------------------------------------------------------------------ output

@pytest.mark.slow
def test_defaults_train_small_cnn_on_digits_past_97_percent(capsys):
    status, out, err = run(capsys, "train")
    assert status == 0, err
    assert "data: digits  train 1259  val 179  test 359" in out
    assert "Conv2D" in out and "he_normal" in out and "total parameters: 38,282" in out
    assert re.search(r"epoch\s+train loss\s+train acc\s+val loss\s+val acc\s+seconds", out)
    assert len(rows(out)) == 15
    assert final_accuracy(out) >= 0.97


def test_same_seed_prints_identical_numbers_other_seed_differs(capsys):
    _, first, _ = run(capsys, *TINY, "--seed", "3")
    _, second, _ = run(capsys, *TINY, "--seed", "3")
    _, other, _ = run(capsys, *TINY, "--seed", "4")
    strip = lambda out: [line for line in out.splitlines() if not ROW.match(line)] + rows(out)
    assert len(rows(first)) == 2 and strip(first) == strip(second)
    assert rows(first) != rows(other)


def test_quiet_prints_only_the_final_line(capsys):
    status, out, _ = run(capsys, *TINY, "--quiet", "--optimizer", "adam", "--clip-grad-norm", "1.0")
    assert status == 0 and len(out.splitlines()) == 1
    final_accuracy(out)


def test_save_writes_a_checkpoint_with_the_model_history_and_options(capsys, tmp_path):
    path = tmp_path / "model.safetensors"
    status, out, _ = run(capsys, *TINY, "--model", "plain:2x4", "--init", "glorot_uniform",
                         "--activation", "tanh", "--save", str(path))
    assert status == 0 and f"saved model to {path}" in out
    model, optimizer, state = checkpoint.load(path)
    assert optimizer is None and len(model.layers) == 7
    assert state["args"]["model"] == "plain:2x4" and state["args"]["activation"] == "tanh"
    assert model.layers[0].init_names["weight"] == "glorot_uniform"
    assert len(state["history"]["epoch"]) == 2
    assert f"{state['test_accuracy']:.4f}" == f"{final_accuracy(out):.4f}"


@pytest.mark.parametrize("method, extra", [("patch_kmeans", []),
                                           ("patch_pca", ["--data", "shapes", "--model", "lenet5"])])
def test_data_driven_init_sets_only_the_first_conv_layer(capsys, tmp_path, method, extra):
    path = tmp_path / "model.safetensors"
    status, out, _ = run(capsys, *TINY, *extra, "--init", method, "--save", str(path))
    assert status == 0
    model, _, _ = checkpoint.load(path)
    inits = [layer.init_names.get("weight") for layer in model.layers if "weight" in layer.params]
    assert inits[0] == method and set(inits[1:]) == {"he_normal"}


# ------------------------------------------------------------------------------ exit statuses

@pytest.mark.parametrize("argv, names", [
    (["--lr", "-1"], ["--lr", "(0, inf)"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--epochs", "0"], ["--epochs", ">= 1"]),
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--momentum", "1.5"], ["--momentum", "[0, 1]"]),
    (["--seed", "-2"], ["--seed", ">= 0"]),
    (["--clip-grad-norm", "0"], ["--clip-grad-norm"]),
    (["--model", "lenet"], ["model", "did you mean 'lenet5'"]),
    (["--data", "digit"], ["dataset", "did you mean 'digits'"]),
    (["--init", "he_norml"], ["--init", "did you mean 'he_normal'"]),
    (["--init", "normal(std="], ["--init", "malformed"]),
    (["--activation", "rleu"], ["activation", "did you mean 'relu'"]),
    (["--optimizer", "adm"], ["optimizer", "did you mean 'adam'"]),
    (["--optimizer", "adam", "--momentum", "0.5"], ["--momentum", "sgd"]),
    (["--checkpoint-every", "5"], ["--checkpoint-every", "--checkpoint-dir"]),
    (["--keep", "3"], ["--keep: needs --checkpoint-dir"]),
    (["--model", "lenet5", "--data", "digits"], ["--model lenet5", "12x12"]),
])
def test_usage_errors_exit_2_with_one_line_naming_the_option(capsys, argv, names):
    status, out, err = run(capsys, "train", *argv)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("initlab: error: ")
    assert "Traceback" not in err
    for name in names:
        assert name in err


@pytest.mark.parametrize("argv", [["--lr", "abc"], ["--epochs", "1.5"], ["--no-such-option"]])
def test_argparse_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(["train", *argv])
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_runtime_failures_exit_1_with_one_line(capsys, tmp_path):
    status, _, err = run(capsys, "train", "--data", f"mnist:{tmp_path / 'nope'}")
    assert status == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "does not exist" in err and "initlab never downloads" in err
    status, _, err = run(capsys, "train", "--resume", str(tmp_path))
    assert status == 1 and "holds no step" in err


@pytest.mark.parametrize("argv, names", [
    (["--save", "{tmp}"], ["--save", "is a folder", "model.safetensors"]),
    (["--save", "{tmp}/newdir/"], ["--save", "is a folder; expected a file path"]),
    (["--save", "{file}/m.safetensors"], ["--save", "is an existing file, expected a folder"]),
    (["--checkpoint-dir", "{file}"], ["--checkpoint-dir", "is an existing file, expected a folder"]),
    (["--checkpoint-dir", "{file}/run"], ["--checkpoint-dir", "is an existing file"]),
    (["--resume", "{ckpt}"], ["--resume", "is a file; --resume takes the checkpoint folder", "'{tmp}'"]),
    (["--force"], ["--force: applies to --checkpoint-dir DIR or --save PATH only"]),
    (["--data", "shapes", "--n", "5"], ["--n 5: leaves the validation and test splits empty",
                                        "train 5, validation 0, test 0", "--n 24"]),
    # empty paths: no silent fresh run, no checkpoints dropped, no save into the current folder
    (["--save", ""], ["--save: expected a file path such as model.safetensors, got an empty string"]),
    (["--checkpoint-dir", ""], ["--checkpoint-dir: expected a folder path, got an empty string"]),
    (["--resume", ""], ["--resume: expected the checkpoint folder of a run, got an empty string"]),
    # nothing the user has is overwritten: a file unless --force, a run's own checkpoints never
    (["--save", "{file}"], ["--save: '{file}' already exists; pass --force to overwrite it"]),
    (["--checkpoint-dir", "{tmp}", "--save", "{tmp}/step-00000003.safetensors", "--force"],
     ["--save", "is a checkpoint name in this run's --checkpoint-dir folder", "even with --force",
      "'{tmp}/model.safetensors'"]),
    (["--resume", "{tmp}", "--save", "{ckpt}", "--force"], ["--save", "checkpoint name in this run's --resume folder"]),
    (["--resume", "{tmp}", "--save", "{tmp}/best.safetensors"], ["--save", "this run's --resume folder"]),
    (["--checkpoint-dir", "{tmp}/run", "--save", "{tmp}/run"], ["--save", "is this run's --checkpoint-dir folder"]),
    # places that cannot be written fail now, naming the option, not after training
    pytest.param(["--checkpoint-dir", "/proc/initlab-test/run"],
                 ["--checkpoint-dir: expected a path where files can be written", "writing in '/proc' failed"],
                 marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")),
    pytest.param(["--save", "/proc/initlab-test.safetensors"],
                 ["--save: expected a path where files can be written, got '/proc/initlab-test.safetensors'"],
                 marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")),
    (["--model", "plain:2x8", "--init", "dirac"], ["--init dirac: cannot initialize --model plain:2x8: dirac"]),
])
def test_bad_paths_and_sizes_are_refused_before_any_training(capsys, tmp_path, monkeypatch, argv, names):
    (tmp_path / "file").write_text("not a folder")
    checkpoint.save(tmp_path / "step-00000001.safetensors", checkpoint_model())
    fill = dict(tmp=tmp_path, file=tmp_path / "file", ckpt=tmp_path / "step-00000001.safetensors")
    trained = []
    monkeypatch.setattr(cli_train, "fit", lambda *a, **k: trained.append(1))
    status, out, err = run(capsys, *TINY, *[a.format(**fill) for a in argv])
    assert status == 2 and not trained and out == ""       # nothing printed, nothing trained
    assert err.startswith("initlab: error: ") and len(err.strip().splitlines()) == 1
    for name in names:
        assert name.format(**fill) in err, err


def test_an_existing_save_file_is_kept_unless_force(capsys, tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"the user's file")
    status, _, err = run(capsys, *TINY, "--save", str(path))
    assert status == 2 and "already exists; pass --force" in err
    assert path.read_bytes() == b"the user's file"
    status, out, _ = run(capsys, *TINY, "--save", str(path), "--force")
    assert status == 0 and f"saved model to {path}" in out
    assert checkpoint.load(path)[2]["args"]["epochs"] == 2


def test_save_makes_its_folder_and_keeps_a_dangling_link(capsys, tmp_path):
    """--save into the folder --checkpoint-dir is about to make; a dangling symlink is a path
    the user has, not a free name."""
    run_dir = tmp_path / "new" / "run"
    status, out, _ = run(capsys, *TINY, "--checkpoint-dir", str(run_dir), "--save", str(run_dir / "model.safetensors"))
    assert status == 0 and (run_dir / "model.safetensors").is_file()
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "nowhere")
    status, _, err = run(capsys, *TINY, "--save", str(link))
    assert status == 2 and "already exists; pass --force" in err and link.is_symlink()


def test_the_save_refusal_says_what_else_force_would_do(capsys, tmp_path):
    """--force also clears a checkpoint folder of another run: the --save message must say so."""
    folder = tmp_path / "runa"
    path = tmp_path / "model.safetensors"
    assert run(capsys, *TINY, "--checkpoint-dir", str(folder), "--save", str(path))[0] == 0
    status, _, err = run(capsys, *TINY, "--checkpoint-dir", str(folder), "--save", str(path))
    assert status == 2 and "--force would also delete the old checkpoints in" in err
    assert checkpoint.CheckpointDir(folder).holds_checkpoints()


def test_help_says_force_overwrites_the_save_file(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "an existing file is refused unless --force" in shown and "overwrite an existing --save file" in shown


def test_init_that_cannot_apply_is_blamed_not_the_model(capsys):
    for spec in ("dirac", "identity", "he_normal(groups=3)"):
        status, _, err = run(capsys, "train", "--n", "60", "--init", spec)
        assert status == 2 and err.startswith(f"initlab: error: --init {spec}: cannot initialize --model small_cnn")
        assert "does not fit" not in err
    status, _, err = run(capsys, "train", "--model", "lenet5")      # a model too large for the data still is
    assert status == 2 and "--model lenet5 does not fit --data digits" in err


def test_resuming_a_run_that_has_no_epoch_left_is_an_error(capsys, tmp_path):
    folder = tmp_path / "run"
    assert run(capsys, "train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder))[0] == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    status, out, err = run(capsys, "train", "--resume", str(folder), "--epochs", "1")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"--epochs: the run in '{folder}' has already trained 1 epoch(s), got --epochs 1; " \
           "give --epochs 2 or more" in err
    status, _, err = run(capsys, "train", "--resume", str(folder))
    assert status == 2 and "already trained 1 epoch(s), and was run with --epochs 1" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_resume_from_a_folder_with_only_the_best_checkpoint_says_so(capsys, tmp_path):
    folder = tmp_path / "run"
    assert run(capsys, "train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder))[0] == 0
    for path in folder.glob("step-*.safetensors"):
        path.unlink()
    status, _, err = run(capsys, "train", "--resume", str(folder), "--epochs", "2")
    assert status == 1 and "holds no step-*.safetensors checkpoint, only best.safetensors" in err


def checkpoint_model():
    from initlab import models
    return models.plain_cnn(1, 2, rng=0)


def test_divergence_exits_1_naming_the_layer_and_keeps_the_last_good_checkpoint(capsys, tmp_path):
    folder = tmp_path / "run"
    with warnings.catch_warnings():     # the one-line message, no RuntimeWarnings before it
        warnings.simplefilter("error", RuntimeWarning)
        status, _, err = run(capsys, *TINY, "--optimizer", "sgd", "--lr", "1e6",
                             "--checkpoint-dir", str(folder), "--checkpoint-every", "1")
    assert status == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    match = re.match(r"initlab: error: training diverged at step (\d+) \(epoch 1, .*layer \d+ \(\w+\)", last)
    assert match, last
    good = int(match[1]) - 1
    assert checkpoint.CheckpointDir(folder).latest().name == f"step-{good:08d}.safetensors"
    model, _, _ = checkpoint.load(checkpoint.CheckpointDir(folder).latest())
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        main(["--debug", "train", "--data", f"mnist:{tmp_path / 'nope'}"])


# ------------------------------------------------------------------------------ checkpoints

def test_checkpoint_dir_keeps_the_last_k_and_the_best(capsys, tmp_path):
    folder = tmp_path / "run"
    status, out, _ = run(capsys, *TINY, "--epochs", "3", "--checkpoint-dir", str(folder),
                         "--checkpoint-every", "5", "--keep", "2")
    assert status == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["best.safetensors", "step-00000040.safetensors", "step-00000042.safetensors"]
    _, _, best = checkpoint.load(folder / "best.safetensors")
    _, _, last = checkpoint.load(folder / "step-00000042.safetensors")
    val_acc = last["train"]["history"]["val_acc"]
    assert len(val_acc) == 3
    assert best["train"]["history"]["val_acc"][-1] == max(val_acc)


def test_resume_continues_a_finished_run_for_more_epochs_to_the_same_bits(capsys, tmp_path):
    folder = tmp_path / "run"
    run(capsys, *TINY, "--checkpoint-dir", str(folder))                        # epochs 1-2
    status, resumed, _ = run(capsys, "train", "--resume", str(folder), "--epochs", "3",
                             "--save", str(tmp_path / "resumed.safetensors"))
    assert status == 0 and "resuming from" in resumed
    _, straight, _ = run(capsys, *TINY, "--epochs", "3", "--save", str(tmp_path / "straight.safetensors"))
    assert rows(resumed) == rows(straight) and len(rows(straight)) == 3
    assert_same_run(tmp_path / "resumed.safetensors", tmp_path / "straight.safetensors")
    status, _, err = run(capsys, "train", "--resume", str(folder), "--model", "lenet5")
    assert status == 2 and "--model: cannot change when resuming" in err


def test_a_fresh_run_refuses_a_folder_with_checkpoints_unless_force(capsys, tmp_path):
    folder = tmp_path / "run"
    assert run(capsys, "train", "--n", "60", "--epochs", "1", "--seed", "3", "--checkpoint-dir", str(folder))[0] == 0
    stale = folder / "step-00009999.safetensors"
    stale.write_bytes((folder / "step-00000002.safetensors").read_bytes())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = ["train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder), "--keep", "1", "--seed", "4"]
    status, out, err = run(capsys, *again)
    assert status == 2 and out == ""
    assert "already holds checkpoints" in err and f"--resume {folder}" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before      # untouched
    status, out, _ = run(capsys, *again, "--force")
    assert status == 0 and f"--force: deleted 2 old checkpoint(s) in {folder}" in out   # best was replaced
    assert sorted(p.name for p in folder.iterdir()) == ["best.safetensors", "step-00000002.safetensors"]
    _, _, state = checkpoint.load(checkpoint.CheckpointDir(folder).latest())
    assert state["args"]["seed"] == 4                                        # the new run
    # --resume continues the folder's own run (--force deletes nothing there), and may write
    # it to another (fresh) folder
    status, out, _ = run(capsys, "train", "--resume", str(folder), "--epochs", "2",
                         "--checkpoint-dir", str(folder), "--force")
    assert status == 0 and "deleted" not in out
    assert [p.name for _, p in checkpoint.CheckpointDir(folder).steps()] == ["step-00000004.safetensors"]  # --keep 1
    status, _, err = run(capsys, "train", "--resume", str(folder), "--epochs", "3",
                         "--checkpoint-dir", str(tmp_path / "stale"))
    assert status == 0, err
    other = tmp_path / "other"
    other.mkdir()
    (other / "best.safetensors").write_bytes((folder / "best.safetensors").read_bytes())
    status, _, err = run(capsys, "train", "--resume", str(folder), "--epochs", "4", "--checkpoint-dir", str(other))
    assert status == 2 and "already holds checkpoints" in err


class _CtrlC:
    """Stands in for the SIGINT handler: Ctrl-C was pressed before the first step ended."""
    requested = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_ctrl_c_without_checkpoint_dir_writes_a_new_folder_per_run_and_names_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_train, "_Interrupt", _CtrlC)
    hints = []
    for seed in ("3", "4"):
        status, _, err = run(capsys, *TINY, "--seed", seed)
        assert status == 130, err
        written = re.search(r"checkpoint written to (\S+)\nresume with: initlab train --resume (\S+)$", err.strip())
        assert written, err
        hints.append(written.groups())
    folders = {p.resolve() for p in (tmp_path / cli_train.INTERRUPT_DIR).iterdir()}
    assert {Path(folder).resolve() for _, folder in hints} == folders and len(folders) == 2
    for path, folder in hints:                                 # one folder per run, named in the hint
        assert [p.name for p in Path(folder).iterdir()] == ["step-00000001.safetensors"]
        assert Path(path) == Path(folder) / "step-00000001.safetensors"
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "train", "--resume", hints[1][1])
    assert status == 0 and "resuming from" in out and "step 1)" in out, err


@pytest.mark.parametrize("train_state, message", [
    ({"version": 1}, "lacks 'epoch', 'batch', 'step', 'data_rng', 'layer_rngs', 'epoch_sums', 'history'"),
    ("ab", "expected the dict of TrainState.resume_info"),
])
def test_resume_from_a_malformed_run_state_is_a_checkpoint_error(capsys, tmp_path, train_state, message):
    model = checkpoint_model()
    folder = tmp_path / "run"
    folder.mkdir()
    checkpoint.save(folder / "step-00000001.safetensors", model, optim.Adam(model, 1e-3),
                    args={"model": "plain:1x2"}, train=train_state)
    status, _, err = run(capsys, "train", "--resume", str(folder))
    assert status == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "holds a malformed run state" in err and message in err, err


@pytest.mark.parametrize("args, message", [
    ({"epochs": "many"}, "--epochs: expected an integer >= 1"),
    ({"model": ["small_cnn"]}, "--model: expected a name"),
    ({"checkpoint_every": ["x", "y"]}, "--checkpoint-every: expected N steps or Ne epochs"),
    ({"optimizer": "adamax"}, "unknown optimizer 'adamax'"),
])
def test_resume_with_malformed_saved_options_is_a_checkpoint_error(capsys, tmp_path, args, message):
    folder = tmp_path / "run"
    run(capsys, "train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder))
    path = checkpoint.CheckpointDir(folder).latest()
    model, opt, state = checkpoint.load(path)
    state["args"].update(args)
    checkpoint.save(path, model, opt, **state)
    status, _, err = run(capsys, "train", "--resume", str(folder))
    assert status == 1 and "holds a malformed run state" in err and message in err, err


def assert_same_run(path_a, path_b):
    tensors_a, meta_a = checkpoint.read(path_a)
    tensors_b, meta_b = checkpoint.read(path_b)
    assert tensors_a.keys() == tensors_b.keys()
    for key in tensors_a:
        assert np.array_equal(tensors_a[key], tensors_b[key]), key
    history_a = json.loads(meta_a["state"])["history"]
    history_b = json.loads(meta_b["state"])["history"]
    for wall_clock in ("epoch_seconds", "seconds"):
        history_a.pop(wall_clock), history_b.pop(wall_clock)
    assert history_a == history_b


# ------------------------------------------------------------------------------ real processes

RUN = ["train", "--epochs", "4", "--batch-size", "16", "--seed", "5"]   # 79 steps per epoch


def spawn(cwd, *argv, **kw):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def wait_for_step(proc, folder, at_least, timeout=120):
    """Poll until a step checkpoint >= at_least exists; fail if the run ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = [int(p.name[5:13]) for p in folder.glob("step-*.safetensors")] if folder.exists() else []
        if steps and max(steps) >= at_least:
            return max(steps)
        assert proc.poll() is None, f"the run ended before step {at_least}: {proc.communicate()}"
        time.sleep(0.005)
    raise AssertionError("no checkpoint appeared in time")


@pytest.mark.slow
def test_sigkill_then_resume_and_sigint_then_resume_match_an_uninterrupted_run(tmp_path):
    full = spawn(tmp_path, *RUN, "--save", "full.safetensors")
    killed = spawn(tmp_path, *RUN, "--checkpoint-dir", "killed", "--checkpoint-every", "7",
                   "--keep", "2", "--save", "never.safetensors")
    wait_for_step(killed, tmp_path / "killed", 100)          # mid-epoch 2
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "never.safetensors").exists()     # it really was cut short

    # started only now, so that it is surely still training when Ctrl-C comes
    interrupted = spawn(tmp_path, *RUN, "--checkpoint-dir", "interrupted", "--checkpoint-every", "50")
    wait_for_step(interrupted, tmp_path / "interrupted", 50)
    interrupted.send_signal(signal.SIGINT)
    _, err = interrupted.communicate(timeout=120)
    assert interrupted.returncode == 130, err
    assert "resume with: initlab train --resume interrupted" in err and "Traceback" not in err
    stopped_at = int(re.search(r"interrupted after step (\d+)", err)[1])
    assert 50 <= stopped_at < 4 * 79
    assert (tmp_path / "interrupted" / f"step-{stopped_at:08d}.safetensors").exists()

    resumed = [spawn(tmp_path, "train", "--resume", folder, "--save", f"{folder}.safetensors")
               for folder in ("killed", "interrupted")]
    outputs = [proc.communicate(timeout=300) for proc in (full, *resumed)]
    for proc, (out, err) in zip((full, *resumed), outputs):
        assert proc.returncode == 0, err
    expected = rows(outputs[0][0])
    assert len(expected) == 4
    for folder, low, (out, _) in zip(("killed", "interrupted"), (98, stopped_at), outputs[1:]):
        step = int(re.search(rf"resuming from {folder}/step-(\d+)\.safetensors", out)[1])
        assert low <= step < 4 * 79                            # resumed from where it stopped
        assert rows(out) == expected and final_accuracy(out) == final_accuracy(outputs[0][0])
        assert_same_run(tmp_path / f"{folder}.safetensors", tmp_path / "full.safetensors")


def test_resuming_a_run_whose_mnist_folder_moved_names_the_runs_data(capsys, tmp_path):
    """The user did not type --data: the message says the path came from the resumed run."""
    from test_data import write_fake_mnist
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_fake_mnist(folder, n_train=40, n_test=10)
    ckpt = tmp_path / "run"
    argv = ["train", "--data", f"mnist:{folder}", "--epochs", "1", "--batch-size", "8",
            "--model", "plain:1x2", "--checkpoint-dir", str(ckpt), "--quiet"]
    assert run(capsys, *argv)[0] == 0
    folder.rename(tmp_path / "moved")
    status, _, err = run(capsys, "train", "--resume", str(ckpt), "--epochs", "2")
    assert status == 1 and f"--data mnist:{folder} (the resumed run's): " in err, err


def test_force_keeps_the_old_checkpoints_until_the_new_run_has_one(capsys, tmp_path):
    """A forced fresh run that fails before its first checkpoint used to leave the folder empty."""
    folder = tmp_path / "run"
    assert run(capsys, "train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder))[0] == 0
    before = sorted(p.name for p in folder.iterdir())
    status, out, err = run(capsys, "train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder),
                           "--force", "--lr", "1e30")
    assert status == 1 and "deleted" not in out, err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_the_newest_step_checkpoint_holds_the_whole_last_epoch(capsys, tmp_path):
    """A step checkpoint at an epoch's last batch is written before the epoch's row; it is written
    again at the epoch's end, so that resuming a finished run finds nothing left to do."""
    folder = tmp_path / "run"
    argv = ["train", "--n", "60", "--epochs", "1", "--checkpoint-dir", str(folder), "--checkpoint-every", "1"]
    assert run(capsys, *argv)[0] == 0
    _, _, state = checkpoint.load(checkpoint.CheckpointDir(folder).latest())
    assert len(state["train"]["history"]["epoch"]) == 1
    status, _, err = run(capsys, "train", "--resume", str(folder), "--epochs", "1")
    assert status == 2 and "already trained 1 epoch(s)" in err

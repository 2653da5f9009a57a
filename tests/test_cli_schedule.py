"""`initlab train --schedule SPEC --warmup N` (and --optimizer adamw): the schedule spans the run,
is saved with the optimizer, and a run resumed mid-way ends on the same bits."""
import numpy as np
import pytest

from initlab import checkpoint
from initlab.cli import main
from initlab.cli import _schedule
from initlab.schedules import CosineAnnealingLR, StepLR, Warmup

TINY = ["train", "--n", "300", "--epochs", "2", "--batch-size", "16", "--quiet"]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def weights(path):
    tensors, _ = checkpoint.read(path)
    return tensors


def test_a_scheduled_run_resumed_mid_way_matches_the_run_straight_through(capsys, tmp_path):
    sched = ["--optimizer", "adamw", "--schedule", "cosine(eta_min=1e-5)", "--warmup", "5"]
    assert run(capsys, *TINY, *sched, "--save", str(tmp_path / "full.safetensors"))[0] == 0
    folder = tmp_path / "run"
    assert run(capsys, *TINY, *sched, "--checkpoint-dir", str(folder), "--checkpoint-every", "9")[0] == 0
    _, opt, _ = checkpoint.load(folder / "step-00000009.safetensors")
    config = opt.config()
    assert config["name"] == "adamw" and config["schedule"]["name"] == "warmup" and config["schedule"]["steps"] == 5
    for path in folder.iterdir():          # keep only a checkpoint from the middle of epoch 1
        if path.name != "step-00000009.safetensors":
            path.unlink()
    status, out, _ = run(capsys, "train", "--resume", str(folder), "--save", str(tmp_path / "resumed.safetensors"))
    assert status == 0
    full, resumed = weights(tmp_path / "full.safetensors"), weights(tmp_path / "resumed.safetensors")
    assert full.keys() == resumed.keys()
    for key in full:
        assert np.array_equal(full[key], resumed[key]), key
    assert run(capsys, *TINY, "--optimizer", "adamw", "--save", str(tmp_path / "plain.safetensors"))[0] == 0
    assert not np.array_equal(weights(tmp_path / "plain.safetensors")["0.weight"], full["0.weight"])


def test_the_schedule_spans_the_run_after_the_warmup():
    s = _schedule.build("cosine", 10, total_steps=100, steps_per_epoch=25)
    assert isinstance(s, Warmup) and s.steps == 10 and s.after.config() == CosineAnnealingLR(90).config()
    assert _schedule.build("step(gamma=0.5)", None, 100, 25).config() == StepLR(25, 0.5).config()
    assert _schedule.build("one_cycle(pct_start=0.2)", None, 100, 25).total_steps == 100
    assert _schedule.build("multistep(milestones=[10, 50])", None, 100, 25).milestones == [10, 50]
    assert _schedule.build(None, 7, 100, 25).config() == Warmup(7).config()
    assert _schedule.build(None, None, 100, 25) is None


@pytest.mark.parametrize("spec,message", [
    ("cosin", "--schedule: unknown schedule 'cosin'; did you mean 'cosine'"),
    ("warmup", "--schedule: unknown schedule 'warmup'"),
    ("step(3)", "--schedule: expected keyword arguments"),
    ("step(step_size=__import__('os'))", "--schedule: expected keyword arguments"),
    ("exponential", "--schedule exponential: needs its arguments, e.g. 'exponential(gamma=0.999)'"),
    ("cosine(T_max=0)", "--schedule: CosineAnnealingLR T_max: expected an integer >= 1, got 0"),
    ("cosine(tmax=3)", "--schedule: unknown parameter of schedule cosine 'tmax'"),
    ("cosine((", "--schedule: expected a schedule name"),
])
def test_a_bad_schedule_is_a_one_line_error_naming_the_option(capsys, spec, message):
    status, out, err = run(capsys, *TINY, "--schedule", spec)
    assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_bad_warmups_and_changing_the_schedule_on_resume_are_refused(capsys, tmp_path):
    status, _, err = run(capsys, *TINY, "--warmup", "0")
    assert status == 2 and "--warmup: expected an integer >= 1 (steps), got 0" in err
    status, _, err = run(capsys, *TINY, "--schedule", "cosine", "--warmup", "100000")
    assert status == 2 and "--warmup: 100000 step(s) leave no step for --schedule cosine (the run has" in err
    folder = tmp_path / "run"
    assert run(capsys, *TINY, "--checkpoint-dir", str(folder))[0] == 0
    status, _, err = run(capsys, "train", "--resume", str(folder), "--epochs", "3", "--schedule", "cosine")
    assert status == 2 and "--schedule: cannot change when resuming" in err

"""The depth study at tiny settings: structure, the gradient ratio at init, He before Glorot, CLI."""
import json
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import depth as study
from initlab.experiments import to_jsonable
from initlab.plots import close
from initlab.plots import depth as figures
from test_exp_training import no_hang


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**{**study.TINY, "critical": True})


def test_tiny_result_structure(result):
    depths = list(study.TINY["depths"])
    seeds = list(study.TINY["seeds"])
    assert result["depths"] == depths and result["inits"] == list(study.INITS)
    for depth in depths:
        for name in study.INITS:
            r = result["runs"][f"{name}@{depth}"]
            assert r["depth"] == depth and r["seeds"] == seeds and len(r["steps_to_threshold"]) == len(seeds)
            assert all(len(ls) == study.TINY["steps"] for ls in r["losses"])     # the whole budget, no early stop
            assert r["lr"] == pytest.approx(0.015 * 10 / depth)
        g = result["grad_ratio"][str(depth)]
        assert set(g) >= {"theory", "ratio", "ratio_normalized", "ratio_gmean"} and len(g["ratio"]) == len(seeds)
        best, threshold = result["best_loss"][str(depth)], result["thresholds"][str(depth)]
        assert threshold == pytest.approx(result["chance_loss"] - 0.5 * (result["chance_loss"] - best))
    assert result["critical"] == f"delta_orthogonal@{depths[-1]}"
    assert {c["id"] for c in result["claims"]} == {"gradient_ratio", "he_before_glorot", "he_before_glorot_shallow",
                                                   "advantage_grows", "critical_trains"}
    assert "timing" in result and result["timing"]["tasks"] == len(study.tasks(study.check_options(
        **{**study.TINY, "critical": True})))
    json.dumps(to_jsonable(result))


def test_gradient_probes_use_independent_draws(result):
    """Glorot's and He's nets at one seed are not one draw rescaled (the ratio would be exact)."""
    for depth, r in result["grad_ratio"].items():
        theory = 2.0 ** (-(int(depth) - 1) / 2)
        assert r["theory"] == pytest.approx(theory)
        off = np.asarray(r["ratio_normalized"]) / theory
        assert np.all((off > 0.25) & (off < 4)) and np.ptp(off) > 1e-3


def test_the_same_seed_gives_the_same_bits_in_any_order():
    options = study.check_options(**{**study.TINY, "depths": (2,), "inits": ("he",), "steps": 8})
    tasks = study.tasks(options)
    forward = [study.run_task(t) for t in tasks]
    backward = [study.run_task(t) for t in reversed(tasks)][::-1]
    assert forward == backward


def test_steps_to_threshold_uses_a_trailing_mean():
    losses = [3.0, 3.0, 1.0, 1.0, 1.0, 0.5]
    assert study.steps_to_threshold(losses, 2.0, window=1) == 3
    assert study.steps_to_threshold(losses, 2.0, window=3) == 4           # mean(3, 1, 1) = 1.67
    assert study.steps_to_threshold(losses, 0.1, window=3) is None
    assert study.steps_to_threshold(losses[:2], 5.0, window=3) is None


def test_build_delta_orthogonal_net():
    model = study.build(3, "delta_orthogonal(gain=1.0)", "tanh", width=4, rng=0)
    assert [type(layer).__name__ for layer in model.layers] == ["Conv2D", "Tanh"] * 3 + ["Flatten", "Dense"]
    w = model.layers[2].params["weight"]
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    assert not w[:, :, ~mask].any()
    centre = w[:, :, 1, 1].astype(np.float64)
    np.testing.assert_allclose(centre.T @ centre, np.eye(4), atol=1e-6)
    head = model.layers[-1].params["weight"].astype(np.float64)
    np.testing.assert_allclose(head @ head.T, np.eye(10), atol=1e-5)        # orthogonal head


def test_training_stops_at_a_non_finite_loss():
    from initlab.lab.tasks import Task
    config = dict(kind="train", depth=3, init="he", width=4, n_train=100, steps=50, batch_size=16, momentum=0.9,
                  lr=1e4)
    losses = study.run_task(Task("depth", config, 0))["losses"]
    assert len(losses) < 50 and not math.isfinite(losses[-1])


def test_figures_are_labelled(result):
    for name, make in figures.FIGURES.items():
        fig = make(result)
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        assert any(ax.get_legend() is not None for ax in fig.axes), name
        close(fig)


def test_bad_options():
    with pytest.raises(InvalidValueError):
        study.check_options(depths=(10, 0))
    with pytest.raises(UnknownNameError):
        study.check_options(inits=("he", "xavier"))
    with pytest.raises(InvalidValueError):
        study.check_options(steps=0)
    with pytest.raises(InvalidValueError):
        study.run(depths=(), seeds=(0,))
    with pytest.raises(InvalidValueError, match="fraction"):
        study.check_options(fraction=1.0)


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "depth"
    argv = ["depth", "--tiny", "--seeds", "1", "--out", str(out), "--depths", "2,3", "--steps", "20",
            "--inits", "glorot,he", "--no-critical"]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} == {"result.json", "timing.json", "tasks",
                                               *(f"{n}.png" for n in figures.FIGURES)}
    data = json.loads((out / "result.json").read_text())
    assert data["depths"] == [2, 3] and data["settings"]["steps"] == 20 and "critical" not in data
    assert "timing" not in data and json.loads((out / "timing.json").read_text())["."]["tasks"] == 8
    printed = capsys.readouterr().out
    assert "steps to the threshold" in printed and "claims, decided over seeds" in printed
    assert main(argv) == 0 and "8 of 8 tasks reused" in capsys.readouterr().out    # the same run again: resumed
    assert json.loads((out / "result.json").read_text()) == data


@pytest.mark.parametrize("bad", [["--depths", "0"], ["--depths", "ten"], ["--inits", "he,lsuv"],
                                 ["--jobs", "0"], ["--backend", "dask"]])
def test_cli_bad_input_is_a_usage_error(tmp_path, capsys, bad):
    out = tmp_path / "never"
    assert main(["depth", "--tiny", "--out", str(out), *bad]) == 2
    assert "initlab: error:" in capsys.readouterr().err
    assert not out.exists()


def test_batches_larger_than_the_data_are_refused_before_training():
    with pytest.raises(InvalidValueError, match="depth: batch_size: expected at most the 282"):
        study.check_options(batch_size=5000, n_train=400)


@pytest.mark.parametrize("options, name", [({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"),
                                           ({"momentum": 2.0}, "momentum"), ({"n_train": -5}, "n_train"),
                                           ({"seeds": (0, -1)}, "seed"), ({"window": 0}, "window"),
                                           ({"fraction": 0.0}, "fraction")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=name):
        study.check_options(**options)


@pytest.mark.parametrize("bad, message", [(["--batch-size", "5000"], "--batch-size: expected at most the"),
                                          (["--batch-size", "0"], "--batch-size: expected an integer"), (["--lr", "0"], "lr"),
                                          (["--fraction", "2"], "--fraction"), (["--depths", "2,,3"], "--depths")])
def test_cli_checks_the_numbers_before_creating_out(tmp_path, capsys, bad, message):
    out = tmp_path / "never"
    with no_hang():
        assert main(["depth", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()




def test_force_removes_the_earlier_runs_files_it_does_not_rewrite(tmp_path):
    out = tmp_path / "depth"
    out.mkdir()
    (out / "old_figure.png").write_bytes(b"png")
    (out / "notes.txt").write_text("mine")
    argv = ["depth", "--tiny", "--jobs", "1", "--seeds", "1", "--depths", "2", "--steps", "10", "--inits", "he",
            "--no-critical", "--out", str(out)]
    assert main(argv) == 2                                   # a folder with other files needs --force
    assert main([*argv, "--force"]) == 0
    assert not (out / "old_figure.png").exists() and (out / "notes.txt").exists()
    assert (out / "result.json").exists() and (out / "tasks" / "depth").is_dir()

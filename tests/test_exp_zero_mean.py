"""The zero-mean study at tiny settings: same variance, shifted mean: the activations drift."""
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab import init
from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import to_jsonable
from initlab.experiments import zero_mean as study
from initlab.plots import close
from initlab.plots import zero_mean as figures
from test_exp_training import no_hang


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def test_tiny_result_structure(result):
    depth, seeds = study.TINY["depth"], len(study.TINY["seeds"])
    assert result["layers"] == list(range(1, depth + 1))
    assert result["steps"][0] == 0 and result["steps"][-1] == study.TINY["steps"]
    for name in study.INITS:
        p = result["propagation"][name]
        assert set(p) == {"pre_mean", "pre_std", "post_mean", "active"}
        assert all(v.shape == (seeds, depth) for v in p.values())
        t = result["training"][name]
        assert t["loss"].shape == (seeds, study.TINY["steps"])
        assert t["test_acc"].shape == (seeds, len(result["steps"]))
        assert t["active_after"].shape == (seeds, study.TINY["train_depth"])
    assert result["claims"] and all(isinstance(c["holds"], bool) for c in result["claims"])
    json.dumps(to_jsonable(result))


def test_shifted_activation_mean_grows_across_layers(result):
    shifted = result["propagation"]["shifted"]["post_mean"].mean(axis=0)
    centred = result["propagation"]["centred"]["post_mean"].mean(axis=0)
    assert np.all(np.diff(np.log(shifted)) > np.log(5))          # every layer multiplies it
    assert shifted[-1] / shifted[0] > 1e4
    assert centred.max() / centred.min() < 4                      # centred: no drift
    growth = result["summary"]["shifted"]["median_growth_per_layer"]
    predicted = result["shifted_predicted_growth_per_layer"]
    assert 0.6 * predicted < growth < 1.1 * predicted
    assert result["propagation"]["shifted"]["active"][:, -1].min() > 0.95
    held = {c["claim"].split(":")[0]: c["holds"] for c in result["claims"]}
    assert held["shifted init"] and held["centred init"]


def test_the_two_inits_differ_only_in_the_mean():
    shape = (64, 16, 3, 3)
    a = study.he_bound(shape)
    assert np.isclose(a, np.sqrt(6 / 144))
    c = study.centred_uniform(shape, rng=0, dtype=np.float64)
    s = study.shifted_uniform(1.0)(shape, rng=0, dtype=np.float64)
    np.testing.assert_allclose(s, c + a)                          # the same draw, moved by a
    assert abs(c.mean()) < 0.01 and abs(s.mean() - a) < 0.01
    assert np.isclose(c.var(), 2 / 144, rtol=0.05) and np.isclose(s.var(), c.var())
    assert s.min() >= 0 and s.max() <= 2 * a
    half = study.shifted_uniform(0.5)(shape, rng=0, dtype=np.float64)
    np.testing.assert_allclose(half, c + a / 2)
    assert init.describe(study.initializer("shifted", 0.5)) == "<callable shifted_uniform_0.5>"


def test_bad_options():
    with pytest.raises(UnknownNameError, match="did you mean 'centred'"):
        study.check_options(inits=("centered",))
    with pytest.raises(InvalidValueError, match="inits"):
        study.check_options(inits=())
    with pytest.raises(InvalidValueError, match="depth"):
        study.check_options(depth=0)


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figures_are_labelled(result, name):
    fig = figures.FIGURES[name](result)
    axes = fig.axes
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    assert fig._suptitle is not None
    close(fig)


def test_cli_writes_its_files(tmp_path):
    out = tmp_path / "zm"
    args = ["zero-mean", "--tiny", "--seeds", "1", "--steps", "4", "--every", "2", "--depth", "3",
            "--out", str(out)]
    assert main(args) == 0
    assert {p.name for p in out.iterdir()} == {"result.json"} | {f"{n}.png" for n in figures.FIGURES}
    saved = json.loads((out / "result.json").read_text())
    assert saved["layers"] == [1, 2, 3] and saved["steps"] == [0, 2, 4]
    assert main(args) == 2
    assert main(args + ["--force"]) == 0


@pytest.mark.parametrize("bad, message", [
    (["--inits", "centred,shiftd"], "unknown zero-mean init 'shiftd'"),
    (["--depth", "0"], "--depth"),
    (["--train-depth", "0"], "--train-depth"),
    (["--lr", "0"], "--lr"),
])
def test_cli_refuses_bad_options_before_writing(tmp_path, capsys, bad, message):
    out = tmp_path / "nothing"
    assert main(["zero-mean", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_empty_training_set_is_an_error_not_an_endless_loop():
    with no_hang(), pytest.raises(InvalidValueError, match="n_train"):
        study.run(**{**study.TINY, "n_train": 0})


@pytest.mark.parametrize("options, name", [({"n_train": -5}, "n_train"), ({"n_test": -1}, "n_test"),
                                           ({"batch_size": 0}, "batch_size"), ({"lr": 0}, "lr"),
                                           ({"momentum": -0.5}, "momentum"), ({"width": 0}, "width"),
                                           ({"steps": 0}, "steps"), ({"n_probe": 0}, "n_probe")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=f"zero-mean: {name}"):
        study.check_options(**options)
    with pytest.raises(InvalidValueError, match=f"zero-mean: {name}"):
        study.run(**{**study.TINY, **options})


def test_a_negative_shift_kills_the_net_and_says_so_without_warnings():
    """U(-2a, 0): every ReLU unit is dead, so the means are 0 and their ratios undefined."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with threadpool_limits(1):
            result = study.run(**{**study.TINY, "shift": -1.0})
    summary = result["summary"]["shifted"]
    assert summary["last_layer_active"] == 0.0
    assert summary["last_over_first_mean"] == 0.0

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
        return study.run(**{**study.TINY, "critical": True, "max_depth": 7, "deep_steps": 15})


def test_tiny_result_structure(result):
    depths = list(study.TINY["depths"])
    assert result["depths"] == depths and result["inits"] == list(study.INITS)
    for depth in depths:
        for name in study.INITS:
            r = result["runs"][f"{name}@{depth}"]
            assert r["depth"] == depth and len(r["losses"]) == 1 == len(r["steps_to_threshold"])
            assert 0 < len(r["losses"][0]) <= study.TINY["steps"]
            assert r["lr"] == pytest.approx(0.015 * 10 / depth)
        assert set(result["grad_ratio"][str(depth)]) >= {"theory", "ratio", "ratio_normalized", "ratio_gmean"}
    assert result["critical"]["activation"] == "tanh" and result["critical"]["depth"] == depths[-1]
    assert result["deep"]["depth"] == 7 and set(result["deep"]) >= {"delta_orthogonal", "he", "grad_ratio"}
    json.dumps(to_jsonable(result))


def test_gradient_ratio_at_init_follows_two_to_the_minus_half_per_layer(result):
    for depth, r in [*result["grad_ratio"].items(), ("7", result["deep"]["grad_ratio"])]:
        theory = 2.0 ** (-(int(depth) - 1) / 2)
        assert r["theory"] == pytest.approx(theory)
        assert r["ratio_normalized_gmean"] == pytest.approx(theory, rel=0.05)   # head and loss divided out
        assert 0.5 <= r["ratio_gmean"] / theory <= 2
    assert result["claims"][0]["holds"]


def test_he_reaches_the_threshold_before_glorot(result):
    table = result["steps_table"][str(study.TINY["depths"][-1])]
    assert table["he"] is not None
    assert table["glorot"] is None or table["he"] < table["glorot"]
    [c] = [c for c in result["claims"] if c["claim"].startswith("He reaches the loss threshold")]
    assert c["holds"], c


def test_steps_to_threshold_uses_a_trailing_mean():
    losses = [3.0, 3.0, 1.0, 1.0, 1.0, 0.5]
    assert study.steps_to_threshold(losses, 2.0, window=1) == 3
    assert study.steps_to_threshold(losses, 2.0, window=3) == 4           # mean(3, 1, 1) = 1.67
    assert study.steps_to_threshold(losses, 0.1, window=3) is None
    assert study.steps_to_threshold(losses[:2], 5.0, window=3) is None


@pytest.mark.parametrize("reached, median", [
    ([20, 30], (25.0, False)), ([20, None], (40.5, True)),     # at least (20 + 61) / 2: a lower bound
    ([10, 20, None], (20.0, False)), ([10, None, None], (None, True)), ([None, None], (None, True)),
])
def test_a_run_that_never_got_there_enters_the_median_as_a_lower_bound(reached, median):
    assert study._median(reached, 60) == median


def test_the_speedup_is_only_a_lower_bound_when_glorot_runs_never_got_there():
    def record(reached):
        return dict(zip(("median_steps", "median_censored"), study._median(reached, 60)))
    runs = {"he@30": record([15, 15]), "glorot@30": record([20, None])}
    _, speedup = study._tables(runs, (30,), ("glorot", "he"), 60)
    assert speedup["30"] == {"value": 2.7, "censored": True}      # was 4.0 (Glorot counted as 'never')
    runs["he@30"] = record([15, None])                             # He's own median unknown
    assert study._tables(runs, (30,), ("glorot", "he"), 60)[1]["30"] == {"value": None, "censored": True}


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
    from initlab import data as D
    x, y = D.load("digits", n=100).train
    model = study.build(3, "normal(std=30.0)", "relu", width=4, rng=0)
    losses, reached = study.train(model, x, y, steps=50, batch_size=16, lr=10.0, momentum=0.9,
                                  threshold=0.5, window=5, rng=0)
    assert reached is None and len(losses) < 50 and not math.isfinite(losses[-1])


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


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "depth"
    argv = ["depth", "--tiny", "--seeds", "1", "--out", str(out), "--depths", "2,3", "--steps", "20",
            "--inits", "glorot,he", "--no-critical"]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} == {"result.json", *(f"{n}.png" for n in figures.FIGURES)}
    data = json.loads((out / "result.json").read_text())
    assert data["depths"] == [2, 3] and data["settings"]["steps"] == 20 and "critical" not in data
    printed = capsys.readouterr().out
    assert "steps until the loss" in printed and "claims checked" in printed
    assert main(argv) == 2 and "--force" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--depths", "0"], ["--depths", "ten"], ["--inits", "he,lsuv"],
                                 ["--max-depth", "0"]])
def test_cli_bad_input_is_a_usage_error(tmp_path, capsys, bad):
    out = tmp_path / "never"
    assert main(["depth", "--tiny", "--out", str(out), *bad]) == 2
    assert "initlab: error:" in capsys.readouterr().err
    assert not out.exists()


def test_batches_larger_than_the_data_are_refused_before_training():
    from initlab import data as D
    x, y = D.load("digits", n=100).train
    model = study.build(2, "he_normal", "relu", width=4, rng=0)
    with no_hang(), pytest.raises(InvalidValueError, match="batch_size"):   # no full batch: it used to loop for ever
        study.train(model, x, y, steps=5, batch_size=len(x) + 1, lr=0.01, momentum=0.9, threshold=1.0,
                    window=2, rng=0)
    with pytest.raises(InvalidValueError, match="depth: batch_size: expected at most the 282"):
        study.check_options(batch_size=5000, n_train=400)


@pytest.mark.parametrize("options, name", [({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"),
                                           ({"momentum": 2.0}, "momentum"), ({"n_train": -5}, "n_train"),
                                           ({"seeds": (0, -1)}, "seed"), ({"deep_steps": 0}, "deep_steps"),
                                           ({"window": 0}, "window"), ({"threshold": 0.0}, "threshold")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=name):
        study.check_options(**options)


@pytest.mark.parametrize("bad, message", [(["--batch-size", "5000"], "--batch-size: expected at most the"),
                                          (["--batch-size", "0"], "--batch-size: expected an integer"), (["--lr", "0"], "lr"),
                                          (["--deep-steps", "0"], "--deep-steps: expected an integer"), (["--depths", "2,,3"], "--depths")])
def test_cli_checks_the_numbers_before_creating_out(tmp_path, capsys, bad, message):
    out = tmp_path / "never"
    with no_hang():
        assert main(["depth", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_advantage_does_not_grow_where_he_never_gets_there_either():
    def record(reached):
        return dict(zip(("median_steps", "median_censored"), study._median(reached, 40)))

    def grows(he_deep, glorot_deep):
        runs = {"he@2": record([5]), "glorot@2": record([10]), "he@5": record(he_deep), "glorot@5": record(glorot_deep)}
        table, speedup = study._tables(runs, (2, 5), ("glorot", "he"), 40)
        result = {"depths": [2, 5], "runs": runs, "steps_table": table, "speedup": speedup,
                  "settings": {"threshold": 2.0}, "grad_ratio": {d: {"ratio_gmean": 1.0, "theory": 1.0,
                                                                     "ratio_normalized_gmean": 1.0} for d in ("2", "5")}}
        return next(c for c in study.claims(result) if c["claim"].startswith("the advantage grows"))["holds"]

    assert grows([8], [None])                 # He gets there, Glorot never: the gap grew
    assert not grows([None], [None])          # neither gets there: no advantage shown
    assert not grows([5, None], [None, None])  # He's own median only a lower bound

"""The zero-mean study at tiny settings: the drift against its prediction, training from each
init, centred inputs; every claim has a negative control that makes it fail."""
import copy
import json
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab import init
from initlab.claims import zero_mean as catalogue
from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import to_jsonable
from initlab.experiments import zero_mean as study
from initlab.lab.claims import decide
from initlab.plots import close
from initlab.plots import zero_mean as figures
from figcheck import assert_labelled
from test_exp_training import no_hang

IDS = {"drift_per_layer", "drift_onset", "no_drift_below_onset", "centred_factor", "shifted_all_fire",
       "shifted_first_loss", "shifted_behind", "shifted_dead_relus", "inputs_one_sided", "inputs_gradient_signs",
       "centred_before_pixels", "standardized_before_pixels"}


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def verdicts_of(result):
    return {c["id"]: c["verdict"] for c in decide(catalogue.CLAIMS, result)}


def test_tiny_result_structure(result):
    depth, seeds = study.TINY["depth"], len(study.TINY["seeds"])
    assert result["layers"] == list(range(1, depth + 1))
    assert result["steps"][0] == 0 and result["steps"][-1] == study.TINY["steps"]
    assert result["sweep"]["shifts"] == [0.0, 0.01, 0.3, 1.0]
    for key, values in result["sweep"]["growth"].items():
        assert len(values) == seeds and np.shape(result["sweep"]["post_mean"][key]) == (seeds, depth)
    for name in study.INITS:
        assert np.shape(result["propagation"][name]["active"]) == (seeds, depth)
        t = result["training"][name]
        assert np.shape(t["loss"]) == (seeds, study.TINY["steps"])
        assert np.shape(t["test_acc"]) == (seeds, len(result["steps"]))
        assert np.shape(t["active_after"]) == (seeds, study.TINY["train_depth"])
    for name in study.INPUTS:
        r = result["input_runs"][name]
        assert len(r["steps_to_threshold"]) == len(r["sign_fraction"]) == seeds
        assert all(len(s) == study.TINY["sign_steps"] for s in r["sign_fraction_per_step"])
    # the centred init on standardized digits is one run, shared by parts 2 and 3
    assert result["training"]["centred"]["loss"] == result["input_runs"]["standardized"]["loss"]
    assert result["timing"]["tasks"] == (4 + 4) * seeds
    assert {c["id"] for c in result["claims"]} == IDS
    json.dumps(to_jsonable(result))


def test_theory_numbers():
    assert study.window_eigenvalue(8, 8) == pytest.approx((1 + 2 * math.cos(math.pi / 9)) ** 2)
    assert study.window_eigenvalue(10 ** 6, 10 ** 6) == pytest.approx(9.0)
    assert study.predicted_factor(16, 1.0, padding=False) == pytest.approx(math.sqrt(6 * 144))
    assert study.onset_shift(16, padding=False) == pytest.approx(1 / math.sqrt(6 * 144))     # 0.034
    assert study.onset_shift(16) == pytest.approx(0.0369, abs=1e-4)
    assert study.centred_factor() == pytest.approx(math.sqrt(study.window_eigenvalue(8, 8) / 9))


def test_the_padding_corrected_prediction_matches_and_the_plain_one_does_not(result):
    """At s = 1 every weight is >= 0 and the mean follows s a C lambda within 2%; s sqrt(6 fan_in)
    (no padding) is 8% off, outside the tolerance: the negative control of drift_per_layer."""
    v = verdicts_of(result)
    assert v["drift_per_layer"] == v["drift_onset"] == "holds"
    measured = np.asarray(result["sweep"]["growth"]["1"])
    assert np.all(np.abs(measured / (8 * result["theory"]["factor_per_unit_shift"] / 8) - 1) < 0.03)
    plain = {**result["theory"], "factor_per_unit_shift": result["theory"]["factor_per_unit_shift_no_padding"]}
    assert catalogue.drift_per_layer(result, plain).verdict == "fails"
    doubled = {**result["theory"], "onset": 2 * result["theory"]["onset"]}
    assert catalogue.onset(result, doubled).verdict == "fails"


def test_below_the_onset_nothing_drifts_and_a_large_shift_labelled_small_fails(result):
    assert verdicts_of(result)["no_drift_below_onset"] == "holds"
    fake = copy.deepcopy(result)
    fake["sweep"]["growth"]["0.01"] = fake["sweep"]["growth"]["0.3"]
    assert verdicts_of(fake)["no_drift_below_onset"] == "fails"


def test_centred_factor_fails_for_the_shifted_growth(result):
    assert verdicts_of(result)["centred_factor"] in ("holds", "inconclusive")        # width 8: finite-width drift
    fake = copy.deepcopy(result)
    fake["sweep"]["growth"]["0"] = fake["sweep"]["growth"]["0.3"]
    assert verdicts_of(fake)["centred_factor"] == "fails"


def test_all_fire_is_an_illustration(result):
    record = next(c for c in result["claims"] if c["id"] == "shifted_all_fire")
    assert record["verdict"] == "illustration" and not record["evidence"] and record["effect"] > 0.95


def tiled(result, times=3):
    """`result` as if its seeds had been run `times` over (3 tiny seeds -> 9, enough for p < 0.05
    when they all agree): for the paired claims' controls."""
    fake = copy.deepcopy(result)
    for part in ("training", "input_runs"):
        for run in fake[part].values():
            for key, values in run.items():
                run[key] = values * times
    fake["settings"]["seeds"] = list(range(len(result["settings"]["seeds"]) * times))
    return fake


def swap(result, part, a, b):
    fake = tiled(result)
    fake[part][a], fake[part][b] = fake[part][b], fake[part][a]
    return fake


def test_training_claims_hold_and_fail_when_the_inits_are_swapped(result):
    v = verdicts_of(result)
    assert v["shifted_first_loss"] == v["shifted_behind"] == v["shifted_dead_relus"] == "inconclusive"  # 3 seeds
    v = verdicts_of(tiled(result))
    assert v["shifted_first_loss"] == v["shifted_behind"] == v["shifted_dead_relus"] == "holds"
    swapped = verdicts_of(swap(result, "training", "centred", "shifted"))
    assert swapped["shifted_first_loss"] == swapped["shifted_behind"] == swapped["shifted_dead_relus"] == "fails"


def test_input_claims_fail_when_pixels_and_centred_are_swapped(result):
    v = verdicts_of(tiled(result))
    assert v["inputs_one_sided"] == v["inputs_gradient_signs"] == "holds"
    swapped = verdicts_of(swap(result, "input_runs", "pixels", "centred"))
    assert swapped["inputs_one_sided"] == swapped["inputs_gradient_signs"] == "fails"
    assert swapped["centred_before_pixels"] in ("fails", "inconclusive")
    fake = tiled(result)
    n = len(fake["settings"]["seeds"])
    fake["input_runs"]["pixels"]["steps_to_threshold"] = [5] * n
    fake["input_runs"]["centred"]["steps_to_threshold"] = [None] * n
    fake["input_runs"]["standardized"]["steps_to_threshold"] = [None] * n
    v = verdicts_of(fake)
    assert v["centred_before_pixels"] == v["standardized_before_pixels"] == "fails"


def test_pixels_are_one_sided_and_push_the_weights_one_way(result):
    r = result["input_runs"]
    assert min(r["pixels"]["one_sidedness"]) > 2 * max(r["centred"]["one_sidedness"])
    np.testing.assert_allclose(r["centred"]["one_sidedness"], r["standardized"]["one_sidedness"], rtol=1e-4)
    assert np.all(np.asarray(r["pixels"]["sign_fraction"]) > np.asarray(r["centred"]["sign_fraction"]))


def test_measurement_helpers():
    grad = np.array([[1.0, 2.0, -1.0, 3.0], [-1.0, -2.0, -3.0, -4.0]])
    assert study.majority_sign_fraction(grad) == pytest.approx((0.75 + 1.0) / 2)
    z = np.zeros((2, 2, 1, 1))
    z[:, 0, 0, 0] = [1.0, 3.0]             # mean 2, var 1
    z[:, 1, 0, 0] = [-1.0, 1.0]            # mean 0, var 1
    assert study.one_sidedness(z) == pytest.approx(math.sqrt(2.0))
    assert study.growth_per_layer([1.0, 2.0, 8.0]) == pytest.approx(math.sqrt(8.0))
    assert study.growth_per_layer([1.0, 0.0, 0.0]) is None
    assert study.random_sign_fraction(2) == pytest.approx(0.75)       # both alike (1/2): 1, else 1/2
    rng = np.random.default_rng(0)
    assert study.majority_sign_fraction(rng.standard_normal((20000, 9))) == pytest.approx(
        study.random_sign_fraction(9), abs=0.005)


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
    np.testing.assert_allclose(study.shifted_uniform(0.5)(shape, rng=0, dtype=np.float64), c + a / 2)
    assert init.describe(study.initializer("shifted", 0.5)) == "<callable shifted_uniform_0.5>"


def test_the_input_forms():
    pixels, centred, standardized = (study._digits(name, 200, 50).train[0] for name in study.INPUTS)
    assert pixels.min() >= 0 and pixels.max() <= 1
    assert abs(centred.mean()) < 0.05 and np.allclose(centred, pixels - (pixels - centred).mean(), atol=1e-6)
    np.testing.assert_allclose(standardized / standardized.std() * centred.std(), centred, atol=2e-2)


def test_the_same_seed_gives_the_same_bits_in_any_order():
    options = study.check_options(**{**study.TINY, "steps": 4, "every": 2, "shifts": (0.3,), "seeds": (0,)})
    tasks = study.tasks(options)
    assert [study.run_task(t) for t in tasks] == [study.run_task(t) for t in reversed(tasks)][::-1]


def test_bad_options():
    with pytest.raises(UnknownNameError, match="did you mean 'centred'"):
        study.check_options(inits=("centered",))
    with pytest.raises(UnknownNameError, match="did you mean 'pixels'"):
        study.check_options(inputs=("pixel",))
    with pytest.raises(InvalidValueError, match="inits"):
        study.check_options(inits=(), inputs=())
    with pytest.raises(InvalidValueError, match="depth"):
        study.check_options(depth=0)
    with pytest.raises(InvalidValueError, match="shifts"):
        study.check_options(shifts=(-0.5,))


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figures_are_labelled(result, name):
    fig = figures.FIGURES[name](result)
    assert_labelled(fig, suptitle=True)
    close(fig)


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "zm"
    args = ["zero-mean", "--tiny", "--seeds", "1", "--steps", "4", "--every", "2", "--depth", "3",
            "--shifts", "0.3", "--out", str(out), "--jobs", "1"]
    assert main(args) == 0
    assert {p.name for p in out.iterdir()} == {"result.json", "timing.json", "tasks"} | {
        f"{n}.png" for n in figures.FIGURES}
    saved = json.loads((out / "result.json").read_text())
    assert saved["layers"] == [1, 2, 3] and saved["steps"] == [0, 2, 4] and saved["sweep"]["shifts"] == [0, 0.3, 1]
    assert "claims, decided over seeds" in capsys.readouterr().out
    assert main(args) == 0 and "7 of 7 tasks reused" in capsys.readouterr().out
    assert json.loads((out / "result.json").read_text()) == saved


@pytest.mark.parametrize("bad, message", [
    (["--inits", "centred,shiftd"], "unknown zero-mean init 'shiftd'"),
    (["--inputs", "pixels,raw"], "unknown zero-mean inputs 'raw'"),
    (["--depth", "0"], "--depth"),
    (["--train-depth", "0"], "--train-depth"),
    (["--lr", "0"], "--lr"),
    (["--shifts", "0.1,x"], "--shifts: expected a number"),
    (["--shifts", "-1"], "--shifts"),
    (["--train-width", "0"], "--train-width"),
    (["--train-width", "5000"], "--train-width: expected at most 1,024"),
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
                                           ({"steps": 0}, "steps"), ({"n_probe": 0}, "n_probe"),
                                           ({"sign_steps": 0}, "sign_steps")])
def test_every_number_is_checked(options, name):
    with pytest.raises(InvalidValueError, match=f"zero-mean: {name}"):
        study.check_options(**options)


def test_a_negative_shift_kills_the_net_and_says_so_without_warnings():
    """U(-2a, 0): every ReLU unit past the first layer is dead: no growth ratio, and the drift
    claims do not apply (the prediction is for shifts well above the onset)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with threadpool_limits(1):
            r = study.run(**{**study.TINY, "shift": -1.0, "inputs": (), "seeds": (0,), "steps": 4})
    assert r["propagation"]["shifted"]["active"][0][-1] == 0.0
    assert r["sweep"]["growth"]["-1"] == [None]
    assert "drift_per_layer" not in {c["id"] for c in r["claims"]}


def test_two_worker_processes_give_the_same_bits():
    from initlab.lab.runner import Executor
    from initlab.lab.study import run_study, without_timing
    options = {**study.TINY, "steps": 4, "every": 2, "shifts": (0.3,), "seeds": (0, 1)}
    one = run_study(study, options, executor=Executor(jobs=1))
    two = run_study(study, options, executor=Executor(jobs=2))
    assert json.dumps(to_jsonable(without_timing(one))) == json.dumps(to_jsonable(without_timing(two)))

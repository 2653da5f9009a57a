"""The signal-propagation study at tiny settings: structure, the predictions and their negative
controls, the width sweep's fit, figures, CLI."""
import copy
import json
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initlab.claims import propagate as claims
from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import propagate as study
from initlab.experiments import to_jsonable
from initlab.plots import close
from initlab.plots import propagate as figures


@pytest.fixture(scope="module")
def result():
    with threadpool_limits(1):
        return study.run(**study.TINY)


def verdict(result, claim_id):
    return next(c for c in claims.CLAIMS if c.id == claim_id).rule(result).verdict


def test_tiny_result_structure(result):
    depth, seeds = study.TINY["depth"], len(study.TINY["seeds"])
    assert result["layers"] == list(range(1, depth + 1))
    assert set(result["configs"]) == {"relu", "tanh"}
    for act, configs in result["configs"].items():
        assert list(configs) == list(study.TINY["inits"])
        for name, c in configs.items():
            for key in ("act_std", "pre_var", "grad_std", "theory_act_std", "theory_grad_std", "zero_fraction"):
                assert c[key].shape == (seeds, depth), (act, name, key)
            assert c["act_std_gmean"].shape == (depth,)
            assert c["hist"]["layers"] == result["hist_layers"] == [1, 2, 4, 6, 8]
            assert all(np.sum(counts) == study.TINY["batch"] * 8 * 8 * 8 for counts in c["hist"]["counts"])
            assert len(result["summary"][f"{act}/{name}"]["factor"]) == seeds
        assert configs["lsuv"]["lsuv_calibration_variance"] is not None
        assert configs["he"]["lsuv_calibration_variance"] is None
    assert len(result["sweep"]["deviation"]) == len(study.TINY["sweep_widths"]) * seeds
    ids = {c["id"] for c in result["claims"]}
    assert ids == {c.id for c in claims.CLAIMS}
    assert all(c["verdict"] in ("holds", "fails", "inconclusive", "illustration") for c in result["claims"])
    json.dumps(to_jsonable(result))


def test_independent_draws_and_a_shared_batch(result):
    """Glorot is not He rescaled: the per-seed ratio of their factors is not exactly 1/2."""
    s = result["summary"]
    ratio = np.asarray(s["relu/glorot"]["factor"]) / np.asarray(s["relu/he"]["factor"])
    assert np.ptp(ratio) > 1e-3 and np.all((ratio > 0.25) & (ratio < 1))
    tasks = study.tasks(study.check_options(**study.TINY))
    a, b = (t for t in tasks if t.seed == 0 and t.config["kind"] == "profile"
            and t.config["init"] in ("he", "glorot") and t.config["activation"] == "relu")
    assert a.rng("init").normal() != b.rng("init").normal()
    assert a.rng("data", shared=True).normal() == b.rng("data", shared=True).normal()


def test_predictions_hold_at_tiny_scale(result):
    for claim_id in ("relu_factor_std=0.01", "relu_factor_std=1", "relu_factor_glorot", "tanh_glorot_factor",
                     "tanh_std1_saturates"):
        assert verdict(result, claim_id) == "holds", claim_id
    assert verdict(result, "lsuv_calibration_relu") == "illustration"


def test_the_drift_fit_recovers_a_planted_constant():
    rng = np.random.default_rng(0)
    widths = np.repeat([16, 32, 64], 200)
    layers = 30
    d = -2.0 * (layers - 1) / widths + rng.normal(size=widths.size) * np.sqrt(0.5 * (layers - 1) / widths)
    fit = study.fit_drift(widths, d, layers)
    assert fit["c"] == pytest.approx(2.0, abs=3 * fit["c_se"]) and fit["c_se"] < 0.1
    assert fit["v"] == pytest.approx(0.5, rel=0.15)
    assert study.per_layer_factor([1.0, 2.0, 4.0, 8.0]) == pytest.approx(2.0)
    assert study.saturated_share(1e12) == pytest.approx(1.0, abs=1e-5)
    assert study.saturated_share(1.0) == pytest.approx(math.erfc(math.atanh(0.99) / math.sqrt(2)))
    assert study.saturated_share([[1.0, 0.0]]) == pytest.approx(study.saturated_share(1.0) / 2)


# ------------------------------------------------------------------ negative controls: a wrong result fails

def test_a_prediction_for_another_init_fails(result):
    wrong = copy.deepcopy(result)
    s = wrong["summary"]
    s["relu/std=0.01"]["factor_mf"], s["relu/he"]["factor_mf"] = s["relu/he"]["factor_mf"], s["relu/std=0.01"]["factor_mf"]
    assert verdict(wrong, "relu_factor_std=0.01") == "fails"
    assert verdict(wrong, "relu_factor_he") == "fails"
    s["tanh/glorot"]["factor_mf"] = s["tanh/std=1"]["factor_mf"]
    assert verdict(wrong, "tanh_glorot_factor") == "fails"


def test_swapped_glorot_and_he_fail(result):
    wrong = copy.deepcopy(result)
    s = wrong["summary"]
    s["relu/glorot"], s["relu/he"] = s["relu/he"], s["relu/glorot"]
    assert verdict(wrong, "glorot_half_of_he") == "fails"


def test_a_net_far_outside_the_spread_fails(result):
    wrong = copy.deepcopy(result)
    wrong["summary"]["relu/he"]["deviation"][0] += 50.0
    assert verdict(wrong, "he_nets_within_spread") == "fails"


def test_saturation_of_an_unsaturated_stack_fails(result):
    wrong = copy.deepcopy(result)
    wrong["summary"]["tanh/std=1"]["saturated_last"] = [0.05 * v for v in wrong["summary"]["tanh/std=1"]["saturated_last"]]
    assert verdict(wrong, "tanh_std1_saturates") == "fails"


def test_lsuv_off_unit_variance_on_the_held_out_batch_fails(result):
    wrong = copy.deepcopy(result)
    wrong["summary"]["relu/lsuv"]["last_pre_var"] = [10 * v for v in wrong["summary"]["relu/lsuv"]["last_pre_var"]]
    assert verdict(wrong, "lsuv_held_out_relu") == "fails"


def test_one_seed_is_inconclusive_not_holds(result):
    one = copy.deepcopy(result)
    for s in one["summary"].values():
        for key in ("factor", "factor_mf", "deviation", "last_pre_var"):
            s[key] = s[key][:1]
    assert verdict(one, "relu_factor_glorot") == "inconclusive"


def test_explanation_states_the_run(result):
    text = claims.explanation(result, "en")
    assert f"c = {result['sweep']['fit']['c']:.2f}" in text
    assert claims.explanation({}, "ja") == claims.EXPLANATION["ja"]


def test_figures_are_labelled(result):
    for name, make in figures.FIGURES.items():
        fig = make(result)
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert axes, name
        for ax in axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        assert any(ax.get_legend() is not None for ax in axes), name
        close(fig)


def test_bad_options():
    with pytest.raises(InvalidValueError):
        study.check_options(depth=0)
    with pytest.raises(UnknownNameError, match="neither a study init"):
        study.check_options(inits=("he", "hee_normal"))
    with pytest.raises(UnknownNameError):
        study.check_options(activations=("relu", "swish"))
    with pytest.raises(UnknownNameError):
        study.check_options(data="cifar")
    with pytest.raises(InvalidValueError, match="sweep_widths"):
        study.check_options(sweep_widths=(16, 0))
    with pytest.raises(InvalidValueError, match="seeds"):
        study.check_options(seeds=())
    assert study.resolve("normal(std=0.05)", "relu") == "normal(std=0.05)"
    assert study.resolve("orthogonal", "relu").startswith("orthogonal(gain=1.414")


def test_cli_writes_its_files(tmp_path, capsys):
    out = tmp_path / "prop"
    argv = ["propagate", "--tiny", "--seeds", "2", "--jobs", "1", "--out", str(out), "--depth", "4", "--inits", "std=0.01,he",
            "--activations", "relu", "--sweep-widths", "8"]
    assert main(argv) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"result.json", "timing.json", "tasks", *(f"{n}.png" for n in figures.FIGURES)}
    data = json.loads((out / "result.json").read_text())
    assert data["settings"]["depth"] == 4 and list(data["configs"]["relu"]) == ["std=0.01", "he"]
    assert "timing" not in data and data["sweep"]["widths"] == [8, 8]
    printed = capsys.readouterr().out
    assert "claims, decided over seeds" in printed and "width sweep" in printed
    assert main(argv) == 0 and "6 of 6 tasks reused" in capsys.readouterr().out      # resumed
    assert json.loads((out / "result.json").read_text()) == data


def test_cli_without_the_sweep(tmp_path):
    out = tmp_path / "prop"
    assert main(["propagate", "--tiny", "--seeds", "1", "--jobs", "1", "--out", str(out), "--depth", "3", "--inits", "he",
                 "--activations", "relu", "--no-sweep"]) == 0
    data = json.loads((out / "result.json").read_text())
    assert "sweep" not in data and {c["id"] for c in data["claims"]} == set()


@pytest.mark.parametrize("bad", [["--depth", "0"], ["--inits", "he,nope"], ["--data", "cifar"],
                                 ["--activations", ","], ["--sweep-widths", "8,x"], ["--jobs", "0"]])
def test_cli_bad_input_is_a_usage_error(tmp_path, capsys, bad):
    out = tmp_path / "never"
    assert main(["propagate", "--tiny", "--out", str(out), *bad]) == 2
    assert "initlab: error:" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("bad, message", [(["--batch", "1"], "batch"),
                                          (["--data", "digits", "--batch", "700"], "too large"),
                                          (["--lr", "0"], "lr"), (["--sweep-widths", "0"], "--sweep-widths"),
                                          (["--sweep-widths", "5000"], "--sweep-widths: expected at most")])
def test_cli_checks_the_numbers_before_creating_out(tmp_path, capsys, bad, message):
    out = tmp_path / "never"
    assert main(["propagate", "--tiny", "--out", str(out), *bad]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()

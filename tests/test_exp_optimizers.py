"""The optimizers study: a learning-rate sweep on seeds of its own, then every cell at the chosen
rate; its claims hold on a result that shows them and fail on a wrong one."""
import json
import math

import pytest

from initlab.claims import optimizers as catalogue
from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import optimizers as study
from initlab.lab.claims import decide
from initlab.lab.tasks import Task
from initlab.plots import close
from initlab.plots import optimizers as figures


@pytest.fixture(scope="module")
def result():
    return study.run(**{**study.TINY, "rates": {"sgd": (0.1, 0.01), "momentum": (0.01,), "adam": (1e-3,)}})


def test_the_sweep_picks_a_rate_per_cell_on_seeds_of_its_own(result):
    assert set(result["rates"]) == {f"{a}/{o}@2" for a in study.ACTIVATIONS for o in study.OPTIMIZERS}
    for key, by_rate in result["sweep"].items():
        best = min(by_rate, key=lambda lr: (by_rate[lr], float(lr)))
        assert result["rates"][key] == float(best)
        assert result["cells"][key]["lr"] == float(best)
    assert all(cell["seeds"] == list(study.TINY["seeds"]) for cell in result["cells"].values())
    assert result["timing"]["tasks"] == 4 * 3 + 9 * 3        # sweep (sgd has 2 rates) + evaluation
    json.dumps(result)


def test_the_chosen_rate_ignores_a_diverged_sweep():
    options = study.check_options(**{**study.TINY, "rates": {"sgd": (0.1, 1e6), "momentum": (0.01,),
                                                             "adam": (1e-3,)}})
    tasks = [t for t in study.tasks(options) if t.config["optimizer"] == "sgd" and t.config["activation"] == "relu"]
    results = [{"losses": [0.5] * options["steps"]} if t.config["lr"] == 0.1 else {"losses": [1e30, math.nan]}
               for t in tasks]
    assert study.chosen_rates(options, tasks, results) == {("relu", "sgd", 2): 0.1}


def test_runs_are_reproducible():
    config = dict(kind="eval", activation="tanh", optimizer="adam", depth=2, lr=1e-3, width=4, steps=5,
                  batch_size=32, n_train=300)
    assert study.run_task(Task("optimizers", config, 3)) == study.run_task(Task("optimizers", config, 3))


def fake(**steps):
    """A result whose cells have the given per-seed steps/final losses."""
    def cell(activation, optimizer, plateau=None, threshold=None, final=None):
        n = 8
        return {"activation": activation, "optimizer": optimizer, "depth": 6, "lr": 0.1,
                "steps_to_leave_plateau": plateau or [10] * n, "steps_to_threshold": threshold or [20] * n,
                "final_loss": final or [0.1] * n}
    cells = {f"{a}/{o}@6": cell(a, o, **steps.get(f"{a}/{o}", {}))
             for a in study.ACTIVATIONS for o in study.OPTIMIZERS}
    return {"settings": {"steps": 100}, "cells": cells}


SHOWS_IT = {"sigmoid/sgd": dict(plateau=[None] * 8), "tanh/sgd": dict(plateau=[12 + s for s in range(8)]),
            "sigmoid/momentum": dict(final=[2.3] * 8), "tanh/momentum": dict(final=[0.3 + 0.01 * s for s in range(8)]),
            "relu/momentum": dict(final=[0.1] * 8, threshold=[20 + s for s in range(8)]),
            "relu/sgd": dict(threshold=[40 + s for s in range(8)])}


def verdicts(result):
    return {r["id"]: r["verdict"] for r in decide(catalogue.CLAIMS, result)}


def test_every_claim_holds_on_a_result_that_shows_it():
    assert set(verdicts(fake(**SHOWS_IT)).values()) == {"holds"}


@pytest.mark.parametrize("claim, swap", [
    ("sigmoid_plateau", {"sigmoid/sgd": dict(plateau=[5] * 8)}),
    ("relu_beats_sigmoid", {"sigmoid/momentum": dict(final=[0.01] * 8)}),
    ("relu_beats_tanh", {"tanh/momentum": dict(final=[0.01] * 8)}),
    ("momentum_faster", {"relu/sgd": dict(threshold=[5] * 8)}),
])
def test_each_claim_fails_on_a_wrong_input(claim, swap):
    assert verdicts(fake(**{**SHOWS_IT, **swap}))[claim] == "fails"


def test_figures_are_labelled(result):
    for name, make in figures.FIGURES.items():
        fig = make(result)
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        close(fig)


@pytest.mark.parametrize("options, error", [({"activations": ("softplus",)}, UnknownNameError),
                                            ({"optimizers": ("rmsprop",)}, UnknownNameError),
                                            ({"plateau": 0.9}, InvalidValueError), ({"width": 0}, InvalidValueError),
                                            ({"rates": {"sgd": (-1,), "momentum": (1,), "adam": (1,)}},
                                             InvalidValueError)])
def test_bad_options(options, error):
    with pytest.raises(error):
        study.check_options(**options)


def test_cli(tmp_path, capsys):
    out = tmp_path / "opt"
    assert main(["optimizers", "--tiny", "--jobs", "1", "--seeds", "2", "--activations", "tanh,relu",
                 "--optimizers", "sgd,momentum", "--steps", "12", "--out", str(out)]) == 0
    data = json.loads((out / "result.json").read_text())
    assert set(data["cells"]) == {"tanh/sgd@2", "tanh/momentum@2", "relu/sgd@2", "relu/momentum@2"}
    assert "medians over seeds" in capsys.readouterr().out
    assert main(["optimizers", "--tiny", "--activations", "swish", "--out", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()

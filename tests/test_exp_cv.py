"""The cross-validation study (`initlab cv`): the grid, its claims, the figure and the command."""
import copy
import csv
import json

import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.cli import cv as cli_cv
from initlab.cli._options import split_list
from initlab.cli.cv import parse_params, parse_value
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import cv
from initlab.plots import cv as cv_plots


@pytest.fixture(scope="module")
def tiny():
    with threadpool_limits(1):
        return cv.run(**cv.TINY)


# --------------------------------------------------------------------------- parsing --param

@pytest.mark.parametrize("text, values", [
    ("1e-4,1e-3,0.1,1", ["1e-4", "1e-3", "0.1", "1"]),
    ("he_normal,glorot_uniform,normal(std=0.01)", ["he_normal", "glorot_uniform", "normal(std=0.01)"]),
    ("truncated_normal(std=1, a=-2, b=2),he_normal", ["truncated_normal(std=1, a=-2, b=2)", "he_normal"]),
    ("constant(value=[1,2]), 'a,b'", ["constant(value=[1,2])", "'a,b'"]),
    ("he_normal*0.1", ["he_normal*0.1"]),
])
def test_split_values_keeps_commas_inside_brackets(text, values):
    assert split_list(text, "--param") == values


@pytest.mark.parametrize("text", ["normal(std=1", "normal)std=1(", "a,,b", "'open", ""])
def test_split_values_refuses_malformed_lists(text):
    with pytest.raises(InvalidValueError, match="--param"):
        split_list(text, "--param")


def test_parse_values_and_params():
    assert [parse_value(v) for v in ("3", "1e-4", "0.5", "true", "None", "he_normal")] == \
        [3, 1e-4, 0.5, True, None, "he_normal"]
    grid = parse_params(["init_scale=1e-4,1e-3,1e-2,0.1,1",
                         "weight_init=he_normal,glorot_uniform,normal(std=0.01)"])
    assert grid == {"init_scale": [1e-4, 1e-3, 1e-2, 0.1, 1],
                    "weight_init": ["he_normal", "glorot_uniform", "normal(std=0.01)"]}
    with pytest.raises(InvalidValueError, match="given twice"):
        parse_params(["lr=0.1", "lr=0.2"])
    with pytest.raises(InvalidValueError, match="NAME=V1"):
        parse_params(["init_scale"])


def test_grid_is_checked_before_anything_runs():
    assert cli_cv.BACKENDS == cv.BACKENDS
    with pytest.raises(UnknownNameError, match="init_scal"):
        cv.check_grid([{"init_scal": [1]}])
    with pytest.raises(UnknownNameError, match="he_normal"):
        cv.check_grid([{"weight_init": ["he_norml"]}])
    with pytest.raises(InvalidValueError, match="seed"):
        cv.check_grid([{"random_state": [1, 2]}])
    with pytest.raises(InvalidValueError, match="scheduler"):
        cv.run(backend="dask")
    with pytest.raises(InvalidValueError, match="folds"):
        cv.run(folds=1)
    with pytest.raises(InvalidValueError, match="lr"):    # a bad value fails before any fit
        cv.run(grid={"lr": [-1.0]}, n=60)


# --------------------------------------------------------------------------- the study

def test_tiny_study_structure_and_claims(tiny):
    n_cands = len(cv.TINY["scales"]) + len(cv.TINY["schemes"])
    assert len(tiny["candidates"]) == n_cands
    assert all(len(v) == n_cands for v in tiny["cv_results"].values())
    means = [c["mean"] for c in tiny["candidates"] if c["mean"] is not None]
    assert means == sorted(means, reverse=True)
    assert [c["mean"] for c in tiny["candidates"][len(means):]] == [None] * (n_cands - len(means))  # last
    for c in tiny["candidates"]:
        assert len(c["splits"]) == cv.TINY["folds"]
        assert c["failed"] == 0 or c["init_scale"] == 1.0   # only std 1 may diverge
        if c["params"]["weight_init"] == cv.BASE_INIT:       # normal(std=1) x s has std s
            assert c["init_std"] == pytest.approx(c["init_scale"], rel=0.05)
    assert tiny["margin"] == tiny["best_score"] - tiny["worst_score"] > cv.CLEAR_MARGIN
    assert tiny["test_accuracy"] > 0.5
    assert len(tiny["claims"]) == 4
    assert all(c["holds"] for c in tiny["claims"]), tiny["claims"]
    json.dumps(tiny)   # plain data


def row(weight_init, scale, splits, std=None):
    mean = None if None in splits else sum(splits) / len(splits)
    return {"params": {"weight_init": weight_init, "init_scale": scale}, "init_scale": scale,
            "label": weight_init, "init_std": scale if std is None else std, "splits": splits,
            "mean": mean, "failed": splits.count(None)}


def claims_of(rows):
    scored = sorted((r for r in rows if r["mean"] is not None), key=lambda r: -r["mean"])
    out = {"candidates": rows, "chance": 0.1, "best": scored[0], "worst_score": scored[-1]["mean"],
           "margin": scored[0]["mean"] - scored[-1]["mean"], "best_init": scored[0]["label"],
           "best_init_scale": scored[0]["init_scale"], "failed_candidates": 0}
    return {c["claim"].split(" (")[0]: c for c in cv._claims(out, cv.BASE_INIT)}


def test_claims_count_a_diverged_fold_as_0_and_grade_only_fan_scaled_schemes():
    rows = [row(cv.BASE_INIT, 1e-4, [0.1, 0.1, 0.1]), row(cv.BASE_INIT, 0.1, [0.55, 0.55, 0.55]),
            row(cv.BASE_INIT, 1.0, [0.8, None, 0.8]),          # mean 0.533 with the lost fold as 0
            row("he_normal", 1.0, [0.54, 0.54, 0.54]), row("normal(std=0.01)", 1.0, [0.12, 0.12, 0.12])]
    claims = claims_of(rows)
    large = claims["too large a std"]
    assert not large["holds"] and large["measured"]["accuracy"] == pytest.approx(1.6 / 3)
    schemes = claims["the variance-scaled schemes"]        # he_normal only, against the std curve's best
    assert "normal(std=0.01)" not in schemes["claim"] and "searching normal(std=1)" in schemes["claim"]
    assert schemes["holds"] and schemes["measured"]["best_searched"] == pytest.approx(0.55)
    rows[3] = row("he_normal", 1.0, [0.45, 0.45, 0.45])
    assert not claims_of(rows)["the variance-scaled schemes"]["holds"]


def test_one_seed_reproduces_the_search_and_another_changes_the_folds():
    kw = dict(grid={"init_scale": [1e-4, 0.1]}, n=150, folds=2, epochs=1)
    a, b, c = cv.run(seed=3, **kw), cv.run(seed=3, **kw), cv.run(seed=4, **kw)
    scores = lambda r: [r["cv_results"][f"split{k}_test_score"] for k in range(2)]
    assert scores(a) == scores(b)
    assert a["settings"]["fold_seed"] == b["settings"]["fold_seed"] != c["settings"]["fold_seed"]
    assert scores(a) != scores(c)


def test_figure_is_labelled_and_draws_diverged_candidates(tiny):
    fig = cv_plots.accuracy_vs_std(tiny)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend()
    assert ax.get_xscale() == "log"
    broken = copy.deepcopy(tiny)
    broken["candidates"][-1].update(mean=None, std=None)
    fig = cv_plots.accuracy_vs_std(broken)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "diverged (in some fold)" in labels


# --------------------------------------------------------------------------- the command

def test_cv_command_writes_its_files(tmp_path, capsys):
    out = tmp_path / "cv"
    argv = ["cv", "--tiny", "--out", str(out), "--n", "150", "--folds", "2", "--epochs", "1", "--seed", "1",
            "--param", "init_scale=1e-4,0.1", "--param", "weight_init=he_normal,normal(std=1)"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "cv_accuracy_vs_std.png", "cv_results.csv", "cv_results.json", "result.json"]
    with open(out / "cv_results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {"param_init_scale", "param_weight_init", "mean_test_score"} <= set(rows[0])
    assert sorted(r["param_weight_init"] for r in rows) == ["he_normal", "he_normal", "normal(std=1)", "normal(std=1)"]
    results = json.loads((out / "cv_results.json").read_text())
    assert len(results["params"]) == 4 and len(results["split1_test_score"]) == 4
    result = json.loads((out / "result.json").read_text())
    assert result["settings"]["seed"] == 1 and result["claims"]
    printed = capsys.readouterr().out
    assert "ranked by validation accuracy" in printed and "best:" in printed
    # an existing folder is refused unless --force, before anything runs
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--param", "init_scale"], "NAME=V1"),
    (["--param", "weight_init=he_normal,normal(std=1"], "unclosed"),
    (["--param", "colour=red"], "unknown CNNClassifier parameter"),
    (["--backend", "dask"], "scheduler"),
    (["--dataset", "bogus"], "unknown dataset 'bogus'"),
    (["--dataset", "digit"], "did you mean 'digits'"),
    (["--dataset", "mnist:"], "mnist:PATH"),
    (["--model", "lenet9"], "unknown model 'lenet9'; did you mean 'lenet5'"),
    (["--n", "-3"], "--n: expected an integer >= 1, got -3"),
    (["--epochs", "0"], "--epochs: expected an integer >= 1"),
    (["--lr", "-1"], "--lr: expected a value in (0, inf)"),
    (["--clip", "0"], "--clip: expected a value in (0, inf)"),
])
def test_cv_command_refuses_bad_options(tmp_path, capsys, argv, message):
    assert main(["cv", "--tiny", "--out", str(tmp_path / "x"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cv_command_refuses_a_missing_mnist_folder_before_making_out(tmp_path, capsys):
    assert main(["cv", "--tiny", "--out", str(tmp_path / "x"), "--dataset", f"mnist:{tmp_path / 'nope'}"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli_cv.check_dataset("digits") == "digits" and cli_cv.check_dataset(f"mnist:{tmp_path}")
